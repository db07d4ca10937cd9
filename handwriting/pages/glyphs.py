"""Ink of one stroke of the stress benchmark's writer (stress.py): a source digit redrawn at any size
with its own stroke or a given pen, separators and stray marks. Each is alpha coverage, float32 in 0-1,
cropped to its ink, so that the layouts (layouts.py) can place it by its ink alone."""
import cv2
import numpy as np

HEIGHT_JITTER = 0.08  # one writer's digits differ this much in size
SLANT = 0.2  # most shear (x per y) of one digit
TILT_DEG = 5.0  # most rotation of one digit
INK_LEVEL = 40  # source pixels above this are ink when finding a digit's box
SKELETON_HEIGHT = 64  # px at which a digit is thinned; the distance field then scales smoothly
EDGE_LEVELS = 170  # grey levels per source px across an MNIST stroke edge, to keep edges ~1 px


def _thin(mask):
    """Zhang-Suen thinning: the centre line of the strokes, for a pen of any width to retrace."""
    img = np.pad(mask, 1).astype(np.uint8)
    while True:
        removed = 0
        for first in (True, False):
            c = img[1:-1, 1:-1]
            n, ne, e, se = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:]
            s, sw, w, nw = img[2:, 1:-1], img[2:, :-2], img[1:-1, :-2], img[:-2, :-2]
            ring = (n, ne, e, se, s, sw, w, nw, n)
            count = sum(ring[:8])
            turns = sum((a == 0) & (b == 1) for a, b in zip(ring, ring[1:]))
            gate = ((n & e & s) == 0) & ((e & s & w) == 0) if first else ((n & e & w) == 0) & ((n & s & w) == 0)
            drop = (c == 1) & (count >= 2) & (count <= 6) & (turns == 1) & gate
            c[drop] = 0
            removed += int(drop.sum())
        if not removed:
            return img[1:-1, 1:-1].astype(bool)


def glyph(rng, source, height, width):
    """One digit's ink coverage, `height` px tall: the writer's own stroke smoothly upscaled when width
    is None, else a pen of that width retracing the stroke's centre line; slanted and tilted a little."""
    ys, xs = np.nonzero(source > INK_LEVEL)
    grey = np.pad(source[ys.min():ys.max() + 1, xs.min():xs.max() + 1], 2).astype(np.float32)
    factor = 1.0
    if width is not None:
        factor = SKELETON_HEIGHT / (np.ptp(ys) + 1)
        big = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC) > 128
        skeleton = _thin(big)
        if not skeleton.any():  # thinning erases a filled square whole (one Swiss "0" is one): pen it as it is
            skeleton = big
        grey = cv2.distanceTransform((~skeleton).astype(np.uint8), cv2.DIST_L2, 5)
    scale = height * rng.uniform(1 - HEIGHT_JITTER, 1 + HEIGHT_JITTER) / ((np.ptp(ys) + 1) * factor)
    theta = np.deg2rad(rng.uniform(-TILT_DEG, TILT_DEG))
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    matrix = turn @ np.array([[1.0, rng.uniform(-SLANT, SLANT)], [0.0, 1.0]]) * scale
    corners = np.array([[0, 0], [grey.shape[1], 0], [0, grey.shape[0]], grey.shape[::-1]], float) @ matrix.T
    pad = 2 + (width or 0)
    low, size = corners.min(0) - pad, np.ceil(np.ptp(corners, 0) + 2 * pad).astype(int)
    affine = np.hstack([matrix, -low[:, None]])
    if width is None:
        warped = cv2.warpAffine(grey, affine, tuple(size), flags=cv2.INTER_CUBIC)
        ramp = np.clip(EDGE_LEVELS / scale, 10, 200)
        t = np.clip((warped - 128) / ramp + 0.5, 0, 1)
        alpha = t * t * (3 - 2 * t)
    else:
        warped = cv2.warpAffine(grey, affine, tuple(size), flags=cv2.INTER_LINEAR, borderValue=1e4)
        alpha = np.clip(width / 2 + 0.5 - warped * scale, 0, 1)
    return crop(alpha.astype(np.float32))


def crop(alpha, level=0.02):
    rows, cols = np.flatnonzero((alpha > level).any(1)), np.flatnonzero((alpha > level).any(0))
    return alpha[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def symbol(rng, kind, height, width):
    """A separator drawn with the same pen: decimal point or comma, minus sign, dollar or euro sign."""
    w = max(1, round(width))
    canvas = np.zeros((int(2 * height) + 4 * w, int(2 * height) + 4 * w), np.uint8)
    c = (canvas.shape[1] // 2, canvas.shape[0] // 2)
    if kind in ".,":
        cv2.circle(canvas, c, max(w, round(0.04 * height)), 255, -1, cv2.LINE_AA)
        if kind == ",":
            cv2.line(canvas, c, (c[0] - round(0.08 * height), c[1] + round(0.2 * height)), 255, w, cv2.LINE_AA)
    elif kind == "-":
        half = round(rng.uniform(0.15, 0.25) * height)
        cv2.line(canvas, (c[0] - half, c[1]), (c[0] + half, c[1]), 255, w, cv2.LINE_AA)
    elif kind == "$":
        cv2.putText(canvas, "$", (c[0] - round(0.3 * height), c[1] + round(0.45 * height)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.9 * height / 22, 255, w, cv2.LINE_AA)
    else:
        axes = (round(0.3 * height), round(0.45 * height))
        cv2.ellipse(canvas, c, axes, 0, 45, 315, 255, w, cv2.LINE_AA)
        for dy in (-0.08, 0.08):
            y = c[1] + round(dy * height)
            cv2.line(canvas, (c[0] - round(0.45 * height), y), (c[0] + round(0.1 * height), y), 255, w, cv2.LINE_AA)
    return crop(canvas.astype(np.float32) / 255)


SYMBOL_DROP = {".": 0.0, ",": 0.15, "-": -0.45, "$": 0.1, "€": 0.0}  # bottom below the baseline, heights


def stray(rng, height, width):
    """A dot, a short dash or a faint smudge, the marks people leave near a number."""
    kind = rng.choice(["dot", "dash", "smudge"])
    if kind == "dot":
        r = max(1, round(rng.uniform(0.03, 0.08) * height))
        mark = np.zeros((2 * r + 3, 2 * r + 3), np.float32)
        cv2.circle(mark, (r + 1, r + 1), r, 1.0, -1, cv2.LINE_AA)
    elif kind == "dash":
        length, angle = rng.uniform(0.1, 0.35) * height, rng.uniform(0, np.pi)
        dx, dy = length * np.cos(angle) / 2, length * np.sin(angle) / 2
        side = int(length + 2 * width) + 4
        mark = np.zeros((side, side), np.float32)
        c = side / 2
        ends = (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy))
        cv2.line(mark, *ends, 1.0, max(1, round(width)), cv2.LINE_AA)
    else:
        side = max(4, round(rng.uniform(0.3, 0.8) * height))
        blob = cv2.resize(rng.random((4, 4)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
        ramp = np.hanning(side).astype(np.float32)
        mark = np.clip(blob, 0, 1) * np.outer(ramp, ramp) * rng.uniform(0.15, 0.45)
    return str(kind), crop(mark)
