"""Benchmark images composed from MNIST test digits, each with its true text and digit boxes.

Every sample is a pure function of (kind, seed, index), so a failure seen in a benchmark can be
regenerated on its own. Only the test split is used: the model never trained on these digits.
"""
from typing import NamedTuple

import cv2
import numpy as np

from handwriting.pages import drawing

PHOTO_SIZE = (4000, 3000)
SINGLE_SIZE = 280
_TABLES = ((120, 85, 55), (95, 95, 100), (60, 70, 90), (150, 130, 105))  # wood, grey, blue-grey, oak; RGB


class Sample(NamedTuple):
    data: bytes  # the encoded image
    text: str  # the digits in reading order, lines joined by "\n", as Reading.text writes them
    boxes: tuple  # ((x, y, w, h), ...) per digit in the same order, each from that digit's own ink


def _clean(mnist, rng):
    """Dark ink on white, 3-8 separated digits 40-120 px tall."""
    height = rng.uniform(42, 105)  # each digit varies by 10 % around it
    placements = drawing.line(drawing.glyphs(mnist, rng, int(rng.integers(3, 9)), height), rng, height)
    alpha, boxes = drawing.framed(placements, rng, (0.3 * height, 1.2 * height))
    image = drawing.paint(drawing.fill(alpha.shape[1], alpha.shape[0], drawing.WHITE), alpha, drawing.ink(rng))
    return Sample(drawing.png(image), drawing.text(placements), boxes)


def _canvas(mnist, rng):
    """A browser canvas export: white strokes on opaque black, or dark strokes on full transparency."""
    height = rng.uniform(50, 150)
    glyphs = drawing.glyphs(mnist, rng, int(rng.integers(1, 7)), height, angle=6.0, crisp=True)
    placements = drawing.line(glyphs, rng, height, gap=(0.2, 0.8), wobble=0.06)
    alpha, boxes = drawing.framed(placements, rng, (0.3 * height, 1.2 * height))
    opacity = alpha[..., None] * 255.0
    if rng.random() < 0.5:
        image = np.concatenate([np.repeat(opacity, 3, axis=2), np.full_like(opacity, 255.0)], axis=2)
    else:
        colour = np.where(alpha[..., None] > 0, drawing.ink(rng), 0.0)
        image = np.concatenate([colour, opacity], axis=2)
    return Sample(drawing.png(image), drawing.text(placements), boxes)


def _paper(mnist, rng):
    """A number sitting on a ruled notebook line, right of a red margin, lit unevenly, saved as JPEG."""
    spacing = rng.uniform(55, 120)
    height = spacing * rng.uniform(0.65, 0.8)
    placements = drawing.line(drawing.glyphs(mnist, rng, int(rng.integers(3, 9)), height, angle=4.0), rng, height, wobble=0.03)
    x0, y0, x1, y1 = drawing.extent(placements)
    margin = round(rng.uniform(60, 140))
    start = margin + round(rng.uniform(0.3, 1.0) * height)
    width = max(start + (x1 - x0) + round(rng.uniform(40, 300)), round(rng.uniform(800, 1400)))
    rows = int(rng.integers(4, 9))
    image_height = round(spacing * (rows + 1))
    first = rng.uniform(0.5, 1.0) * spacing
    rules = [round(first + k * spacing) for k in range(rows + 1) if first + k * spacing < image_height]
    usable = [r for r in rules if r + y0 >= 4 and r + y1 <= image_height - 4]
    baseline = usable[int(rng.integers(len(usable)))]

    paper = np.full((image_height, width, 3), np.array((246, 244, 236)) * rng.uniform(0.96, 1.0), np.uint8)
    blue = tuple(int(v) for v in rng.uniform((150, 185, 220), (180, 210, 245)))
    thickness = int(rng.integers(1, 3))
    for rule in rules:
        cv2.line(paper, (0, rule), (width - 1, rule), blue, thickness, cv2.LINE_AA)
    cv2.line(paper, (margin, 0), (margin, image_height - 1), (225, 115, 115), thickness, cv2.LINE_AA)
    background = paper.astype(np.float32) * drawing.smooth_noise(width, image_height, rng, 12, 0.03)[..., None]

    alpha, boxes = drawing.draw(placements, width, image_height, start - x0, baseline)
    image = drawing.paint(background, alpha, drawing.ink(rng)) * drawing.lighting(width, image_height, rng, 0.25)[..., None]
    image = drawing.grain(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.8)), rng, rng.uniform(2, 5))
    return Sample(drawing.jpeg(image, rng.integers(75, 86)), drawing.text(placements), boxes)


def _touching(mnist, rng):
    """Dark ink on white, 2-4 digits whose strokes touch or overlap by a few pixels."""
    height = rng.uniform(50, 110)
    placements = drawing.touching_line(mnist, rng, int(rng.integers(2, 5)), height)
    alpha, boxes = drawing.framed(placements, rng, (0.3 * height, 1.0 * height))
    image = drawing.paint(drawing.fill(alpha.shape[1], alpha.shape[0], drawing.WHITE), alpha, drawing.ink(rng))
    return Sample(drawing.png(image), drawing.text(placements), boxes)


def _multiline(mnist, rng):
    """2-3 lines of 2-6 digits on white, with uneven baselines, slanted strokes and sloping lines."""
    height = rng.uniform(40, 100)
    shear = rng.uniform(-0.15, 0.15)
    placements, texts, bottom = [], [], None
    for _ in range(int(rng.integers(2, 4))):
        glyphs = drawing.glyphs(mnist, rng, int(rng.integers(2, 7)), height, angle=4.0, shear=shear)
        slope = np.tan(np.deg2rad(rng.uniform(-3, 3)))
        line = drawing.line(glyphs, rng, height, wobble=0.08, slope=slope)
        top = min(y + g.box[1] for g, _, y in line)
        shift = 0 if bottom is None else round(bottom + rng.uniform(0.35, 0.9) * height - top)
        indent = round(rng.uniform(0, 1.0) * height)
        line = [(g, x + indent, y + shift) for g, x, y in line]
        bottom = max(y + g.box[1] + g.box[3] for g, _, y in line)
        placements += line
        texts.append(drawing.text(line))
    alpha, boxes = drawing.framed(placements, rng, (0.3 * height, 1.2 * height))
    tint = rng.uniform(240, 255, 3)
    image = drawing.paint(drawing.fill(alpha.shape[1], alpha.shape[0], tint), alpha, drawing.ink(rng))
    return Sample(drawing.png(image), "\n".join(texts), boxes)


def _photo(mnist, rng):
    """A 12-MP phone photo: a sheet with a number, tilted in perspective on a darker table, in JPEG."""
    width, height = PHOTO_SIZE
    sheet_w, sheet_h = round(width * rng.uniform(0.55, 0.8)), round(height * rng.uniform(0.6, 0.82))
    count = int(rng.integers(2, 9))
    placements = drawing.fitted(
        lambda h: drawing.line(drawing.glyphs(mnist, rng, count, h, angle=5.0), rng, h),
        rng.uniform(85, 215), 0.84 * sheet_w, 0.6 * sheet_h,  # 80-250 px once each digit varies by 10 %
    )
    x0, y0, x1, y1 = drawing.extent(placements)
    dx = round(rng.uniform(0.08 * sheet_w, sheet_w - 0.08 * sheet_w - (x1 - x0))) - x0
    dy = round(rng.uniform(0.1 * sheet_h, sheet_h - 0.1 * sheet_h - (y1 - y0))) - y0
    alpha, _ = drawing.draw(placements, sheet_w, sheet_h, dx, dy)
    paper = drawing.fill(sheet_w, sheet_h, rng.uniform(235, 252) * rng.uniform(0.98, 1.0, 3))
    sheet = drawing.uint8(drawing.paint(paper * drawing.smooth_noise(sheet_w, sheet_h, rng, 10, 0.02)[..., None], alpha, drawing.ink(rng)))

    flat = np.float32([[0, 0], [sheet_w, 0], [sheet_w, sheet_h], [0, sheet_h]])
    theta = np.deg2rad(rng.uniform(-5, 5))
    turn = np.float32([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    corners = (flat - flat.mean(axis=0)) @ turn.T + rng.uniform(-0.025, 0.025, (4, 2)).astype(np.float32) * sheet_w
    low, high = corners.min(axis=0), corners.max(axis=0)
    offset = rng.uniform(-low + 20, np.float32([width, height]) - high - 20)
    homography = cv2.getPerspectiveTransform(flat, (corners + offset).astype(np.float32))

    quarter = (width // 4, height // 4)  # the table is smooth, so it is made small and enlarged
    colour = np.array(_TABLES[rng.integers(len(_TABLES))]) * rng.uniform(0.6, 1.2)
    table = drawing.fill(*quarter, colour) * drawing.smooth_noise(*quarter, rng, 8, 0.12)[..., None]
    outline = np.zeros(quarter[::-1], np.float32)
    cv2.fillConvexPoly(outline, np.round((corners + offset + 40) / 4).astype(np.int32), 1.0)
    table *= 1.0 - 0.35 * cv2.GaussianBlur(outline, (0, 0), 12)[..., None]  # the sheet's own shadow
    table = cv2.resize(table, (width, height), interpolation=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones((sheet_h, sheet_w), np.float32), homography, (width, height))
    warped = cv2.warpPerspective(sheet, homography, (width, height), flags=cv2.INTER_LINEAR)
    image = cv2.blendLinear(warped.astype(np.float32), table, cover, 1.0 - cover)
    image *= drawing.lighting(width, height, rng, 0.3)[..., None]
    image = drawing.grain(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.4)), rng, rng.uniform(3, 7), cell=2)

    boxes = tuple(_warped_box(g.alpha, x + dx, y + dy, homography) for g, x, y in placements)
    return Sample(drawing.jpeg(image, rng.integers(85, 94)), drawing.text(placements), boxes)


def _warped_box(alpha, x, y, homography):
    """The ink box of a glyph whose top-left sits at (x, y) on the flat sheet, once the sheet is warped."""
    h, w = alpha.shape
    corners = np.float32([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]])
    target = cv2.perspectiveTransform(corners, homography)[0]
    left, top = np.floor(target.min(axis=0)).astype(int)
    right, bottom = np.ceil(target.max(axis=0)).astype(int)
    shift = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]], np.float64)
    place = np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], np.float64)
    patch = cv2.warpPerspective(alpha, shift @ homography @ place, (int(right - left), int(bottom - top)))
    ys, xs = np.nonzero(patch >= drawing.INK)
    return (int(left + xs.min()), int(top + ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1))


def _single(mnist, rng):
    """One big digit on a 280x280 drawing-app canvas, white on black or black on white."""
    size = SINGLE_SIZE
    placements = drawing.fitted(
        lambda h: drawing.line(drawing.glyphs(mnist, rng, 1, h, angle=8.0, crisp=True), rng, h),
        rng.uniform(110, 210), size - 20, size - 20,
    )
    x0, y0, x1, y1 = drawing.extent(placements)
    dx = int(rng.integers(8, size - 8 - (x1 - x0) + 1)) - x0
    dy = int(rng.integers(8, size - 8 - (y1 - y0) + 1)) - y0
    alpha, boxes = drawing.draw(placements, size, size, dx, dy)
    ground, ink = ((0, 0, 0), (255, 255, 255)) if rng.random() < 0.5 else ((255, 255, 255), (0, 0, 0))
    return Sample(drawing.png(drawing.paint(drawing.fill(size, size, ground), alpha, ink)), drawing.text(placements), boxes)


_MAKERS = {
    "clean": _clean,
    "canvas": _canvas,
    "paper": _paper,
    "touching": _touching,
    "multiline": _multiline,
    "photo": _photo,
    "single": _single,
}


KINDS = tuple(_MAKERS)


def generate(kind, images, labels, seed=0, index=0):
    """Sample `index` of `kind` from MNIST test images and labels; the same arguments give the same bytes."""
    rng = np.random.default_rng([seed, KINDS.index(kind), index])
    return _MAKERS[kind]((images, labels), rng)


def number_image(images, labels, seed=0, count=6, size=(1200, 400)):
    """A clean `count`-digit number centred in a fixed-size PNG: the reference image for timing."""
    rng = np.random.default_rng([seed, len(KINDS)])
    width, height = size
    placements = drawing.fitted(
        lambda h: drawing.line(drawing.glyphs((images, labels), rng, count, h), rng, h), 0.5 * height, 0.9 * width, 0.8 * height
    )
    x0, y0, x1, y1 = drawing.extent(placements)
    dx, dy = (width - (x1 - x0)) // 2 - x0, (height - (y1 - y0)) // 2 - y0
    alpha, boxes = drawing.draw(placements, width, height, dx, dy)
    return Sample(drawing.png(drawing.paint(drawing.fill(width, height, drawing.WHITE), alpha, drawing.ink(rng))), drawing.text(placements), boxes)
