"""Training images as the engine serves them: grey ink crops, and the eleventh class, "not one digit".

The reading engine cuts touching digits by asking the model which cut gives the surest digits; a
model that has only seen single digits names a pair of touching digits as one digit with high
confidence. Showing it pairs, triples, separators and stray strokes under their own label makes a
merged pair score low, so the right cut wins, and lets marks that are not digits be dropped.
"""
import cv2
import numpy as np

from handwriting.engine.normalisation import to_mnist

SERVED_HEIGHT = 84  # digits reach the model cut from working images where they stand 40-150 px tall
MARKS = 0.12  # share of "not one digit" images that are separators and strokes, the rest joined digits
TRIPLES = 0.15  # share of joined digits that are three, the rest pairs


def served_ink(strength):
    """Keep the ink's greys inside its Otsu mask and zero elsewhere, as the engine's blobs do."""
    level, _ = cv2.threshold(strength, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.where(strength > level, np.maximum(strength, 1), 0).astype(np.uint8)


def _upscaled(digit, height):
    big = cv2.resize(digit, None, fx=height / digit.shape[0], fy=height / digit.shape[0], interpolation=cv2.INTER_CUBIC)
    ys, xs = np.nonzero(big > 40)
    return big[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1] if len(ys) else big


def as_served(images):
    """Light-on-dark digits of any size, upscaled to a working-image height and normalised."""
    out = np.zeros((len(images), 28, 28), np.uint8)
    for i, image in enumerate(images):
        out[i] = to_mnist(served_ink(_upscaled(image, SERVED_HEIGHT)))
    return out


def _side_by_side(parts, rng):
    """Digits placed left to right, each touching or overlapping the one before it."""
    height = max(p.shape[0] for p in parts)
    offsets, x = [], 0
    for i, part in enumerate(parts):
        if i:
            overlap = rng.uniform(-0.05, 0.3) * min(part.shape[1], parts[i - 1].shape[1])
            x = int(offsets[-1][0] + parts[i - 1].shape[1] - overlap)
        offsets.append((max(x, 0), int(rng.uniform(-0.15, 0.15) * height)))
    top = min(dy for _, dy in offsets)
    width = max(ox + p.shape[1] for (ox, _), p in zip(offsets, parts))
    bottom = max(dy - top + p.shape[0] for (_, dy), p in zip(offsets, parts))
    canvas = np.zeros((bottom, width), np.uint8)
    for (ox, dy), part in zip(offsets, parts):
        region = canvas[dy - top: dy - top + part.shape[0], ox: ox + part.shape[1]]
        np.maximum(region, part, out=region)
    return canvas


def _mark(rng):
    """A dash, an underline or a rule remnant; a decimal point; a comma."""
    kind = rng.random()
    canvas = np.zeros((120, 160), np.uint8)
    if kind < 0.5:
        length, thickness = int(rng.uniform(40, 140)), int(rng.uniform(3, 14))
        cv2.line(canvas, (10, 60), (10 + length, 60 + int(rng.uniform(-0.15, 0.15) * length)), 255, thickness)
    elif kind < 0.75:
        radius = int(rng.uniform(4, 14))
        cv2.ellipse(canvas, (80, 60), (radius, int(radius * rng.uniform(0.7, 1.3))), 0, 0, 360, 255, -1)
    else:
        radius = int(rng.uniform(4, 10))
        cv2.circle(canvas, (80, 50), radius, 255, -1)
        tail = (80 - radius, 50 + int(radius * rng.uniform(2, 4)))
        cv2.line(canvas, (80 + radius // 2, 50), tail, 255, max(2, radius // 2))
    return cv2.GaussianBlur(canvas, (0, 0), 1.0)


def not_digits(images, count, seed):
    """`count` grey 28x28 crops that are not one digit, built from the given light-on-dark digits."""
    rng = np.random.default_rng(seed)
    out = np.zeros((count, 28, 28), np.uint8)
    for i in range(count):
        if rng.random() < MARKS:
            out[i] = to_mnist(served_ink(_mark(rng)))
            continue
        picks = rng.integers(0, len(images), 3 if rng.random() < TRIPLES else 2)
        parts = [_upscaled(images[j], SERVED_HEIGHT * rng.uniform(0.85, 1.15)) for j in picks]
        out[i] = to_mnist(served_ink(_side_by_side(parts, rng)))
    return out
