"""Marks of ink as blobs: connected components of the ink mask, the pieces of broken digits merged,
and the typical digit height every other size is measured against."""
from dataclasses import dataclass

import cv2
import numpy as np

from handwriting.engine.normalisation import stroke_width

SHORTEST_DIGIT = 0.6  # a digit stands at least this share of the typical height: shorter blobs count as this tall
FLAT_RATIO = 3  # a mark wider than this many times its height is flat: a line remnant or an underline
HUGE = 2.5  # a mark taller than this many typical digits is not one (filters refuse it; it sets no height)
SPECK_SHARE = 0.006  # a mark whose longest side is under this share of the image is a speck ...
SPECK_MIN = 3  # ... or under this many pixels (or with fewer pixels of ink)
PAGE_EDGE = 0.5  # a mark at the border longer than this share of the image is a page edge ...
EDGE_PEER = 0.5  # ... but one in a photo beside another mark as tall within this ratio is a digit of a tight crop ...
EDGE_ALONG = 0.5  # ... unless it runs along the border for this share of its length
# The three below were chosen on ORAND-CAR-A's training amounts and the stress benchmark at seed 1:
# the marks taken for edges on the amounts (a run of touching zeros, a first digit cut by the crop)
# stood 0.25-3.95 times as wide as tall, filled 0.18-0.44 of their box with strokes at most 0.19 of
# its shorter side; the sheet edges of the stress photos are lines, corners and outlines. The same
# test tells a flat run of touching digits from a line's remains (typical_height). On the tuning
# pages of held-out digits a step either side of each changed no page; on the amounts, 2 at most, lost.
WRITING_ASPECT = (0.2, 4.0)  # a mark this wide for its height, a 1 to four touching 0s, ...
WRITING_FILL = 0.15  # ... filling at least this share of its box (an edge's corner or outline fills less) ...
WRITING_STROKE = 0.25  # ... with strokes thinner than this share of its shorter side (a wedge of table is solid) is writing
STACK_OVERLAP = 0.5  # pieces of one digit overlap by this share of the narrower one's width ...
STACK_GAP = 0.3  # ... with a vertical gap under this share of the typical height ...
STACK_SHARED = 0.3  # ... or sharing under this share of the shorter one's rows ...
STACK_HEIGHT = 1.5  # ... and standing no taller than this many typical heights together
JOIN_WIDTH = 0.8  # a flat mark narrower than this share of the typical height may still be a digit's piece


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


def cut_by_border(x, y, w, h, shape):
    """Whether a box reaches the border of an image of this shape."""
    return x == 0 or y == 0 or x + w == shape[1] or y + h == shape[0]


def components(mask, flat, contrast):
    """Connected components as blobs, without specks and without page edges (page_edges). Each blob
    keeps how dark its ink is (from `contrast`): the soft edges and faint ends of strokes tell a 7
    from a 2 that lost its foot."""
    height, width = mask.shape
    # Only the box around the ink is labelled: the statistics cost as much per pixel of background.
    left, top, box_w, box_h = cv2.boundingRect(mask)
    if box_w == 0:
        return []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask[top:top + box_h, left:left + box_w], connectivity=8)
    stats[:, 0] += left
    stats[:, 1] += top
    min_side = max(SPECK_MIN, SPECK_SHARE * max(height, width))
    marks = [i for i in range(1, count) if max(stats[i, 2], stats[i, 3]) >= min_side and stats[i, 4] >= min_side]
    edges = page_edges(marks, stats, labels, (left, top), mask.shape, flat)
    blobs = []
    for i in marks:
        if i in edges:
            continue
        x, y, w, h, _ = stats[i]
        bx, by = x - left, y - top
        strength = np.clip(contrast[y:y + h, x:x + w] * 255, 1, 255)
        mask_i = np.where(labels[by:by + h, bx:bx + w] == i, strength, 0).astype(np.uint8)
        blobs.append(Blob(int(x), int(y), int(w), int(h), mask_i))
    return blobs


def page_edges(marks, stats, labels, offset, shape, flat):
    """The labels of `marks` (rows of OpenCV's component `stats`, pixels in `labels` at `offset`)
    that are page edges: marks cut by the border and longer than PAGE_EDGE of the picture, wide
    ones in any image and tall ones in a photo. In a photo, one shaped like writing (`written`) is
    a digit of a number cropped tightly, as a cheque's amount is, whose first and last digits, and
    any that touch its top or bottom, reach the border, and whose touching zeros may span most of
    its width; so is any other beside a mark about as tall, unless it lies along the border. In a
    drawing, or across the whole width, or flat, such a mark is a rule or a sheet's edge."""
    height, width = shape
    edges = set()
    for i in marks:
        x, y, w, h, _ = stats[i]
        wide, tall = w > PAGE_EDGE * width, h > PAGE_EDGE * height and not flat
        if not (wide or tall) or not cut_by_border(x, y, w, h, shape):
            continue
        own = labels[y - offset[1]: y - offset[1] + h, x - offset[0]: x - offset[0] + w] == i
        if not flat and written(own):
            continue
        if wide and (flat or w == width or w > FLAT_RATIO * h):
            edges.add(i)
        elif not any(EDGE_PEER * h <= stats[j, 3] <= h / EDGE_PEER for j in marks if j != i):
            edges.add(i)
        elif _along_border(own, stats[i], shape, wide, tall):
            edges.add(i)
    return edges


def written(own, aspect=WRITING_ASPECT, fill=WRITING_FILL, stroke=WRITING_STROKE):
    """Whether a mark (`own`: a boolean mask of its box) is shaped like writing rather than a sheet's
    edge or a line's remains: its box within `aspect` (width over height), its ink filling at least
    `fill` of the box, in strokes thinner than `stroke` of the box's shorter side. Those are straight
    lines, corners or outlines, or solid regions beyond the sheet."""
    height, width = own.shape
    if not aspect[0] <= width / height <= aspect[1] or np.count_nonzero(own) < fill * own.size:
        return False
    return stroke_width(own) < stroke * min(height, width)


def _along_border(rows, stat, shape, wide, tall):
    """Whether a long mark (`rows`: its pixels in its own box) runs along the border for EDGE_ALONG
    of its length, as a sheet's edge does where a digit only touches it: down a side when it is
    tall, along the top or bottom when it is wide."""
    x, y, w, h, _ = stat
    sides = np.count_nonzero(rows[:, 0]) * (x == 0) + np.count_nonzero(rows[:, -1]) * (x + w == shape[1])
    ends = np.count_nonzero(rows[0]) * (y == 0) + np.count_nonzero(rows[-1]) * (y + h == shape[0])
    return (tall and sides >= EDGE_ALONG * h) or (wide and ends >= EDGE_ALONG * w)


def typical_height(blobs):
    """Ink-weighted median height: big strokes count, dots and specks barely do, and flat marks
    (the remains of a ruled line, an underline) not at all, unless shaped like writing (`written`):
    a run of touching digits, an amount's "36006" in one mark, is as flat, and beside it only the
    specks would be left to set the height. Nor does a thin upright line not shaped like writing
    that stands over HUGE times as tall as the writing beside it: a sheet's edge on a table
    can hold more ink than all the digits on the sheet, and with its height every digit was refused
    as too small. A 1 is as thin, but no taller than its neighbours."""
    blobs = [b for b in blobs if b.w <= FLAT_RATIO * b.h or written(b.mask > 0)] or blobs
    if not blobs:
        return 0.0
    lines = [b for b in blobs if b.h > FLAT_RATIO * b.w and not written(b.mask > 0)]
    drawn = {id(b) for b in lines}
    rest = [b for b in blobs if id(b) not in drawn]
    if lines and rest:
        beside = _weighted_median(rest)
        edges = {id(b) for b in lines if b.h > HUGE * beside}
        # Shape is asked last, of the rest, only when some line stands that tall: most pages have none.
        if edges and any(written(b.mask > 0) for b in rest):
            blobs = [b for b in blobs if id(b) not in edges]
    return _weighted_median(blobs)


def _weighted_median(blobs):
    """The height at half the blobs' ink, counted from the shortest."""
    heights = np.array([b.h for b in blobs], float)
    weights = np.array([np.count_nonzero(b.mask) for b in blobs], float)
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def union(a, b):
    """One blob of the ink of two."""
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
        overlap >= STACK_OVERLAP * min(a.w, b.w)
        and -STACK_GAP * height <= vertical <= STACK_SHARED * min(a.h, b.h)
        and merged <= STACK_HEIGHT * height
    )


def _joinable(blob, height):
    """Flat marks as long as a digit is tall are lines, not pieces of a digit."""
    return blob.w <= FLAT_RATIO * blob.h or blob.w < JOIN_WIDTH * height


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

