"""Probabilities a reader can trust: temperature scaling of a model's answer, and the measures that
say whether probabilities are calibrated (expected calibration error, a reliability table).

A probability p is calibrated when, among everything reported at about p, a share p is right.
Temperature scaling (Guo et al., 2017) divides the logs of a model's probabilities by one fitted
number T and renormalises: it softens (T > 1) or sharpens (T < 1) every answer alike, so the
likeliest class and the order of the others never change.
"""
import math
import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from handwriting.engine.model_io import CLASSES, NOT_A_DIGIT
from handwriting.engine.normalisation import stroke_width

BINS = 15  # equal-width confidence bins of the expected calibration error, as Guo et al. use
FLOOR = 1e-12  # a probability's floor before its log
LOWEST_T, HIGHEST_T = 0.25, 8.0  # the temperatures a fit searches: beyond them a model says nothing
FIT_TOLERANCE = 1e-4  # the fit stops when the bracket of log T is this narrow
TEMPERATURE_STEP = 1.01  # ratio between neighbouring temperatures a fit tries
RIDGE = 1e-3  # the logistic fit's penalty on its weights
LOGISTIC_STEPS = 25  # Newton steps of the logistic fit: it converges in well under ten
CONTEXT_WEIGHTS = 12  # intercept, then one per context feature
WHOLE_WEIGHTS = 10  # intercept, then one per whole_features feature
ALONE_WEIGHTS = 9  # intercept, then one per alone_features feature
INK = 127  # a crop's pixels above this are its ink, for the shape features
READING_CEILINGS = np.round(np.arange(0.30, 1.0001, 0.005), 3)  # the caps a reading-level fit tries


def scale(probabilities, temperature):
    """Probabilities (..., K) with their logs divided by `temperature`, renormalised over the last axis."""
    probabilities = np.asarray(probabilities, np.float64)
    if temperature == 1.0:
        return probabilities
    logs = np.log(np.clip(probabilities, FLOOR, 1.0)) / temperature
    logs -= logs.max(axis=-1, keepdims=True)
    exp = np.exp(logs)
    return exp / exp.sum(axis=-1, keepdims=True)


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


def top_digit(probabilities, labels):
    """(confidence, correct) of answers (N, K) whose first ten classes are the digits: the likeliest
    digit's probability, as a reading reports it, and whether it is the label."""
    digits = np.asarray(probabilities)[:, :NOT_A_DIGIT]
    return digits.max(axis=1), digits.argmax(axis=1) == np.asarray(labels)


def worst_error(groups, temperature):
    """The largest expected calibration error, over `groups` of (probabilities, labels), of the
    likeliest digit once scaled by `temperature`."""
    return max(expected_calibration_error(*top_digit(scale(p, temperature), y)) for p, y in groups)


def fit_temperature(groups, step=TEMPERATURE_STEP):
    """The temperature whose worst calibration error over `groups` of (probabilities, labels) is
    least, searched on a grid of ratio `step` from LOWEST_T to HIGHEST_T: calibrated for every kind
    of crop it is fitted on, not for their average, which the most numerous kind would rule."""
    count = int(math.log(HIGHEST_T / LOWEST_T) / math.log(step)) + 1
    grid = LOWEST_T * step ** np.arange(count)
    errors = [worst_error(groups, t) for t in grid]
    return float(grid[int(np.argmin(errors))])


def reading_confidence(probabilities, power=1.0, ceiling=1.0):
    """The chance a whole reading is right from its digits' calibrated probabilities: their product,
    as if every digit stood or fell alone, raised to `power` and capped at `ceiling`, which a fit
    on whole readings sets (a page also goes wrong where no digit is unsure: a digit missed, a mark
    read as one). 0 for no digit at all, which is nothing to trust."""
    if len(probabilities) == 0:
        return 0.0
    return float(ceiling * np.exp(power * np.sum(np.log(np.clip(probabilities, FLOOR, 1.0)))))


def fit_reading(products, correct, powers=(0.1, 8.0), ceilings=READING_CEILINGS):
    """(power, ceiling) of reading_confidence that make the right/wrong outcomes of readings whose
    digits' products are `products` likeliest: for each ceiling on a grid, the best power."""
    logs = np.log(np.clip(np.asarray(products, np.float64), FLOOR, 1.0))
    best = None
    for ceiling in ceilings:
        power = minimise(lambda a: binary_log_likelihood(ceiling * np.exp(a * logs), correct), *powers)
        loss = binary_log_likelihood(ceiling * np.exp(power * logs), correct)
        if best is None or loss < best[0]:
            best = (loss, power, float(ceiling))
    return best[1], best[2]


def logit(probability):
    probability = np.clip(np.asarray(probability, np.float64), FLOOR, 1.0 - FLOOR)
    return np.log(probability) - np.log1p(-probability)


class Evidence(NamedTuple):
    """What a page says of each of its digits besides the model's probability (one entry per digit)."""
    not_a_digit: list  # the model's calibrated probability of "not one digit" for its crop
    confirmed: list  # whether the line reader, reading the digit's line whole, read it too
    line_agrees: list  # whether the line reader read the digit's whole line as the cut search did
    crops: list  # the 28x28 crops: a blot's stroke is as wide as itself, a scribble's ink fills it


class Page(NamedTuple):
    """What a page's segmentation found and how much of it was read, which page_features weigh
    each of its digits by."""
    marks: int  # the marks found
    lines: int  # the lines they lie on
    read: int  # the digits weighed, before short_marks drops any as stray or sheet_edges as an edge
    doubt: float = 0.0  # mean logit of the model's own "not one digit" over the digits weighed

    @classmethod
    def of(cls, lines, not_a_digit):
        """The Page of the marks a segmentation found, line by line, and of the digits weighed, by
        the model's own probability of "not one digit" for each (before any temperature, which the
        fits choose after reading their pages)."""
        doubt = float(np.mean(logit(not_a_digit))) if len(not_a_digit) else 0.0
        return cls(sum(map(len, lines)), len(lines), len(not_a_digit), doubt)


def context_features(probabilities, evidence, page):
    """The features of each digit of a page for context_probability: the logit of its calibrated
    probability and of "not one digit", whether the line reader confirmed it and its line, the
    share of the page's digits it confirmed, the shape of its ink (the stroke's width in pixels of
    the 28x28 crop, and the share of the crop that is ink) and the Page's (page_features)."""
    confirmed = np.asarray(evidence.confirmed, np.float64)
    share = np.full(len(confirmed), confirmed.mean() if len(confirmed) else 0.0)
    return np.column_stack([logit(probabilities), logit(evidence.not_a_digit), confirmed, share,
                            np.asarray(evidence.line_agrees, np.float64), ink_shape(evidence.crops),
                            page_features(len(confirmed), page)])


def page_features(count, page):
    """Of each of a page's `count` digits, what the Page says of them all: the share of its marks
    read as digits (at most 1), the logs of 1 + the marks and 1 + the lines found, and how much the
    digit model doubts the page's digits are digits at all (Page.doubt). The share and the doubt
    count the digits as weighed, so that the fits, which see a reading once its strays are dropped,
    weigh a page as the engine did. On a page of scribbles, hatching or letters most marks are
    refused and they lie on short lines (a median of 1.5 marks a line on the pages of marks at seed
    1, 4 on the stress pages); the few that pass look like any digit to both models, but the model
    finds most of the page's other crops no digit. On a page of digits nearly every mark is read."""
    row = [min(page.read / max(page.marks, 1), 1.0), math.log1p(page.marks), math.log1p(page.lines), page.doubt]
    return np.tile(row, (count, 1))


def ink_shape(crops):
    """Of each 28x28 crop, its stroke's width in pixels and the share of it that is ink: a blot's
    stroke is as wide as itself, a scribble's ink fills its crop."""
    return np.reshape([(stroke_width(crop > INK), float(np.mean(crop > INK))) for crop in crops], (-1, 2))


def whole_features(probabilities, digits, answers, crops, page):
    """The features of each digit the line reader read in place of the cut search, for
    context_probability: the logit of the line reader's probability, of the digit model's
    calibrated probability (`answers`, (N, 11)) of the same digit on the digit's crop and of "not
    one digit" there, the shape of its ink, and the Page's (page_features). The line reader reads
    scribbles as sure digits; the digit model, shown each of them alone, often does not."""
    answers = np.asarray(answers, np.float64).reshape(-1, len(CLASSES))
    same = answers[np.arange(len(answers)), np.asarray(digits, int)]
    return np.column_stack([logit(probabilities), logit(same), logit(answers[:, NOT_A_DIGIT]), ink_shape(crops),
                            page_features(len(answers), page)])


def alone_features(probabilities, not_a_digit, crops, page):
    """The features of each digit of a page the line reader was not asked about (more lines than
    it confirms), for context_probability: the logit of its calibrated probability and of "not one
    digit", the shape of its ink and the Page's (page_features). Such pages are columns and grids
    of digits, or strokes and blots scattered over many short lines, where the digit model reads
    the few marks it keeps surely."""
    return np.column_stack([logit(probabilities), logit(not_a_digit), ink_shape(crops),
                            page_features(len(crops), page)])


def context_probability(features, weights):
    """The chance each digit is right given context_features: a logistic model whose `weights` are
    the intercept, then one per feature."""
    features = np.asarray(features, np.float64).reshape(-1, len(weights) - 1)
    return 1.0 / (1.0 + np.exp(-(weights[0] + features @ np.asarray(weights[1:], np.float64))))


def fit_logistic(features, outcomes, ridge=RIDGE, steps=LOGISTIC_STEPS):
    """Weights (intercept first) of the logistic model likeliest for right/wrong `outcomes`, by
    Newton's method with a small ridge that keeps separable data finite."""
    x = np.column_stack([np.ones(len(features)), np.asarray(features, np.float64)])
    y = np.asarray(outcomes, np.float64)
    weights = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ weights)))
        gradient = x.T @ (y - p) - ridge * weights
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(weights))
        weights = weights + np.linalg.solve(hessian, gradient)
    return weights


def _weighed(digits, sure):
    """The digits (reading.Digit) with the chances `sure` that each is right: the alternatives keep
    their share of what the digit leaves."""
    found = []
    for digit, probability in zip(digits, sure):
        rest = (1.0 - probability) / max(1.0 - digit.probability, FLOOR)
        alternatives = tuple((d, min(p * rest, float(probability))) for d, p in digit.alternatives)
        found.append(dataclasses.replace(digit, probability=float(probability), alternatives=alternatives))
    return found


@dataclass(frozen=True)
class Calibration:
    """What a model card's "calibration" states (handwriting.training.calibrate writes it): the
    temperature of the model's probabilities, and for whole readings, by what the line reader said
    of them (whole_lines.AGREE, ...; None where it said nothing), the power and ceiling of
    reading_confidence. A card that states none, or states it wrongly, leaves the model's
    probabilities as they are and a reading's confidence the product of its digits'."""

    temperature: float = 1.0
    readings: tuple = ()  # ((opinion, power, ceiling), ...)
    context: tuple = ()  # weights of context_probability; none: a digit keeps its probability
    whole: tuple = ()  # weights of context_probability on whole_features; none: as `context`
    alone: tuple = ()  # weights of context_probability on alone_features; none: a digit keeps its probability

    @classmethod
    def of(cls, meta):
        """The calibration of a model card (model_io.metadata)."""
        stated = meta.get("calibration") if isinstance(meta, dict) else None
        try:
            temperature = float(stated["temperature"])
            readings = tuple((opinion, float(fit["power"]), float(fit["ceiling"]))
                             for opinion, fit in stated.get("readings", {}).items())
            context = tuple(float(w) for w in stated.get("context", ()))
            whole = tuple(float(w) for w in stated.get("whole", ()))
            alone = tuple(float(w) for w in stated.get("alone", ()))
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls()
        if (not LOWEST_T <= temperature <= HIGHEST_T or any(p <= 0 or not 0 < c <= 1 for _, p, c in readings)
                or len(context) not in (0, CONTEXT_WEIGHTS) or len(whole) not in (0, WHOLE_WEIGHTS)
                or len(alone) not in (0, ALONE_WEIGHTS) or not np.all(np.isfinite(context + whole + alone))):
            return cls()
        return cls(temperature, readings, context, whole, alone)

    def digit(self, probabilities):
        """A crop's probabilities (..., 11) as the reading reports them."""
        return scale(probabilities, self.temperature)

    def in_context(self, digits, evidence, page):
        """The digits of a page (reading.Digit) with the chance each is right given the page's
        Evidence and what its segmentation found (Page)."""
        if not self.context or not digits:
            return digits
        return _weighed(digits, context_probability(
            context_features([d.probability for d in digits], evidence, page), self.context))

    def in_alone(self, digits, not_a_digit, page):
        """The digits of a page the line reader was not asked about (reading.Digit) with the chance
        each is right given the calibrated probability of "not one digit" for each crop, the shape
        of its ink and what the page's segmentation found (Page; alone_features)."""
        if not self.alone or not digits:
            return digits
        return _weighed(digits, context_probability(
            alone_features([d.probability for d in digits], not_a_digit, [d.crop for d in digits], page), self.alone))

    def in_whole(self, digits, answers, page):
        """The digits the line reader read in place of the cut search (reading.Digit, which carry
        no alternatives) with the chance each is right given the digit model's calibrated `answers`
        (N, 11) for their crops and what the page's segmentation found (Page; whole_features)."""
        if not self.whole or not digits:
            return digits
        features = whole_features([d.probability for d in digits], [d.digit for d in digits], answers,
                                  [d.crop for d in digits], page)
        sure = context_probability(features, self.whole)
        return [dataclasses.replace(digit, probability=float(p)) for digit, p in zip(digits, sure)]

    def reading_fit(self, opinion=None):
        """(power, ceiling) of reading_confidence for a reading the line reader said `opinion` of."""
        fitted = {name: (power, ceiling) for name, power, ceiling in self.readings}
        return fitted.get(str(opinion), (1.0, 1.0))

    def reading(self, probabilities, opinion=None):
        """The chance a reading is right, from its digits' calibrated probabilities and what the line
        reader said of it."""
        return reading_confidence(probabilities, *self.reading_fit(opinion))
