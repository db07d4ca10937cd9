"""Training images for the model's eleventh class, "not one digit", and MNIST as the service sees it.

The reading engine cuts touching digits by asking the model which cut gives the surest digits; a
model that has only seen single digits names a pair of touching digits as one digit with high
confidence. Showing it pairs, triples and stray strokes under their own label makes a merged
pair score low, so the right cut wins, and lets marks that are not digits be dropped.
"""
import cv2
import numpy as np

from handwriting.engine.normalisation import to_mnist

UPSCALE = 4  # service crops are cut from larger images and shrunk, which softens their edges
THRESHOLD = 100


def _ink(image):
    """A digit upscaled and binarised the way the engine binarises a photo."""
    big = cv2.resize(image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_LINEAR)
    mask = (big > THRESHOLD).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1] if len(ys) else mask


def as_served(images):
    """MNIST digits passed through the engine's own normalisation as a hard binarised outline: the
    shipped model was trained on these. The engine now keeps the ink's greys, which the model sees
    in the plain half of its training; training on grey crops is the next model's step."""
    return np.stack([to_mnist(_ink(image)) for image in images])


def _side_by_side(parts, rng):
    """Digits placed left to right, each touching or overlapping the one before it."""
    height = max(p.shape[0] for p in parts)
    offsets, x = [], 0
    for i, part in enumerate(parts):
        if i:
            overlap = rng.uniform(-0.02, 0.3) * min(part.shape[1], parts[i - 1].shape[1])
            x = int(offsets[-1][0] + parts[i - 1].shape[1] - overlap)
        offsets.append((max(x, 0), int(rng.uniform(-0.12, 0.12) * height)))
    top = min(dy for _, dy in offsets)
    width = max(ox + p.shape[1] for (ox, _), p in zip(offsets, parts))
    bottom = max(dy - top + p.shape[0] for (_, dy), p in zip(offsets, parts))
    canvas = np.zeros((bottom, width), np.uint8)
    for (ox, dy), part in zip(offsets, parts):
        region = canvas[dy - top: dy - top + part.shape[0], ox: ox + part.shape[1]]
        np.maximum(region, part, out=region)
    return canvas


def _stroke(rng):
    """A dash, an underline or a short ruled-line remnant."""
    length = int(rng.uniform(40, 120))
    thickness = int(rng.uniform(3, 12))
    canvas = np.zeros((thickness + 20, length + 20), np.uint8)
    tilt = int(rng.uniform(-0.15, 0.15) * length)
    cv2.line(canvas, (10, 10 + thickness // 2), (10 + length, 10 + thickness // 2 + tilt), 1, thickness)
    return canvas[max(0, min(0, tilt)):, :]


def not_digits(images, count, seed):
    """`count` 28x28 images of pairs, triples and strokes built from the given MNIST digits."""
    rng = np.random.default_rng(seed)
    out = np.zeros((count, 28, 28), np.uint8)
    for i in range(count):
        kind = rng.random()
        if kind < 0.08:
            out[i] = to_mnist(_stroke(rng))
            continue
        parts = 2 if kind < 0.85 else 3
        picks = rng.integers(0, len(images), parts)
        out[i] = to_mnist(_side_by_side([_ink(images[j]) for j in picks], rng))
    return out
