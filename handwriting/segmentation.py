"""Find the handwritten digits in an image with OpenCV.

The steps run one way: grey working image -> ink contrast (polarity and lighting removed) ->
binary ink mask without ruled lines -> connected components -> fragments merged, marks rejected
-> lines and reading order. Every size is relative to the image or to the typical digit height.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from handwriting.normalisation import stroke_width


MAX_BLOBS = 300
MIN_CUT_WIDTH = 0.8  # blobs narrower than this many digit heights are read whole, never cut
MAX_CUTS = 12  # candidate cuts per blob: the cost of reading a blob grows with their square
GLANCE_SIDE = 400  # longest side of the first look at an image
GLANCE_HEIGHT = 48  # digits this tall at the first look are read there (the model sees 20 px)
GLANCE_PEN = 3.0  # ... when their strokes are at least this wide there, so thin pens keep their ink


@dataclass(frozen=True)
class Blob:
    """One digit candidate in working-image pixels, with its own ink (not its neighbours')."""

    x: int
    y: int
    w: int
    h: int
    mask: np.ndarray  # (h, w) uint8: the ink's strength where it is (1-255), 0 elsewhere

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2


@dataclass(frozen=True)
class Segmentation:
    lines: list  # list of lists of Blob, top to bottom, each left to right
    scale: float  # working pixels per input pixel
    digit_height: float  # typical digit height in working pixels


def working_grey(rgb, working_side):
    """Grey image no larger than working_side on its longest side, and its scale."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, working_side / max(grey.shape))
    if scale < 1.0:
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey, scale


def cut_by_border(x, y, w, h, shape):
    """Whether a box reaches the border of an image of this shape."""
    return x == 0 or y == 0 or x + w == shape[1] or y + h == shape[0]


def _stroke_widths():
    """Stroke width of a blob, each measured once and only when a test asks: most images need none."""
    known = {}

    def width_of(blob):
        if id(blob) not in known:
            known[id(blob)] = stroke_width(blob.mask)
        return known[id(blob)]

    return width_of


def _sample(image, size=100_000):
    """An evenly strided subset of the pixels: enough for a percentile, far cheaper than all."""
    step = max(1, int(np.sqrt(image.size / size)))
    return image[::step, ::step].ravel()


def dark_ink(grey, flat):
    """The image with ink darker than the background. A drawing's background is its most common
    value, so the ink is on the other side of it. A photo is of ink on paper unless it is mostly
    dark, mostly lighter detail, and its thin strokes (top-hats) are light too and lie on dark
    ground, as chalk on a board does: a bright sheet on a darker table must not flip it, although
    its corners and the paper between small dark strokes are light detail as well."""
    pixels = _sample(grey)
    if flat:
        mode = int(np.bincount(pixels, minlength=256).argmax())
        ink = pixels[np.abs(pixels.astype(np.int16) - mode) > 32]
        return 255 - grey if ink.size and ink.mean() > mode else grey
    median = float(np.median(pixels))
    low, high = np.percentile(pixels, (1, 99))
    delta = max(0.25 * (high - low), 8.0)
    if median >= 100 or np.count_nonzero(pixels > median + delta) <= 3 * np.count_nonzero(pixels < median - delta):
        return grey
    scale = min(1.0, 600 / max(grey.shape))
    size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    strong = max(delta, 20.0)
    dark = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, kernel) > strong
    light = cv2.morphologyEx(small, cv2.MORPH_TOPHAT, kernel) > strong
    if np.count_nonzero(light) <= 2 * np.count_nonzero(dark):
        return grey
    side = max(3, max(small.shape) // 8)
    ground = cv2.blur(small, (side, side))[light | dark]
    return 255 - grey if float(ground.mean()) < (low + high) / 2 else grey


def _otsu(values):
    threshold, _ = cv2.threshold(values.reshape(-1, 1).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return threshold


def is_flat(grey):
    """A drawing or a clean scan, where a fifth or more of the pixels share one exact value,
    rather than a photograph under uneven light."""
    pixels = _sample(grey)
    return bool(np.bincount(pixels, minlength=256).max() >= 0.2 * pixels.size)


def ink_contrast(grey, flat):
    """Per-pixel ink strength in [-1, 1] relative to the local paper (below 0: paper lighter than
    its estimate, which measures the noise), for a grey image with dark ink (see dark_ink)."""
    pixels = _sample(grey)
    g = grey.astype(np.float32)
    if flat:
        level = max(float(np.median(pixels[pixels >= _otsu(pixels)])), 1.0)
        return np.clip((level - g) / level, -1, 1)
    # Paper under uneven light: close away strokes at a quarter of the size, then divide.
    factor = 4
    small = cv2.resize(g, (max(1, g.shape[1] // factor), max(1, g.shape[0] // factor)), interpolation=cv2.INTER_AREA)
    k = max(5, int(max(g.shape) / 12 / factor) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    background = cv2.blur(background, (k, k))
    background = cv2.resize(background, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
    paper = float(np.median(background))
    contrast = np.clip((background - g) / np.maximum(background, max(0.5 * paper, 1.0)), -1, 1)
    return contrast * (1 - _surroundings(small, paper, k, g.shape))


def _surroundings(small, paper, k, shape):
    """1 over the table, floor or shadow around the sheet: large regions much darker than the
    paper that reach the border of the photo, grown by a closing window to cover their edge."""
    dark = (cv2.blur(small, (k, k)) < 0.5 * paper).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    h, w = dark.shape
    keep = np.zeros(count, np.uint8)
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area > 0.02 * h * w and cut_by_border(x, y, bw, bh, dark.shape):
            keep[i] = 1
    region = cv2.dilate(keep[labels], cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.resize(region, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(np.float32)


def binarise(contrast, flat):
    """Hysteresis threshold: strong ink seeds, weak ink attached to it; keeps thin pencil strokes
    without keeping the faint text that shows through from the back of the page. Ruled lines are
    erased from the weak ink first, so that a line touching a digit cannot carry its ink along."""
    pixels = _sample(contrast)
    # Ink only darkens: the spread of the paper lighter than its estimate is the noise alone.
    lighter = pixels[pixels < 0]
    noise = 1.4826 * float(np.median(-lighter)) if lighter.size > 0.05 * pixels.size else 0.0
    strongest = float(np.percentile(pixels, 99.9))
    high = max(0.45 * strongest, 0.12, 6 * noise)
    low = max(0.5 * high, 0.06, 3 * noise)
    weak = erase_lines((contrast > low).astype(np.uint8) * 255, flat)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[np.unique(labels[contrast > high])] = True
    seeded[0] = False
    return (seeded.astype(np.uint8) * 255)[labels]


def find_lines(mask, flat):
    """The ink of ruled and grid lines: short straight runs that chain, with small gaps and a
    little slant, across much of the page. Horizontal only for drawings, where a long vertical
    stroke is more likely a 1 than a margin; in a drawing a single long bar is a digit's, so
    ruled paper there needs two lines or more."""
    height, width = mask.shape
    lines = np.zeros_like(mask)
    directions = [(True, width, 0.8 if flat else 0.3)]
    if not flat:
        directions.append((False, height, 0.6))
    for horizontal, extent, span in directions:
        run = max(9, extent // 60)
        reach = max(15, extent // 15)
        straight = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, run) if horizontal else (run, 1), np.uint8))
        if not straight.any():
            continue
        chained = cv2.dilate(straight, np.ones((5, reach) if horizontal else (reach, 5), np.uint8))
        # A chain spans no more columns (rows) than all chains cover together: in most images none
        # is long enough, and then nothing needs labelling.
        if np.count_nonzero(chained.any(axis=0 if horizontal else 1)) < span * extent + reach - 1:
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(chained, connectivity=8)
        side = stats[:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT]
        candidates = np.flatnonzero(side >= span * extent + reach - 1)
        ys, xs = np.nonzero(straight)
        owner = labels[ys, xs]
        along, across = (xs, ys) if horizontal else (ys, xs)
        fits = [
            fit for i in candidates[candidates > 0]
            if (fit := _line_fit(along[owner == i], across[owner == i], extent))
        ]
        if not fits or (flat and len(fits) < 2):
            continue
        # A ruled line runs across the whole page: where it fades under uneven light its pieces
        # are too short to chain, but they lie on the line found where it is darker. Refitted
        # to them, the line stays on them however far they are.
        # Lines are measured one by one: under shadow or ink one may be thicker than the rest.
        by_thickness = {}  # thickness -> which straight pixels lie on lines that thick
        for fit, tolerance in fits:
            for _ in range(2):
                on_line = np.abs(across - np.polyval(fit, along)) <= tolerance
                fit = np.polyfit(along[on_line], across[on_line], 1)
            on_line = np.abs(across - np.polyval(fit, along)) <= tolerance
            # Measured on the band the line crosses, rows across it, not on the whole page.
            offset = across[on_line].min()
            band = np.zeros((across[on_line].max() - offset + 1, extent), bool)
            band[across[on_line] - offset, along[on_line]] = True
            thickness = _run_length(band) + 2
            by_thickness[thickness] = by_thickness.get(thickness, False) | on_line
        for thickness, chosen in by_thickness.items():
            found = np.zeros(mask.shape, bool)
            found[ys[chosen], xs[chosen]] = True
            # The line's ink: along it (short pieces between strokes too) and across its thickness.
            kernel = (thickness + 2, 2 * run + 1) if horizontal else (2 * run + 1, thickness + 2)
            grown = cv2.bitwise_and(cv2.dilate(found.astype(np.uint8) * 255, np.ones(kernel, np.uint8)), mask)
            # Where a stroke crosses or lies on the line, the ink is thicker than the line: keep it.
            thick = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((thickness, 1) if horizontal else (1, thickness), np.uint8))
            lines = cv2.bitwise_or(lines, cv2.bitwise_and(grown, cv2.bitwise_not(thick)))
    return lines


def _run_length(pixels):
    """Mean length of the vertical runs of a boolean image: the thickness of horizontal lines."""
    starts = np.count_nonzero(pixels[0]) + np.count_nonzero(pixels[1:] & ~pixels[:-1])
    return max(1, round(np.count_nonzero(pixels) / max(starts, 1)))


_SLOPES = np.linspace(-0.2, 0.2, 41)  # up to about 11 degrees off the axis


def _line_fit(along, across, extent):
    """A chain of runs (its pixels' coordinates along and across the direction searched) is a
    ruled line when one straight line through it is covered along most of the chain's length:
    then that line's polynomial and how far from it its pixels lie, else None. The line is the
    slope and offset that most pixels agree on (a small Hough vote), as the thick strokes of
    digits a line crosses or carries can outnumber its own pixels; bars of digits that merely
    line up cover too little, and the band along the edge of a sheet is too thick."""
    if along.size < 2:
        return None
    step = max(1, along.size // 2000)
    a, c = along[::step].astype(np.float64), across[::step].astype(np.float64)
    offsets = np.round((c[None, :] - _SLOPES[:, None] * a[None, :]) / 3).astype(np.int64)
    offsets -= offsets.min()
    votes = [np.bincount(row) for row in offsets]
    best = int(np.argmax([v.max() for v in votes]))
    near = offsets[best] == np.argmax(votes[best])
    if np.ptp(a[near]) == 0:
        return None
    fit = np.polyfit(a[near], c[near], 1)
    distance = np.abs(across - np.polyval(fit, along))
    tolerance = max(3.0, 0.01 * np.ptp(along))
    if len(np.unique(along[distance <= tolerance])) < 0.6 * (np.ptp(along) + 1):
        return None
    # Thin, as ruled lines are: the band around a sheet's edge in a photo is as wide as a digit.
    counts = np.bincount(along[distance <= 20] - along.min())
    if float(np.median(counts[counts > 0])) > max(7.0, 0.006 * extent):
        return None
    return fit, tolerance


def erase_lines(mask, flat):
    """Remove the ink of ruled lines, then bridge the strokes that crossed them over the gap."""
    lines = find_lines(mask, flat)
    if not lines.any():
        return mask
    kept = cv2.bitwise_and(mask, cv2.bitwise_not(lines))
    # The gap to bridge is one line's thickness (a column crosses many lines: not their sum).
    ink = lines > 0
    size = min(_run_length(ink), _run_length(ink.T)) + 4
    closed = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return cv2.bitwise_or(kept, cv2.bitwise_and(closed, lines))


def components(mask, flat, contrast):
    """Connected components as blobs, without specks and without page edges: long marks along the
    border of a photo, or across the whole width of a drawing. Each blob keeps how dark its ink is
    (from `contrast`): the soft edges and faint ends of strokes tell a 7 from a 2 that lost its foot."""
    height, width = mask.shape
    # Only the box around the ink is labelled: the statistics cost as much per pixel of background.
    left, top, box_w, box_h = cv2.boundingRect(mask)
    if box_w == 0:
        return []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask[top:top + box_h, left:left + box_w], connectivity=8)
    min_side = max(3, 0.006 * max(height, width))
    blobs = []  # (ink area, blob)
    for i in range(1, count):
        bx, by, w, h, area = stats[i]
        x, y = bx + left, by + top
        if max(w, h) < min_side or area < min_side:
            continue
        if cut_by_border(x, y, w, h, mask.shape) and (w > 0.5 * width or (h > 0.5 * height and not flat)):
            continue
        strength = np.clip(contrast[y:y + h, x:x + w] * 255, 1, 255)
        mask_i = np.where(labels[by:by + h, bx:bx + w] == i, strength, 0).astype(np.uint8)
        blobs.append((int(area), Blob(int(x), int(y), int(w), int(h), mask_i)))
    # A page of noise is thousands of specks: keep the biggest, so the time stays bounded.
    return [blob for _, blob in sorted(blobs, key=lambda pair: -pair[0])][:MAX_BLOBS]


def typical_height(blobs):
    """Ink-weighted median height: big strokes count, dots and specks barely do, and flat marks
    (the remains of a ruled line, an underline) not at all."""
    blobs = [b for b in blobs if b.w <= 3 * b.h] or blobs
    if not blobs:
        return 0.0
    heights = np.array([b.h for b in blobs], float)
    weights = np.array([np.count_nonzero(b.mask) for b in blobs], float)
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def union(a, b):
    x, y = min(a.x, b.x), min(a.y, b.y)
    w, h = max(a.x + a.w, b.x + b.w) - x, max(a.y + a.h, b.y + b.h) - y
    mask = np.zeros((h, w), np.uint8)
    for blob in (a, b):
        region = mask[blob.y - y: blob.y - y + blob.h, blob.x - x: blob.x - x + blob.w]
        np.maximum(region, blob.mask, out=region)
    return Blob(x, y, w, h, mask)


def _belongs(a, b, height):
    """Two pieces of one digit: stacked with little vertical overlap and a small gap (a 5's flag,
    a 4's stem, a stroke cut by a ruled line), one mostly above or below the other."""
    overlap = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    vertical = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    merged = max(a.y + a.h, b.y + b.h) - min(a.y, b.y)
    return (
        overlap >= 0.5 * min(a.w, b.w)
        and -0.3 * height <= vertical <= 0.3 * min(a.h, b.h)
        and merged <= 1.5 * height
    )


def _joinable(blob, height):
    """Flat marks as long as a digit is tall are lines, not pieces of a digit."""
    return blob.w <= 3 * blob.h or blob.w < 0.8 * height


def merge_fragments(blobs, height):
    """Join the pieces of broken digits, biggest first, each absorbing the smaller pieces that
    belong to it; long flat marks never join, so that the remains of ruled lines cannot grow into
    a tall false digit."""
    blobs = sorted(blobs, key=lambda b: -np.count_nonzero(b.mask))
    merged = []
    taken = [False] * len(blobs)
    for i, blob in enumerate(blobs):
        if taken[i]:
            continue
        grew = _joinable(blob, height)
        while grew:
            grew = False
            for j in range(i + 1, len(blobs)):
                if not taken[j] and _joinable(blobs[j], height) and _belongs(blob, blobs[j], height):
                    blob, taken[j], grew = union(blob, blobs[j]), True, True
        merged.append(blob)
    return merged


def plausible(blob, height, shape):
    """Shape tests relative to the typical digit: no specks, dashes, underlines or huge marks, no
    small mark cut by the border of the picture, and no thin stroke shorter than half a digit (a
    stray stroke or a piece broken off a digit, which the model would read as a 1)."""
    if cut_by_border(blob.x, blob.y, blob.w, blob.h, shape) and blob.h < 0.6 * height:
        return False
    if blob.h < 0.5 * height and blob.w < 0.3 * height:
        return False
    if blob.h < 0.35 * height and blob.w > 2 * blob.h:
        return False
    return blob.h <= 2.5 * height


def text_angle(blobs, height):
    """The slant of the lines: the median direction from each blob to its nearest right-hand
    neighbour within 50 degrees of horizontal."""
    angles = []
    for a in blobs:
        nearest = None
        for b in blobs:
            dx, dy = b.cx - a.cx, b.cy - a.cy
            distance = np.hypot(dx, dy)
            if dx > 0 and abs(dy) <= 1.2 * dx and distance <= 4 * max(a.h, b.h, 0.6 * height):
                if nearest is None or distance < nearest[0]:
                    nearest = (distance, np.arctan2(dy, dx))
        if nearest:
            angles.append(nearest[1])
    return float(np.median(angles)) if angles else 0.0


def group_lines(blobs, height):
    """Lines top to bottom, each left to right, measured along and across the text's own slant,
    so slanted lines, uneven baselines and wide gaps between digits all read in order."""
    angle = text_angle(blobs, height)
    cos, sin = np.cos(angle), np.sin(angle)
    across = {id(b): b.cy * cos - b.cx * sin for b in blobs}
    along = {id(b): b.cx * cos + b.cy * sin for b in blobs}
    lines = []
    for blob in sorted(blobs, key=lambda b: across[id(b)]):
        if lines and abs(across[id(blob)] - np.mean([across[id(o)] for o in lines[-1]])) <= 0.55 * height:
            lines[-1].append(blob)
        else:
            lines.append([blob])
    return [sorted(line, key=lambda b: along[id(b)]) for line in lines]


def _frames(blobs, shape, width_of):
    """Blobs a third of the picture or more beside two or more much smaller upright marks, when
    they enclose them or their line is far thinner than their size or far thicker than the marks':
    the edge of a sheet, its shadow or a box drawn around digits, not a digit (which may hold a
    speck or a line remnant in a loop)."""
    def smaller(inner, outer):
        return inner is not outer and inner.w <= 3 * inner.h and inner.h < 0.5 * outer.h

    def inside(inner, outer):
        return (outer.x <= inner.x and outer.y <= inner.y and inner.x + inner.w <= outer.x + outer.w
                and inner.y + inner.h <= outer.y + outer.h)

    def outline(blob, marks):
        width = width_of(blob)
        pen = float(np.median([width_of(b) for b in marks]))
        return width < 0.02 * max(blob.w, blob.h) or width > 3 * pen

    frames = set()
    for a in blobs:
        if a.w > 0.3 * shape[1] and a.h > 0.3 * shape[0]:
            marks = [b for b in blobs if smaller(b, a)]
            if sum(inside(b, a) for b in marks) >= 2 or (len(marks) >= 2 and outline(a, marks)):
                frames.add(id(a))
    return frames


def _background_patches(blobs, shape, width_of):
    """Solid marks cut by the border of the picture, many times thicker than the pen: the table or
    floor between a sheet and the edge of the photo, not ink. The pen is the thinner quarter of
    the marks, so that a few patches cannot redefine it."""
    cut = [b for b in blobs if cut_by_border(b.x, b.y, b.w, b.h, shape)]
    if not cut or len(blobs) < 2:
        return set()
    pen = float(np.percentile([width_of(b) for b in blobs], 25))
    return {id(b) for b in cut if width_of(b) > 3 * pen}


def on_an_edge(blob, grey):
    """A thin upright mark with much darker ground on one side than on the other: a piece of the
    edge of a sheet against the table, not a 1 written on the sheet (paper on both sides)."""
    if blob.w >= 0.5 * blob.h:
        return False
    reach = max(3, blob.h // 4)
    rows = grey[blob.y: blob.y + blob.h]
    left = rows[:, max(0, blob.x - reach): max(0, blob.x - 1)]
    right = rows[:, blob.x + blob.w + 1: blob.x + blob.w + reach]
    if left.size == 0 or right.size == 0:
        return False
    sides = sorted((float(np.median(left)), float(np.median(right))))
    return sides[0] < 0.6 * sides[1]


def on_dark_ground(blob, dark):
    """Ink is darker than the paper all around it. A mark with a quarter of its surroundings as
    dark as itself is a piece of the table, floor or shadow around a photographed sheet."""
    reach = max(2, round(0.004 * max(dark.shape)))
    top, left = max(0, blob.y - reach), max(0, blob.x - reach)
    region = dark[top: blob.y + blob.h + reach, left: blob.x + blob.w + reach]
    ink = np.zeros(region.shape, np.uint8)
    ink[blob.y - top: blob.y - top + blob.h, blob.x - left: blob.x - left + blob.w] = blob.mask > 0
    ring = cv2.dilate(ink, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > ink
    if not ring.any():
        return False
    return float(np.percentile(region[ring], 25)) <= 1.1 * float(np.median(region[ink > 0]))


def cut_candidates(blob, height):
    """Columns where a blob of touching digits may be cut: minima of the ink profile and, for
    overlaps without a minimum, even divisions of the width. Empty for a blob too narrow to hold two."""
    h = max(blob.h, 0.6 * height)
    if blob.w < MIN_CUT_WIDTH * h:
        return []
    profile = cv2.GaussianBlur((blob.mask > 0).sum(axis=0).astype(np.float32).reshape(1, -1), (0, 0), max(1.0, 0.03 * h)).ravel()
    margin = 0.2 * h
    cuts = [
        x for x in range(1, blob.w - 1)
        if profile[x] <= profile[x - 1] and profile[x] <= profile[x + 1] and margin <= x <= blob.w - margin
    ]
    pieces = min(max(2, round(blob.w / (0.7 * h))), MAX_CUTS)  # a hair-thin line is no row of 1,000 digits
    for n in range(2, pieces + 2):
        cuts.extend(round(blob.w * k / n) for k in range(1, n))
    kept = []
    for x in sorted(cuts, key=lambda c: profile[min(max(c, 0), blob.w - 1)]):
        if len(kept) == MAX_CUTS:
            break
        if margin <= x <= blob.w - margin and all(abs(x - k) >= 0.12 * h for k in kept):
            kept.append(x)
    return sorted(kept)


MIN_SLANT = 0.08  # shear (x per y) below which cuts stay straight columns
MAX_SLANT = 0.5


def slant(blob):
    """How far the blob's strokes lean, as x per y: the regression of x on y over its ink, which
    side-by-side digits do not disturb. 0 when they stand nearly upright."""
    moments = cv2.moments(blob.mask, binaryImage=True)
    if moments["mu02"] <= 0:
        return 0.0
    shear = float(np.clip(moments["mu11"] / moments["mu02"], -MAX_SLANT, MAX_SLANT))
    return shear if abs(shear) >= MIN_SLANT else 0.0


def sheared_columns(blob, shear):
    """Each pixel's column once the blob is sheared upright (x - shear * (y - centre), shifted to
    start at 0), and the sheared blob: cuts found on its columns follow the slant of the digits."""
    ys, xs = np.indices(blob.mask.shape, dtype=np.float32)
    centre = (blob.h - 1) / 2
    offset = abs(shear) * centre
    columns = xs - shear * (ys - centre) + offset
    width = int(np.ceil(blob.w + 2 * offset))
    matrix = np.float32([[1, -shear, shear * centre + offset], [0, 1, 0]])
    mask = cv2.warpAffine(blob.mask, matrix, (width, blob.h), flags=cv2.INTER_NEAREST, borderValue=0)
    return columns, Blob(blob.x, blob.y, width, blob.h, mask)


def segment(rgb, working_side=1600):
    """All digit candidates of an RGB image, grouped into lines in reading order. OpenCV's work
    grows with the pixels while the model sees 20 px per digit, so a first look at GLANCE_SIDE px
    is kept when it shows a drawing or clean scan whose digits already stand GLANCE_HEIGHT px tall
    with strokes GLANCE_PEN px wide. Smaller or finer writing is looked at again at working_side,
    and so is every photograph: at a glance, the edge and shadow of a sheet look like big digits."""
    grey, scale = working_grey(rgb, working_side)
    step = -(-max(grey.shape) // GLANCE_SIDE)
    if step > 1 and min(grey.shape) >= step:
        # A whole step: OpenCV averages k x k blocks several times faster than any other ratio.
        small = cv2.resize(grey, None, fx=1 / step, fy=1 / step, interpolation=cv2.INTER_AREA)
        if is_flat(small):  # a photograph is read at working_side whatever the glance shows
            glance = _segment_grey(small, scale / step, True)
            if glance.digit_height >= GLANCE_HEIGHT:
                pens = [stroke_width(blob.mask) for line in glance.lines for blob in line]
                if np.median(pens) >= GLANCE_PEN:
                    return glance
    return _segment_grey(grey, scale, is_flat(grey))


def _segment_grey(grey, scale, flat):
    dark = dark_ink(grey, flat)
    contrast = ink_contrast(dark, flat)
    blobs = components(binarise(contrast, flat), flat, contrast)
    width_of = _stroke_widths()
    dropped = _frames(blobs, grey.shape, width_of) | _background_patches(blobs, grey.shape, width_of)
    blobs = [
        b for b in blobs
        if id(b) not in dropped and not on_an_edge(b, grey) and (flat or not on_dark_ground(b, dark))
    ]
    blobs = merge_fragments(blobs, typical_height(blobs))
    height = typical_height(blobs)
    blobs = [b for b in blobs if plausible(b, height, grey.shape)]
    return Segmentation(group_lines(blobs, height), scale, height)
