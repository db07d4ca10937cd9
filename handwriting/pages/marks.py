"""Pages that hold no digit (issue #17): scribbles, random strokes, ink blots, hatching, shadows,
smudges and letter-like writing, drawn on paper as a phone or a scanner would see it.

Each page is a pure function of (kind, seed, index); nothing here draws a digit on purpose, though a
random stroke may look like a 1 now and then, as it would on a real page. bench/marks.py reads them.
"""
import zlib
from typing import NamedTuple

import cv2
import numpy as np

from handwriting.pages import drawing

PAGE_SIDE = (300, 1600)  # px, the sides of an ordinary upload
MARK_SIZE = (0.08, 0.5)  # a mark's extent, as a share of the page's shorter side
PEN = (0.004, 0.015)  # stroke width as a share of the page's shorter side (at least 1 px)
PAPERS = ((250, 250, 248), (245, 242, 232), (236, 238, 242), (255, 255, 255))  # white, cream, grey-blue, pure
SHADE = (30, 30, 34)  # RGB a shadow darkens the paper towards
PHOTO = 0.3  # share of pages saved as a phone photo (lit unevenly, grainy, JPEG) instead of a PNG scan
PHOTO_QUALITY = (70, 95)
# Letters whose strokes look like no digit, each as polylines in a unit box (x right, y down).
LETTERS = {
    "a": [[(0.8, 0.45), (0.5, 0.35), (0.2, 0.55), (0.25, 0.95), (0.6, 0.95), (0.8, 0.6), (0.8, 1.0)]],
    "e": [[(0.2, 0.7), (0.8, 0.65), (0.6, 0.4), (0.25, 0.5), (0.25, 0.9), (0.8, 0.95)]],
    "h": [[(0.2, 0.0), (0.2, 1.0)], [(0.2, 0.6), (0.5, 0.4), (0.8, 0.6), (0.8, 1.0)]],
    "k": [[(0.2, 0.0), (0.2, 1.0)], [(0.8, 0.35), (0.2, 0.7), (0.8, 1.0)]],
    "m": [[(0.0, 1.0), (0.0, 0.4), (0.25, 0.35), (0.5, 0.5), (0.5, 1.0)], [(0.5, 0.5), (0.75, 0.35), (1.0, 0.5), (1.0, 1.0)]],
    "r": [[(0.3, 0.4), (0.3, 1.0)], [(0.3, 0.65), (0.55, 0.4), (0.85, 0.4)]],
    "v": [[(0.1, 0.4), (0.5, 1.0), (0.9, 0.4)]],
    "w": [[(0.0, 0.4), (0.25, 1.0), (0.5, 0.55), (0.75, 1.0), (1.0, 0.4)]],
    "x": [[(0.15, 0.4), (0.85, 1.0)], [(0.85, 0.4), (0.15, 1.0)]],
    "A": [[(0.1, 1.0), (0.5, 0.0), (0.9, 1.0)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.8, 0.0), (0.2, 0.0), (0.2, 1.0), (0.8, 1.0)], [(0.2, 0.5), (0.65, 0.5)]],
    "H": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.85, 1.0)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.2, 0.0), (0.2, 1.0)], [(0.85, 0.0), (0.2, 0.55), (0.85, 1.0)]],
    "M": [[(0.05, 1.0), (0.15, 0.0), (0.5, 0.6), (0.85, 0.0), (0.95, 1.0)]],
    "N": [[(0.15, 1.0), (0.15, 0.0), (0.85, 1.0), (0.85, 0.0)]],
    "R": [[(0.2, 1.0), (0.2, 0.0), (0.7, 0.05), (0.75, 0.4), (0.2, 0.5), (0.8, 1.0)]],
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)]],
    "X": [[(0.1, 0.0), (0.9, 1.0)], [(0.9, 0.0), (0.1, 1.0)]],
}


class Sample(NamedTuple):
    image_bytes: bytes
    kind: str
    meta: dict  # JSON-ready: page size, marks drawn, output format


def _pen(rng, side):
    return max(1, round(rng.uniform(*PEN) * side))


def _spot(rng, shape, extent):
    """A random centre keeping a mark of `extent` px on the page."""
    height, width = shape
    return rng.uniform(extent / 2, max(extent / 2 + 1, width - extent / 2)), \
        rng.uniform(extent / 2, max(extent / 2 + 1, height - extent / 2))


def _smooth_path(rng, points, steps=8):
    """A pen's path through `points`: each leg a quadratic curve through jittered midpoints."""
    points = np.asarray(points, np.float32)
    path = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        t = np.linspace(0, 1, steps, dtype=np.float32)[1:, None]
        bend = (a + b) / 2 + rng.normal(0, 0.15, 2).astype(np.float32) * np.linalg.norm(b - a)
        path.extend((1 - t) ** 2 * a + 2 * (1 - t) * t * bend + t ** 2 * b)
    return np.array(path)


def _stroke(alpha, path, width, strength=1.0):
    """Draw a polyline onto the coverage map, anti-aliased."""
    layer = np.zeros_like(alpha)
    cv2.polylines(layer, [np.round(path).astype(np.int32)], False, 1.0, width, cv2.LINE_AA)
    np.maximum(alpha, layer * strength, out=alpha)


def _scribble(rng, alpha, side):
    """One to three pen scribbles: tangled loops going back and forth over one patch."""
    for _ in range(rng.integers(1, 4)):
        extent = rng.uniform(*MARK_SIZE) * side
        cx, cy = _spot(rng, alpha.shape, extent)
        turns = rng.integers(6, 30)
        points = np.column_stack([cx + rng.normal(0, extent / 4, turns), cy + rng.normal(0, extent / 4, turns)])
        _stroke(alpha, _smooth_path(rng, points), _pen(rng, side))
    return {"marks": "scribble"}


def _strokes(rng, alpha, side):
    """Three to twenty lone strokes: lines, arcs and hooks of any length, direction and pen."""
    count = int(rng.integers(3, 21))
    for _ in range(count):
        extent = rng.uniform(MARK_SIZE[0] / 2, MARK_SIZE[1]) * side
        cx, cy = _spot(rng, alpha.shape, extent)
        legs = rng.integers(1, 4)
        points = np.column_stack([cx + rng.uniform(-0.5, 0.5, legs + 1) * extent,
                                  cy + rng.uniform(-0.5, 0.5, legs + 1) * extent])
        _stroke(alpha, _smooth_path(rng, points), _pen(rng, side))
    return {"marks": "strokes", "count": count}


def _blobs(rng, alpha, side):
    """Ink blots and dots: filled irregular shapes of any size, a few with splashes around them."""
    count = int(rng.integers(1, 12))
    for _ in range(count):
        radius = rng.uniform(0.01, MARK_SIZE[1] / 3) * side
        cx, cy = _spot(rng, alpha.shape, 2 * radius)
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(5, 14))))
        radii = radius * rng.uniform(0.5, 1.2, len(angles))
        outline = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
        cv2.fillPoly(alpha, [np.round(outline).astype(np.int32)], 1.0, cv2.LINE_AA)
        for _ in range(rng.integers(0, 5)):
            drop = max(1, round(rng.uniform(0.05, 0.25) * radius))
            far = rng.uniform(1.2, 2.5) * radius
            angle = rng.uniform(0, 2 * np.pi)
            cv2.circle(alpha, (round(cx + far * np.cos(angle)), round(cy + far * np.sin(angle))), drop, 1.0, -1, cv2.LINE_AA)
    return {"marks": "blobs", "count": count}


def _hatching(rng, alpha, side):
    """Patches of parallel strokes, sometimes crossed by a second set: shading, crossing out."""
    count = int(rng.integers(1, 4))
    for _ in range(count):
        extent = rng.uniform(*MARK_SIZE) * side
        cx, cy = _spot(rng, alpha.shape, extent)
        width = _pen(rng, side)
        for angle in rng.uniform(0, np.pi, rng.integers(1, 3)):
            spacing = rng.uniform(2.5, 8) * width
            direction = np.array([np.cos(angle), np.sin(angle)])
            across = np.array([-direction[1], direction[0]])
            for offset in np.arange(-extent / 2, extent / 2, spacing):
                half = extent / 2 * rng.uniform(0.6, 1.0)
                middle = np.array([cx, cy]) + across * offset + rng.normal(0, 0.02 * extent, 2)
                ends = [middle - direction * half, middle + direction * half]
                _stroke(alpha, _smooth_path(rng, ends, steps=4), width)
    return {"marks": "hatching", "count": count}


def _shadow(rng, alpha, side):
    """No ink at all, only shade: one or two shadows of a hand or a phone, sharp- or soft-edged,
    falling across a photographed page from one of its sides."""
    height, width = alpha.shape
    count = int(rng.integers(1, 3))
    for _ in range(count):
        layer = np.zeros_like(alpha)
        corners = rng.uniform(0, 1, (int(rng.integers(3, 7)), 2)) * (width, height)
        edge = int(rng.integers(4))  # the side the shadow comes from
        corners[:2, edge % 2] = 0 if edge < 2 else (width, height)[edge % 2]
        cv2.fillPoly(layer, [np.round(cv2.convexHull(corners.astype(np.float32))).astype(np.int32)], 1.0, cv2.LINE_AA)
        blur = rng.uniform(0.002, 0.05) * side
        layer = cv2.GaussianBlur(layer, (0, 0), max(0.5, blur)) * rng.uniform(0.15, 0.55)
        np.maximum(alpha, layer, out=alpha)
    return {"marks": "shadow", "count": count}


def _smudge(rng, alpha, side):
    """Smeared ink and eraser traces: soft, faint, blurred strokes and patches."""
    count = int(rng.integers(1, 6))
    for _ in range(count):
        extent = rng.uniform(*MARK_SIZE) * side
        cx, cy = _spot(rng, alpha.shape, extent)
        layer = np.zeros_like(alpha)
        points = np.column_stack([cx + rng.normal(0, extent / 4, 4), cy + rng.normal(0, extent / 4, 4)])
        _stroke(layer, _smooth_path(rng, points), max(2, round(rng.uniform(0.02, 0.08) * side)))
        blur = max(1.0, rng.uniform(0.01, 0.04) * side)
        layer = cv2.GaussianBlur(layer, (0, 0), blur) * rng.uniform(0.15, 0.6)
        np.maximum(alpha, layer, out=alpha)
    return {"marks": "smudge", "count": count}


def _letters(rng, alpha, side):
    """One to three words of letters whose shapes are no digit's, written by a hand that wobbles."""
    words = []
    height = rng.uniform(0.04, 0.15) * side
    width = _pen(rng, side)
    for _ in range(rng.integers(1, 4)):
        word = "".join(rng.choice(list(LETTERS), int(rng.integers(2, 7))))
        extent = len(word) * 0.8 * height
        x, baseline = _spot(rng, alpha.shape, extent)
        x -= extent / 2
        slant = rng.uniform(-0.25, 0.25)
        for letter in word:
            for stroke in LETTERS[letter]:
                unit = np.asarray(stroke, np.float32) + rng.normal(0, 0.04, (len(stroke), 2)).astype(np.float32)
                points = np.column_stack([x + (unit[:, 0] * 0.7 - slant * (unit[:, 1] - 1)) * height,
                                          baseline + (unit[:, 1] - 1) * height])
                _stroke(alpha, _smooth_path(rng, points, steps=4), width)
            x += rng.uniform(0.8, 1.0) * height
        words.append(word)
    return {"marks": "letters", "words": words}


KINDS = {"scribble": _scribble, "strokes": _strokes, "blobs": _blobs, "hatching": _hatching,
         "shadow": _shadow, "smudge": _smudge, "letters": _letters}


def generate(kind, seed, index):
    """Page `index` of `kind` at `seed`; the stream is seeded by the kind's name (crc32), so that
    adding a kind never changes another's pages."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode()), index])
    width, height = (int(v) for v in rng.integers(*PAGE_SIDE, 2))
    alpha = np.zeros((height, width), np.float32)
    meta = KINDS[kind](rng, alpha, min(width, height))
    page = drawing.fill(width, height, PAPERS[rng.integers(len(PAPERS))])
    colour = SHADE if kind == "shadow" else drawing.ink(rng)
    page = drawing.paint(page, np.clip(alpha, 0, 1) * rng.uniform(0.7, 1.0), colour)
    photo = kind == "shadow" or rng.random() < PHOTO
    if photo:
        # A shadow page is nothing but the light: a deeper fall-off than an ordinary photo's.
        page = page * drawing.lighting(width, height, rng, 0.6 if kind == "shadow" else 0.25)[..., None]
        page = drawing.grain(page, rng, rng.uniform(2, 6), cell=2)
        quality = int(rng.integers(*PHOTO_QUALITY))
        data = drawing.jpeg(page, quality)
    else:
        data = drawing.png(page)
    return Sample(data, kind, {**meta, "size": [width, height], "output": "jpeg" if photo else "png"})
