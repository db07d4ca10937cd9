"""Probabilities a reader can trust: temperature scaling of a model's answer, and the measures that
say whether probabilities are calibrated (expected calibration error, a reliability table).

A probability p is calibrated when, among everything reported at about p, a share p is right.
Temperature scaling (Guo et al., 2017) divides the logs of a model's probabilities by one fitted
number T and renormalises: it softens (T > 1) or sharpens (T < 1) every answer alike, so the
likeliest class and the order of the others never change.
"""
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

BINS = 15  # equal-width confidence bins of the expected calibration error, as Guo et al. use
FLOOR = 1e-12  # a probability's floor before its log
LOWEST_T, HIGHEST_T = 0.25, 8.0  # the temperatures a fit searches: beyond them a model says nothing
FIT_TOLERANCE = 1e-4  # the fit stops when the bracket of log T is this narrow


def scale(probabilities, temperature):
    """Probabilities (..., K) with their logs divided by `temperature`, renormalised over the last axis."""
    probabilities = np.asarray(probabilities, np.float64)
    if temperature == 1.0:
        return probabilities
    logs = np.log(np.clip(probabilities, FLOOR, 1.0)) / temperature
    logs -= logs.max(axis=-1, keepdims=True)
    exp = np.exp(logs)
    return exp / exp.sum(axis=-1, keepdims=True)


def scale_chosen(probability, others, temperature):
    """The scaled probability of one class given its own `probability` and the rest of its answer's
    `others` (summing with it to 1): for an answer of which only the chosen share is kept."""
    return float(scale(np.append(np.asarray(others, np.float64), probability), temperature)[-1])


def expected_calibration_error(confidence, correct, bins=BINS):
    """The mean gap between confidence and accuracy over equal-width confidence bins, each weighed
    by its share of the answers: 0 for a calibrated reader."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, np.float64)
    if confidence.size == 0:
        return 0.0
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for b in np.unique(which):
        inside = which == b
        gap += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(gap)


class Bin(NamedTuple):
    low: float
    high: float
    count: int
    confidence: float  # mean confidence inside the bin (nan when empty)
    accuracy: float  # share right inside the bin (nan when empty)


def reliability(confidence, correct, edges):
    """The reliability table: for each bin [low, high) of `edges` (the last closed), how many answers
    fall inside, their mean confidence and the share of them that is right."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, np.float64)
    rows = []
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        last = i == len(edges) - 2
        inside = (confidence >= low) & ((confidence <= high) if last else (confidence < high))
        count = int(inside.sum())
        rows.append(Bin(float(low), float(high), count,
                        float(confidence[inside].mean()) if count else math.nan,
                        float(correct[inside].mean()) if count else math.nan))
    return rows


def negative_log_likelihood(probabilities, labels, temperature, weights=None):
    """Mean -log of the scaled probability of each answer's true class, weighed by `weights`."""
    scaled = scale(probabilities, temperature)
    chosen = scaled[np.arange(len(labels)), np.asarray(labels)]
    return float(np.average(-np.log(np.clip(chosen, FLOOR, 1.0)), weights=weights))


def binary_log_likelihood(confidence, correct):
    """Mean -log likelihood of right/wrong outcomes under the confidences: what a fit of a one-number
    answer (a chosen class's probability, a reading's confidence) minimises."""
    confidence = np.clip(np.asarray(confidence, np.float64), FLOOR, 1.0 - FLOOR)
    correct = np.asarray(correct, np.float64)
    return float(-(correct * np.log(confidence) + (1 - correct) * np.log(1 - confidence)).mean())


def minimise(loss, low=LOWEST_T, high=HIGHEST_T, tolerance=FIT_TOLERANCE):
    """The x in [low, high] that minimises a loss with one minimum, by golden-section search on log x
    (scales are multiplicative: halving T matters as much as doubling it)."""
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(math.exp(c)), loss(math.exp(d))
    while b - a > tolerance:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(math.exp(d))
    return math.exp((a + b) / 2)


def fit_temperature(probabilities, labels, weights=None):
    """The temperature that makes a model's probabilities (N, K) likeliest for the true `labels` (N,),
    each answer weighed by `weights` (default: alike)."""
    probabilities = np.asarray(probabilities, np.float64)
    return minimise(lambda t: negative_log_likelihood(probabilities, labels, t, weights))


@dataclass(frozen=True)
class Calibration:
    """What a model card's "calibration" states (handwriting.training.calibrate writes it): the
    temperature of the model's probabilities. A card that states none, or states it wrongly, leaves
    the model's probabilities as they are."""

    temperature: float = 1.0

    @classmethod
    def of(cls, meta):
        """The calibration of a model card (model_io.metadata)."""
        stated = meta.get("calibration") if isinstance(meta, dict) else None
        try:
            temperature = float(stated["temperature"])
        except (KeyError, TypeError, ValueError):
            return cls()
        return cls(temperature) if LOWEST_T <= temperature <= HIGHEST_T else cls()

    def digit(self, probabilities):
        """A crop's probabilities (..., 11) as the reading reports them."""
        return scale(probabilities, self.temperature)
