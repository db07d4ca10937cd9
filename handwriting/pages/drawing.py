"""Drawing for the benchmark images: MNIST digits as ink coverage, laid out in lines (apart or
touching), painted on paper, canvas or a table, lit unevenly, and encoded as PNG or JPEG."""
from typing import NamedTuple

import cv2
import numpy as np

INK = 0.5  # coverage from which a pixel counts as ink, for the true boxes
INKS = ((20, 20, 28), (30, 45, 140), (70, 70, 74))  # black, blue ballpoint, dark grey; RGB
WHITE = (255, 255, 255)


class Glyph(NamedTuple):
    alpha: np.ndarray  # float32 ink coverage in [0, 1]
    box: tuple  # (x, y, w, h) of the ink inside alpha
    digit: int


def glyph(image, digit, height, rng, angle=5.0, shear=0.0, crisp=False):
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


def glyphs(mnist, rng, count, height, **style):
    """`count` random test digits, each within 10 % of `height`."""
    images, labels = mnist
    picks = rng.integers(0, len(labels), count)
    return [glyph(images[i], int(labels[i]), height * rng.uniform(0.9, 1.1), rng, **style) for i in picks]


def line(glyphs, rng, height, gap=(0.15, 0.6), wobble=0.04, slope=0.0):
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


def touching_line(mnist, rng, count, height, wobble=0.03, tries=8):
    """`count` glyphs in a line, each slid left until its ink touches the ink already placed, then a
    few pixels further. One that would tuck far under its neighbour (a 3 under the bar of a 7) is
    redrawn, up to `tries` times, so that the digits touch rather than nest."""
    placements = []
    while len(placements) < count:
        for _ in range(tries):
            glyph = glyphs(mnist, rng, 1, height, angle=4.0)[0]
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


def extent(placements):
    """(x0, y0, x1, y1) around every placed glyph, faint edges included."""
    x0 = min(x for _, x, _ in placements)
    y0 = min(y for _, _, y in placements)
    x1 = max(x + g.alpha.shape[1] for g, x, _ in placements)
    y1 = max(y + g.alpha.shape[0] for g, _, y in placements)
    return x0, y0, x1, y1


def fitted(build, height, max_width, max_height):
    """The layout `build(height)` makes, rebuilt smaller until it fits max_width x max_height."""
    while True:
        placements = build(height)
        x0, y0, x1, y1 = extent(placements)
        if x1 - x0 <= max_width and y1 - y0 <= max_height:
            return placements
        height *= 0.9


def draw(placements, width, height, dx, dy):
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


def framed(placements, rng, margin):
    """The glyphs drawn with a random margin, in `margin` px, on each side."""
    x0, y0, x1, y1 = extent(placements)
    left, top, right, bottom = (round(rng.uniform(*margin)) for _ in range(4))
    return draw(placements, x1 - x0 + left + right, y1 - y0 + top + bottom, left - x0, top - y0)


def text(placements):
    return "".join(str(glyph.digit) for glyph, _, _ in placements)


def ink(rng):
    return np.array(INKS[rng.integers(len(INKS))], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)


def fill(width, height, colour):
    return np.broadcast_to(np.asarray(colour, np.float32), (height, width, 3)).copy()


def paint(background, alpha, colour):
    """Ink of `colour` with coverage `alpha` laid over a float RGB background."""
    cover = alpha[..., None]
    return background * (1.0 - cover) + np.asarray(colour, np.float32) * cover


def smooth_noise(width, height, rng, cells, depth):
    """Slow random variation around 1 by up to `depth`: paper fibre, table grain, uneven light."""
    coarse = rng.uniform(1.0 - depth, 1.0 + depth, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def lighting(width, height, rng, depth):
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


def grain(image, rng, sigma, cell=1):
    """Sensor noise, alike on all channels; `cell` > 1 makes it coarser, and cheaper, as a phone's
    demosaicking and denoising do."""
    height, width = image.shape[:2]
    noise = rng.standard_normal((-(-height // cell), -(-width // cell)), dtype=np.float32) * np.float32(sigma)
    if cell > 1:
        noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
    return image + noise[..., None]


def uint8(image):
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def png(image):
    code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return cv2.imencode(".png", cv2.cvtColor(uint8(image), code))[1].tobytes()


def jpeg(image, quality):
    bgr = cv2.cvtColor(uint8(image), cv2.COLOR_RGB2BGR)
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1].tobytes()
