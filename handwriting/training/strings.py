"""Digit strings for the line reader: composed cheque-amount-like lines, and real ORAND strings jittered.

A composed line is handwritten digits from several writer populations set side by side, touching or
overlapping, over a guilloche-like security background, with separators and end strokes that are
ink but never part of the label, as on cheques. A digit source is a tight crop of one digit's ink as
alpha (0 paper, 1 full ink), so that any ink colour and any background can be put under it.
"""
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from handwriting.training import datasets

LINE_HEIGHT = 64  # canvas a line is composed on before its tight vertical crop
INK_ALPHA = 0.15  # alpha below which a source pixel is background when cropping a digit
LENGTHS = np.arange(1, 9)  # digits per line: cheque amounts of 1 to 8 digits
LENGTH_ODDS = (0.04, 0.08, 0.14, 0.22, 0.24, 0.14, 0.09, 0.05)  # mostly 4-6 digits, as ORAND's amounts
SOURCE_ODDS = {"mnist": 0.35, "optdigits": 0.1, "swiss": 0.15, "orand": 0.4}  # ORAND's writers matter most
SAME_WRITERS = 0.8  # chance a digit comes from the line's own population: one hand writes a line
SEPARATOR = 0.35  # chance of a decimal separator inside a line of three or more digits
END_MARK = 0.35  # chance of a closing stroke ("-", "=", "~") after the amount
LEAD_MARK = 0.08  # chance of a stroke before the amount
DIGIT_HEIGHT = (0.45, 0.85)  # digits' height as a share of the canvas
SLANT = 0.35  # most shear of a line, either way
GAP = (-0.15, 0.3)  # mean gap between pieces in digit heights: negative gaps make digits overlap
PAPER = (150, 235)  # grey of the paper before the background's lines
GUILLOCHE_FAMILIES = 4  # at most this many families of wavy lines over the paper
NOISE = 8  # most standard deviation of sensor noise, in grey levels


class Line(NamedTuple):
    image: np.ndarray  # uint8 grey, dark ink on lighter paper
    label: str  # the digits only, left to right
    digit_ink: np.ndarray  # float alpha of the digits' ink alone, same shape as image


def _tight(alpha):
    """A digit's alpha cropped to its ink, or None when there is almost no ink."""
    ys, xs = np.nonzero(alpha > INK_ALPHA)
    if len(ys) < 4:
        return None
    return alpha[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _collect(alphas, digits):
    """The tight crops of these alphas and their digits, empty ones dropped."""
    pairs = [(_tight(a), int(d)) for a, d in zip(alphas, digits)]
    pairs = [(a, d) for a, d in pairs if a is not None]
    return [a for a, _ in pairs], np.array([d for _, d in pairs], np.int64)


def _orand_alphas(strings):
    """Each boxed digit of these ORAND strings as alpha: its ink against the paper around it, with the
    security background's faint lines pushed below zero."""
    alphas, digits = [], []
    for string in strings:
        strength = datasets.paper_contrast(string.image).astype(np.float32)
        for (x, y, w, h), digit in zip(string.boxes, string.label):
            cut = strength[y: y + h, x: x + w]
            if cut.size < 16:
                continue
            low, high = np.percentile(cut, 50), np.percentile(cut, 98)
            alphas.append(np.clip((cut - low - 0.25 * (high - low)) / max(0.6 * (high - low), 8), 0, 1))
            digits.append(digit)
    return alphas, digits


def digit_sources(mnist_train, root, orand_train):
    """{set: (alpha crops, digits)} from MNIST's training images, optdigits train, swiss and the digits
    of the given ORAND training strings; raw images, not the model's 28x28 crops, so that strokes keep
    their own widths."""
    x, y = mnist_train
    root = Path(root)
    with np.load(root / datasets.FILES["optdigits"]) as d:
        optdigits = [cv2.GaussianBlur(a.astype(np.float32) / 255, (3, 3), 0.7) for a in d["x_train"]], d["y_train"]
    with np.load(root / datasets.FILES["swiss"]) as d:
        keep = ~d["label_suspect"]
        darkness = 255.0 - d["x"][keep].astype(np.float32)
        swiss_y = d["y"][keep]
    floor = np.percentile(darkness, 40, axis=(1, 2), keepdims=True)
    swiss = np.clip((darkness - floor) / np.maximum(darkness.max(axis=(1, 2), keepdims=True) - floor, 1), 0, 1)
    return {
        "mnist": _collect(x.astype(np.float32) / 255, y),
        "optdigits": _collect(*optdigits),
        "swiss": _collect(swiss, swiss_y),
        "orand": _collect(*_orand_alphas(orand_train)),
    }


def _guilloche(rng, xx, yy):
    """One family of parallel wavy lines, as printed under cheque amounts (darkness to subtract)."""
    frequency, angle = rng.uniform(0.08, 0.6), rng.uniform(0, np.pi)
    along = xx * np.cos(angle) + yy * np.sin(angle)
    across = -xx * np.sin(angle) + yy * np.cos(angle)
    warp = rng.uniform(0, 12) * np.sin(across * rng.uniform(0.01, 0.08) + rng.uniform(0, 6.3))
    field = np.sin((along + warp) * frequency + rng.uniform(0, 6.3))
    width = rng.uniform(0.1, 0.4)
    return rng.uniform(8, 45) * np.exp(-(field / width) ** 2 * 0.5) * (rng.random() < 0.8)


def background(rng, height, width):
    """Paper with a light gradient, up to GUILLOCHE_FAMILIES line families and blotchy texture."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = np.full((height, width), rng.uniform(*PAPER), np.float32)
    paper += rng.uniform(-25, 25) * (xx / width - 0.5) + rng.uniform(-15, 15) * (yy / height - 0.5)
    for _ in range(rng.integers(0, GUILLOCHE_FAMILIES)):
        paper -= _guilloche(rng, xx, yy)
    if rng.random() < 0.5:
        blotches = rng.normal(0, 1, (max(2, height // 8), max(2, width // 8))).astype(np.float32)
        paper += cv2.resize(blotches, (width, height)) * rng.uniform(2, 12)
    return paper


def _mark(rng, kind, digit_height, thick):
    """Alpha of a separator or stroke of `kind` (". , - = ~") and where it sits: 'base' or 'mid'."""
    size = max(4, int(digit_height))
    if kind in ".,":
        r = max(1, int(thick * rng.uniform(0.6, 1.2)))
        alpha = np.zeros((size // 3 + 2 * r + 2, size // 4 + 2 * r + 2), np.float32)
        cv2.circle(alpha, (alpha.shape[1] // 2, r + 1), r, 1.0, -1)
        if kind == ",":
            cv2.line(alpha, (alpha.shape[1] // 2, r + 1), (alpha.shape[1] // 2 - r, alpha.shape[0] - 1), 1.0, r)
        return alpha, "base"
    if kind in "-=":
        length = int(size * rng.uniform(0.4, 1.6))
        alpha = np.zeros((size // 2, length + 4), np.float32)
        rows = [alpha.shape[0] // 2] if kind == "-" else [alpha.shape[0] // 3, 2 * alpha.shape[0] // 3]
        for y in rows:
            end = int(np.clip(y + rng.integers(-3, 4), 0, alpha.shape[0] - 1))
            cv2.line(alpha, (1, y), (length, end), 1.0, max(1, int(thick)))
        return alpha, "mid"
    length = int(size * rng.uniform(0.5, 2.0))
    alpha = np.zeros((size, length + 4), np.float32)
    wave = np.sin(np.linspace(0, rng.uniform(1, 9), 12)) * size * rng.uniform(0, 0.3)
    tilt = np.linspace(0, rng.uniform(-0.3, 0.3) * size, 12)
    points = np.stack([np.linspace(1, length, 12), size / 2 + wave + tilt], 1).astype(np.int32)
    cv2.polylines(alpha, [points], False, 1.0, max(1, int(thick)))
    return alpha, "mid"


def _odds(kinds):
    odds = np.array([SOURCE_ODDS[kind] for kind in kinds])
    return odds / odds.sum()


def _pieces(rng, sources, writers, digit_height, thick):
    """The line's digits and marks, left to right, as (kind, alpha, offset or anchor), and its label;
    `writers` is (digit count, the line's own source)."""
    count, own = writers
    kinds, odds = list(sources), _odds(list(sources))
    separator_at = count - int(rng.choice([1, 2, 3, 3, 3])) if count >= 3 and rng.random() < SEPARATOR else -1
    label, pieces = "", []
    for i in range(count):
        kind = own if rng.random() < SAME_WRITERS else rng.choice(kinds, p=odds)
        alphas, digits = sources[kind]
        pick = rng.integers(len(alphas))
        label += str(digits[pick])
        height = digit_height * rng.uniform(0.88, 1.12)
        scale = height / alphas[pick].shape[0]
        width = max(2, int(round(alphas[pick].shape[1] * scale * rng.uniform(0.85, 1.15))))
        digit = cv2.resize(alphas[pick], (width, max(2, int(round(height)))), interpolation=cv2.INTER_LINEAR)
        if i == separator_at:
            pieces.append(("mark", *_mark(rng, rng.choice([".", ",", ".", "-"]), digit_height, 0.09 * thick)))
        pieces.append(("digit", digit, rng.uniform(-0.08, 0.08) * digit_height))
    if rng.random() < END_MARK:
        pieces.append(("mark", *_mark(rng, rng.choice(["-", "=", "~", ".", "="]), digit_height, 0.08 * thick)))
    if rng.random() < LEAD_MARK:
        pieces.insert(0, ("mark", *_mark(rng, rng.choice(["-", "~", "="]), digit_height, 0.08 * thick)))
    return pieces, label


def _layout(rng, pieces, digit_height):
    """Alpha of the whole line and of its digits alone, (LINE_HEIGHT, width, 2), pieces placed left to
    right with gaps that may be negative (touching, overlapping digits); marks never overlap."""
    gap_mean = rng.uniform(*GAP)
    x, placed = int(rng.uniform(2, 0.6 * digit_height)), []
    for kind, alpha, where in pieces:
        gap = (gap_mean + rng.uniform(-0.1, 0.1)) * digit_height
        top = (LINE_HEIGHT - alpha.shape[0]) / 2  # digits and mid-line marks centred
        if kind == "digit":
            top += where
        else:
            top = (LINE_HEIGHT + digit_height) / 2 - alpha.shape[0] if where == "base" else top
            gap = abs(gap) + 2
        placed.append((int(x), int(round(top)), alpha, kind == "digit"))
        x += alpha.shape[1] + gap
    layers = np.zeros((LINE_HEIGHT, max(int(x + rng.uniform(2, 0.6 * digit_height)) + 4, 16), 2), np.float32)
    for x0, y0, alpha, is_digit in placed:
        x0, top, bottom = max(0, x0), max(0, y0), min(LINE_HEIGHT, y0 + alpha.shape[0])
        part = alpha[top - y0: bottom - y0, : layers.shape[1] - x0]
        window = layers[top:bottom, x0: x0 + part.shape[1]]
        window[..., 0] = np.maximum(window[..., 0], part)
        if is_digit:
            window[..., 1] = np.maximum(window[..., 1], part)
    return layers


def _handwritten(rng, layers, slant):
    """Slant and stroke weight applied to both layers, then a tight vertical crop as ORAND's."""
    height, width = layers.shape[:2]
    shear = np.float32([[1, slant, -slant * height / 2], [0, 1, 0]])
    layers = cv2.warpAffine(layers, shear, (width, height))
    weight = rng.random()
    if weight < 0.2:
        layers = cv2.dilate(layers, np.ones((2, 2), np.uint8))
    elif weight < 0.3:
        layers = cv2.erode(layers, np.ones((2, 2), np.uint8))
    layers = np.clip(layers, 0, 1)
    rows = np.nonzero(layers[..., 0].max(1) > 0.2)[0]
    if len(rows):
        pad_top, pad_bottom = rng.integers(0, 8), rng.integers(0, 8)
        layers = layers[max(0, rows[0] - pad_top): rows[-1] + 1 + pad_bottom]
    return layers


def render(rng, sources):
    """One composed Line from `sources` (see digit_sources)."""
    count = int(rng.choice(LENGTHS, p=LENGTH_ODDS))
    own = rng.choice(list(sources), p=_odds(list(sources)))  # one writer population per line, mostly
    digit_height = rng.uniform(*DIGIT_HEIGHT) * LINE_HEIGHT
    slant, thick = rng.uniform(-SLANT, SLANT), rng.uniform(0.7, 1.5) * digit_height
    pieces, label = _pieces(rng, sources, (count, own), digit_height, thick)
    layers = _handwritten(rng, _layout(rng, pieces, digit_height), slant)
    paper = background(rng, *layers.shape[:2])
    ink = rng.uniform(10, max(12, np.median(paper) - 50))
    image = paper * (1 - layers[..., 0]) + ink * layers[..., 0]
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.3, 1.0))
    image += rng.normal(0, rng.uniform(0, NOISE), image.shape)
    return Line(np.clip(image, 0, 255).astype(np.uint8), label, layers[..., 1])


def augment_real(rng, grey):
    """A real string's image, mildly stretched, sheared, turned, re-framed, re-lit, blurred and noised."""
    height, width = grey.shape
    stretch, shear, turn = rng.uniform(0.85, 1.15), rng.uniform(-0.15, 0.15), np.deg2rad(rng.uniform(-3, 3))
    cos, sin = np.cos(turn), np.sin(turn)
    warp = np.float32([[stretch * cos, -sin + shear, 0], [sin, cos, 0]])
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float32) @ warp.T
    warp[:, 2] = -corners.min(0)
    size = np.ceil(corners.max(0) - corners.min(0)).astype(int)
    out = cv2.warpAffine(grey.astype(np.float32), warp, (int(size[0]), int(size[1])), borderMode=cv2.BORDER_REPLICATE)
    rows, cols = out.shape
    top, bottom = rng.integers(0, max(1, rows // 10)), rng.integers(0, max(1, rows // 10))
    left, right = rng.integers(0, max(1, cols // 20)), rng.integers(0, max(1, cols // 20))
    if rng.random() < 0.5:
        out = out[top: rows - bottom, left: cols - right]
    else:
        out = cv2.copyMakeBorder(out, top, bottom, left, right, cv2.BORDER_REPLICATE)
    out = out * rng.uniform(0.8, 1.2) + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.0))
    out += rng.normal(0, rng.uniform(0, 6), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)
