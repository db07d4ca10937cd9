"""Benchmark images composed from MNIST test digits, each with its true text and digit boxes.

Every sample is a pure function of (kind, seed, index), so a failure seen in a benchmark can be
regenerated on its own. Only the test split is used: the model never trained on these digits.
"""
from typing import NamedTuple

import cv2
import numpy as np

INK = 0.5  # coverage from which a pixel counts as ink, for the true boxes
PHOTO_SIZE = (4000, 3000)
SINGLE_SIZE = 280
_INKS = ((20, 20, 28), (30, 45, 140), (70, 70, 74))  # black, blue ballpoint, dark grey; RGB
_TABLES = ((120, 85, 55), (95, 95, 100), (60, 70, 90), (150, 130, 105))  # wood, grey, blue-grey, oak; RGB
_WHITE = (255, 255, 255)


class Sample(NamedTuple):
    data: bytes  # the encoded image
    text: str  # the digits in reading order, lines joined by "\n", as Reading.text writes them
    boxes: tuple  # ((x, y, w, h), ...) per digit in the same order, each from that digit's own ink


class Glyph(NamedTuple):
    alpha: np.ndarray  # float32 ink coverage in [0, 1]
    box: tuple  # (x, y, w, h) of the ink inside alpha
    digit: int


def _glyph(image, digit, height, rng, angle=5.0, shear=0.0, crisp=False):
    """One MNIST digit as ink coverage about `height` px tall, a little rotated, thickened or thinned.
    `crisp` gives the hard edges of a canvas brush instead of the soft ones of a pen on paper."""
    ys, xs = np.nonzero(image)
    crop = np.pad(image[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1], 2).astype(np.float32) / 255.0
    scale = height / 20.0  # MNIST fits every digit in 20x20, so one scale keeps their proportions
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    grey = cv2.resize(crop, size, interpolation=int(rng.choice([cv2.INTER_CUBIC, cv2.INTER_LINEAR])))

    theta = np.deg2rad(rng.uniform(-angle, angle))
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    matrix = turn @ np.array([[1.0, -shear], [0.0, 1.0]])
    corners = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], float) @ matrix.T
    low, high = corners.min(axis=0), corners.max(axis=0)
    affine = np.hstack([matrix, -low[:, None]])
    grey = cv2.warpAffine(grey, affine, tuple(int(v) for v in np.ceil(high - low)), flags=cv2.INTER_LINEAR)

    roll = rng.random()
    side = max(3, round(height / 40) | 1)
    if roll < 0.15:
        grey = cv2.dilate(grey, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    elif roll < 0.35 and height >= 60:  # thin strokes only where they are wide enough to survive
        grey = cv2.erode(grey, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))

    if crisp:
        low_edge, high_edge = rng.uniform(0.3, 0.4), rng.uniform(0.55, 0.65)
    else:
        low_edge, high_edge = rng.uniform(0.1, 0.3), rng.uniform(0.55, 0.75)
    alpha = np.clip((grey - low_edge) / (high_edge - low_edge), 0.0, 1.0)
    ys, xs = np.nonzero(alpha > 0.01)
    alpha = alpha[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    ys, xs = np.nonzero(alpha >= INK)
    box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    return Glyph(alpha, box, digit)


def _glyphs(mnist, rng, count, height, **style):
    """`count` random test digits, each within 10 % of `height`."""
    images, labels = mnist
    picks = rng.integers(0, len(labels), count)
    return [_glyph(images[i], int(labels[i]), height * rng.uniform(0.9, 1.1), rng, **style) for i in picks]


def _line(glyphs, rng, height, gap=(0.15, 0.6), wobble=0.04, slope=0.0):
    """Placements (glyph, x, y) left to right, separated by `gap` and with their ink bottoms on a
    baseline through y=0 that climbs with `slope`; gap and wobble are in units of `height`."""
    placements, cursor = [], 0.0
    for glyph in glyphs:
        bx, by, bw, bh = glyph.box
        base = slope * cursor + rng.uniform(-wobble, wobble) * height
        placements.append((glyph, round(cursor - bx), round(base - by - bh)))
        cursor += bw + rng.uniform(*gap) * height
    return placements


def _contact(placed, glyph, y):
    """The smallest x at which `glyph`, at height y, lies right of every placed ink row by row; its ink
    then abuts theirs. None when no row holds ink of both."""
    mask = glyph.alpha >= INK
    has, left = mask.any(axis=1), mask.argmax(axis=1)
    best = None
    for other, ox, oy in placed:
        theirs = other.alpha >= INK
        right = theirs.shape[1] - 1 - theirs[:, ::-1].argmax(axis=1)
        top, bottom = max(y, oy), min(y + len(mask), oy + len(theirs))
        if top >= bottom:
            continue
        mine, their = slice(top - y, bottom - y), slice(top - oy, bottom - oy)
        both = has[mine] & theirs[their].any(axis=1)
        if both.any():
            candidate = int((ox + right[their] - left[mine])[both].max()) + 1
            best = candidate if best is None else max(best, candidate)
    return best


def _touching_line(mnist, rng, count, height, wobble=0.03, tries=8):
    """`count` glyphs in a line, each slid left until its ink touches the ink already placed, then a
    few pixels further. One that would tuck far under its neighbour (a 3 under the bar of a 7) is
    redrawn, up to `tries` times, so that the digits touch rather than nest."""
    placements = []
    while len(placements) < count:
        for _ in range(tries):
            glyph = _glyphs(mnist, rng, 1, height, angle=4.0)[0]
            bx, by, bw, bh = glyph.box
            y = round(rng.uniform(-wobble, wobble) * height - by - bh)
            if not placements:
                x = -bx
                break
            previous, px, _ = placements[-1]
            abut = px + previous.box[0] + previous.box[2] - bx  # boxes touch, inks may not yet
            contact = _contact(placements, glyph, y)
            overlap = int(rng.integers(0, max(1, round(0.05 * height)) + 1))
            x = min(abut, abut if contact is None else contact) - overlap
            if abut - x <= overlap + max(2.0, 0.25 * min(bw, previous.box[2])):
                break
        placements.append((glyph, x, y))
    return placements


def _extent(placements):
    """(x0, y0, x1, y1) around every placed glyph, faint edges included."""
    x0 = min(x for _, x, _ in placements)
    y0 = min(y for _, _, y in placements)
    x1 = max(x + g.alpha.shape[1] for g, x, _ in placements)
    y1 = max(y + g.alpha.shape[0] for g, _, y in placements)
    return x0, y0, x1, y1


def _fitted(build, height, max_width, max_height):
    """The layout `build(height)` makes, rebuilt smaller until it fits max_width x max_height."""
    while True:
        placements = build(height)
        x0, y0, x1, y1 = _extent(placements)
        if x1 - x0 <= max_width and y1 - y0 <= max_height:
            return placements
        height *= 0.9


def _draw(placements, width, height, dx, dy):
    """Merge the glyphs, moved by (dx, dy), into a width x height coverage map; with their ink boxes."""
    alpha = np.zeros((height, width), np.float32)
    boxes = []
    for glyph, x, y in placements:
        x, y = x + dx, y + dy
        h, w = glyph.alpha.shape
        view = alpha[y: y + h, x: x + w]
        np.maximum(view, glyph.alpha, out=view)
        bx, by, bw, bh = glyph.box
        boxes.append((x + bx, y + by, bw, bh))
    return alpha, tuple(boxes)


def _framed(placements, rng, margin):
    """The glyphs drawn with a random margin, in `margin` px, on each side."""
    x0, y0, x1, y1 = _extent(placements)
    left, top, right, bottom = (round(rng.uniform(*margin)) for _ in range(4))
    return _draw(placements, x1 - x0 + left + right, y1 - y0 + top + bottom, left - x0, top - y0)


def _text(placements):
    return "".join(str(glyph.digit) for glyph, _, _ in placements)


def _ink(rng):
    return np.array(_INKS[rng.integers(len(_INKS))], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)


def _fill(width, height, colour):
    return np.broadcast_to(np.asarray(colour, np.float32), (height, width, 3)).copy()


def _paint(background, alpha, colour):
    """Ink of `colour` with coverage `alpha` laid over a float RGB background."""
    cover = alpha[..., None]
    return background * (1.0 - cover) + np.asarray(colour, np.float32) * cover


def _smooth_noise(width, height, rng, cells, depth):
    """Slow random variation around 1 by up to `depth`: paper fibre, table grain, uneven light."""
    coarse = rng.uniform(1.0 - depth, 1.0 + depth, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def _lighting(width, height, rng, depth):
    """A smooth brightness map: a fall-off in a random direction and, half the time, a soft shadow."""
    small_w, small_h = max(2, width // 16), max(2, height // 16)
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    xs, ys = xs / small_w, ys / small_h
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xs + np.sin(angle) * ys
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = 1.0 - depth * rng.uniform(0.5, 1.0) * ramp
    if rng.random() < 0.5:  # as of a hand or a phone between the lamp and the sheet
        angle = rng.uniform(0, 2 * np.pi)
        edge = np.cos(angle) * xs + np.sin(angle) * ys - rng.uniform(0.3, 0.9)
        light *= 1.0 - rng.uniform(0.1, 0.25) / (1.0 + np.exp(-edge / rng.uniform(0.03, 0.15)))
    return cv2.resize(light.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def _grain(image, rng, sigma, cell=1):
    """Sensor noise, alike on all channels; `cell` > 1 makes it coarser, and cheaper, as a phone's
    demosaicking and denoising do."""
    height, width = image.shape[:2]
    noise = rng.standard_normal((-(-height // cell), -(-width // cell)), dtype=np.float32) * np.float32(sigma)
    if cell > 1:
        noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
    return image + noise[..., None]


def _uint8(image):
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _png(image):
    code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return cv2.imencode(".png", cv2.cvtColor(_uint8(image), code))[1].tobytes()


def _jpeg(image, quality):
    bgr = cv2.cvtColor(_uint8(image), cv2.COLOR_RGB2BGR)
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1].tobytes()


def _clean(mnist, rng):
    """Dark ink on white, 3-8 separated digits 40-120 px tall."""
    height = rng.uniform(42, 105)  # each digit varies by 10 % around it
    placements = _line(_glyphs(mnist, rng, int(rng.integers(3, 9)), height), rng, height)
    alpha, boxes = _framed(placements, rng, (0.3 * height, 1.2 * height))
    image = _paint(_fill(alpha.shape[1], alpha.shape[0], _WHITE), alpha, _ink(rng))
    return Sample(_png(image), _text(placements), boxes)


def _canvas(mnist, rng):
    """A browser canvas export: white strokes on opaque black, or dark strokes on full transparency."""
    height = rng.uniform(50, 150)
    glyphs = _glyphs(mnist, rng, int(rng.integers(1, 7)), height, angle=6.0, crisp=True)
    placements = _line(glyphs, rng, height, gap=(0.2, 0.8), wobble=0.06)
    alpha, boxes = _framed(placements, rng, (0.3 * height, 1.2 * height))
    opacity = alpha[..., None] * 255.0
    if rng.random() < 0.5:
        image = np.concatenate([np.repeat(opacity, 3, axis=2), np.full_like(opacity, 255.0)], axis=2)
    else:
        colour = np.where(alpha[..., None] > 0, _ink(rng), 0.0)
        image = np.concatenate([colour, opacity], axis=2)
    return Sample(_png(image), _text(placements), boxes)


def _paper(mnist, rng):
    """A number sitting on a ruled notebook line, right of a red margin, lit unevenly, saved as JPEG."""
    spacing = rng.uniform(55, 120)
    height = spacing * rng.uniform(0.65, 0.8)
    placements = _line(_glyphs(mnist, rng, int(rng.integers(3, 9)), height, angle=4.0), rng, height, wobble=0.03)
    x0, y0, x1, y1 = _extent(placements)
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
    background = paper.astype(np.float32) * _smooth_noise(width, image_height, rng, 12, 0.03)[..., None]

    alpha, boxes = _draw(placements, width, image_height, start - x0, baseline)
    image = _paint(background, alpha, _ink(rng)) * _lighting(width, image_height, rng, 0.25)[..., None]
    image = _grain(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.8)), rng, rng.uniform(2, 5))
    return Sample(_jpeg(image, rng.integers(75, 86)), _text(placements), boxes)


def _touching(mnist, rng):
    """Dark ink on white, 2-4 digits whose strokes touch or overlap by a few pixels."""
    height = rng.uniform(50, 110)
    placements = _touching_line(mnist, rng, int(rng.integers(2, 5)), height)
    alpha, boxes = _framed(placements, rng, (0.3 * height, 1.0 * height))
    image = _paint(_fill(alpha.shape[1], alpha.shape[0], _WHITE), alpha, _ink(rng))
    return Sample(_png(image), _text(placements), boxes)


def _multiline(mnist, rng):
    """2-3 lines of 2-6 digits on white, with uneven baselines, slanted strokes and sloping lines."""
    height = rng.uniform(40, 100)
    shear = rng.uniform(-0.15, 0.15)
    placements, texts, bottom = [], [], None
    for _ in range(int(rng.integers(2, 4))):
        glyphs = _glyphs(mnist, rng, int(rng.integers(2, 7)), height, angle=4.0, shear=shear)
        slope = np.tan(np.deg2rad(rng.uniform(-3, 3)))
        line = _line(glyphs, rng, height, wobble=0.08, slope=slope)
        top = min(y + g.box[1] for g, _, y in line)
        shift = 0 if bottom is None else round(bottom + rng.uniform(0.35, 0.9) * height - top)
        indent = round(rng.uniform(0, 1.0) * height)
        line = [(g, x + indent, y + shift) for g, x, y in line]
        bottom = max(y + g.box[1] + g.box[3] for g, _, y in line)
        placements += line
        texts.append(_text(line))
    alpha, boxes = _framed(placements, rng, (0.3 * height, 1.2 * height))
    tint = rng.uniform(240, 255, 3)
    image = _paint(_fill(alpha.shape[1], alpha.shape[0], tint), alpha, _ink(rng))
    return Sample(_png(image), "\n".join(texts), boxes)


def _photo(mnist, rng):
    """A 12-MP phone photo: a sheet with a number, tilted in perspective on a darker table, in JPEG."""
    width, height = PHOTO_SIZE
    sheet_w, sheet_h = round(width * rng.uniform(0.55, 0.8)), round(height * rng.uniform(0.6, 0.82))
    count = int(rng.integers(2, 9))
    placements = _fitted(
        lambda h: _line(_glyphs(mnist, rng, count, h, angle=5.0), rng, h),
        rng.uniform(85, 215), 0.84 * sheet_w, 0.6 * sheet_h,  # 80-250 px once each digit varies by 10 %
    )
    x0, y0, x1, y1 = _extent(placements)
    dx = round(rng.uniform(0.08 * sheet_w, sheet_w - 0.08 * sheet_w - (x1 - x0))) - x0
    dy = round(rng.uniform(0.1 * sheet_h, sheet_h - 0.1 * sheet_h - (y1 - y0))) - y0
    alpha, _ = _draw(placements, sheet_w, sheet_h, dx, dy)
    paper = _fill(sheet_w, sheet_h, rng.uniform(235, 252) * rng.uniform(0.98, 1.0, 3))
    sheet = _uint8(_paint(paper * _smooth_noise(sheet_w, sheet_h, rng, 10, 0.02)[..., None], alpha, _ink(rng)))

    flat = np.float32([[0, 0], [sheet_w, 0], [sheet_w, sheet_h], [0, sheet_h]])
    theta = np.deg2rad(rng.uniform(-5, 5))
    turn = np.float32([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    corners = (flat - flat.mean(axis=0)) @ turn.T + rng.uniform(-0.025, 0.025, (4, 2)).astype(np.float32) * sheet_w
    low, high = corners.min(axis=0), corners.max(axis=0)
    offset = rng.uniform(-low + 20, np.float32([width, height]) - high - 20)
    homography = cv2.getPerspectiveTransform(flat, (corners + offset).astype(np.float32))

    quarter = (width // 4, height // 4)  # the table is smooth, so it is made small and enlarged
    colour = np.array(_TABLES[rng.integers(len(_TABLES))]) * rng.uniform(0.6, 1.2)
    table = _fill(*quarter, colour) * _smooth_noise(*quarter, rng, 8, 0.12)[..., None]
    outline = np.zeros(quarter[::-1], np.float32)
    cv2.fillConvexPoly(outline, np.round((corners + offset + 40) / 4).astype(np.int32), 1.0)
    table *= 1.0 - 0.35 * cv2.GaussianBlur(outline, (0, 0), 12)[..., None]  # the sheet's own shadow
    table = cv2.resize(table, (width, height), interpolation=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones((sheet_h, sheet_w), np.float32), homography, (width, height))
    warped = cv2.warpPerspective(sheet, homography, (width, height), flags=cv2.INTER_LINEAR)
    image = cv2.blendLinear(warped.astype(np.float32), table, cover, 1.0 - cover)
    image *= _lighting(width, height, rng, 0.3)[..., None]
    image = _grain(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.4)), rng, rng.uniform(3, 7), cell=2)

    boxes = tuple(_warped_box(g.alpha, x + dx, y + dy, homography) for g, x, y in placements)
    return Sample(_jpeg(image, rng.integers(85, 94)), _text(placements), boxes)


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
    ys, xs = np.nonzero(patch >= INK)
    return (int(left + xs.min()), int(top + ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1))


def _single(mnist, rng):
    """One big digit on a 280x280 drawing-app canvas, white on black or black on white."""
    size = SINGLE_SIZE
    placements = _fitted(
        lambda h: _line(_glyphs(mnist, rng, 1, h, angle=8.0, crisp=True), rng, h),
        rng.uniform(110, 210), size - 20, size - 20,
    )
    x0, y0, x1, y1 = _extent(placements)
    dx = int(rng.integers(8, size - 8 - (x1 - x0) + 1)) - x0
    dy = int(rng.integers(8, size - 8 - (y1 - y0) + 1)) - y0
    alpha, boxes = _draw(placements, size, size, dx, dy)
    ground, ink = ((0, 0, 0), (255, 255, 255)) if rng.random() < 0.5 else ((255, 255, 255), (0, 0, 0))
    return Sample(_png(_paint(_fill(size, size, ground), alpha, ink)), _text(placements), boxes)


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
    placements = _fitted(
        lambda h: _line(_glyphs((images, labels), rng, count, h), rng, h), 0.5 * height, 0.9 * width, 0.8 * height
    )
    x0, y0, x1, y1 = _extent(placements)
    dx, dy = (width - (x1 - x0)) // 2 - x0, (height - (y1 - y0)) // 2 - y0
    alpha, boxes = _draw(placements, width, height, dx, dy)
    return Sample(_png(_paint(_fill(width, height, _WHITE), alpha, _ink(rng))), _text(placements), boxes)
