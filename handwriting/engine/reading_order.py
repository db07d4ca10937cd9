"""Lines and reading order: blobs grouped into lines top to bottom, each read left to right, measured
along and across the text's own slant."""
import math

import numpy as np

from handwriting.engine.blobs import SHORTEST_DIGIT, typical_height

NEIGHBOUR_SLOPE = 1.2  # a right-hand neighbour lies within 50 degrees of horizontal (tan 50° ≈ 1.2) ...
NEIGHBOUR_REACH = 4  # ... and within this many digit heights
LINE_SPREAD = 0.55  # a blob this share of a digit height across from a row's centre starts a new row (the caps)
LINE_OVERLAP = 0.2  # neighbours overlapping across the slant by this share of the shorter's height share a line ...
LINE_EXTENT = 2.0  # ... unless it would stand more digit heights across than this: two lines stand more
BEYOND_TALLER = 0.2  # ... and more than this share of a digit height beyond the taller line's own extent
# (LINE_OVERLAP's share; 0.1 and 0.4 read the tuning pages alike): an amount's big first digit holds its
# smaller digits within its height
LINE_FIT = 3  # blobs a line needs for its own slant to count
PIECES = 1.2  # marks standing within this many digit heights across may be pieces of one digit: one line


def text_angle(blobs, height):
    """The slant of the lines: the median direction from each blob to its nearest right-hand
    neighbour within 50 degrees of horizontal."""
    angles = []
    for a in blobs:
        nearest = None
        for b in blobs:
            dx, dy = b.cx - a.cx, b.cy - a.cy
            distance = np.hypot(dx, dy)
            if dx > 0 and abs(dy) <= NEIGHBOUR_SLOPE * dx and (
                distance <= NEIGHBOUR_REACH * max(a.h, b.h, SHORTEST_DIGIT * height)
            ):
                if nearest is None or distance < nearest[0]:
                    nearest = (distance, np.arctan2(dy, dx))
        if nearest:
            angles.append(nearest[1])
    return float(np.median(angles)) if angles else 0.0


def group_lines(blobs, height):
    """Lines top to bottom, each left to right, measured along and across the text's own slant.
    The slant is first that of neighbours (text_angle), then, once blobs are chained into lines,
    that of the lines themselves (line_angle), which digits at staggered heights do not sway."""
    angle = text_angle(blobs, height)
    angle = line_angle(chain(blobs, angle, height, math.inf), angle)
    lines = chain(blobs, angle, height, LINE_EXTENT * height)
    cos, sin = np.cos(angle), np.sin(angle)
    return sorted(lines, key=lambda line: np.mean([b.cy * cos - b.cx * sin for b in line]))


def chain(blobs, angle, height, widest):
    """Blobs chained into lines, each left to right along `angle`: each blob joins its nearest
    right-hand blob whose extent across the slant overlaps its own by LINE_OVERLAP of the shorter's
    height, or which stands with it within PIECES digit heights across (two pieces of a broken
    digit), unless their lines would together stand more than `widest` px across and beyond the
    taller's own extent (`one_line`). Digits written at staggered heights stay one line, and so do
    small digits beside a big one; close lines, whose digits do not overlap, stay apart, and one
    mark touching two lines does not join them. Lines that follow one another along,
    overlapping across by LINE_OVERLAP digit heights, are then one line within the same width: a
    chain broken by a digit written high, or low, goes on further along. `height`: the typical
    digit height."""
    cos, sin = np.cos(angle), np.sin(angle)
    top = [b.cy * cos - b.cx * sin - b.h / 2 for b in blobs]
    bottom = [t + b.h for t, b in zip(top, blobs)]
    along = [b.cx * cos + b.cy * sin for b in blobs]
    order = sorted(range(len(blobs)), key=lambda i: along[i])
    root = list(range(len(blobs)))
    extent = [[t, b] for t, b in zip(top, bottom)]  # of each line, kept at its root

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for k, i in enumerate(order):
        for j in order[k + 1:]:
            shared = min(bottom[i], bottom[j]) - max(top[i], top[j])
            together = max(bottom[i], bottom[j]) - min(top[i], top[j])
            if shared < LINE_OVERLAP * min(blobs[i].h, blobs[j].h) and together > PIECES * height:
                continue
            a, b = find(i), find(j)
            joined = [min(extent[a][0], extent[b][0]), max(extent[a][1], extent[b][1])]
            if a != b and one_line(extent[a], extent[b], widest, height):
                root[b], extent[a] = a, joined
            break
    chains = {}
    for i in order:
        chains.setdefault(find(i), []).append(i)
    lines = []  # [members, extent], each chain appended to the line it follows, else its own
    for members in sorted(chains.values(), key=lambda m: along[m[0]]):
        low, high = extent[find(members[0])]
        best = None
        for line in lines:
            shared = min(line[1][1], high) - max(line[1][0], low)
            if (along[line[0][-1]] < along[members[0]] and shared >= LINE_OVERLAP * height
                    and one_line(line[1], [low, high], widest, height)):
                if best is None or shared > best[0]:
                    best = (shared, line)
        if best is None:
            lines.append([members, [low, high]])
        else:
            line = best[1]
            line[0] = line[0] + members
            line[1] = [min(line[1][0], low), max(line[1][1], high)]
    return [[blobs[i] for i in members] for members, _ in lines]


def one_line(first, second, widest, height, beyond=BEYOND_TALLER):
    """Whether two lines standing across from `first` and `second` ([top, bottom] each) may be one:
    together within `widest`, or hardly beyond the taller's own extent (`beyond` of the digit
    `height`), as an amount's small digits stand within its big first one; two lines one above the
    other stand a whole line beyond either."""
    together = max(first[1], second[1]) - min(first[0], second[0])
    taller = max(first[1] - first[0], second[1] - second[0])
    return together <= widest or together <= taller + beyond * height


def line_angle(lines, fallback):
    """The slant of lines of at least LINE_FIT blobs: the median direction between any two blobs of
    a line (Theil-Sen), where far pairs outvote a near pair's uneven baselines; `fallback` without."""
    angles = [np.arctan2(b.cy - a.cy, b.cx - a.cx) for line in lines if len(line) >= LINE_FIT
              for k, a in enumerate(line) for b in line[k + 1:] if b.cx > a.cx]
    return float(np.median(angles)) if angles else fallback


def first_in_reading_order(blobs, limit):
    """The first `limit` blobs in reading order, and whether any was left out. Rows are grouped as
    group_lines groups lines, but level: measuring the slant costs the square of the marks, and a
    page of noise has thousands."""
    if len(blobs) <= limit:
        return list(blobs), False
    height = typical_height(blobs)
    rows = []  # [sum of the centres' heights, members]
    for blob in sorted(blobs, key=lambda b: b.cy):
        if rows and abs(blob.cy - rows[-1][0] / len(rows[-1][1])) <= LINE_SPREAD * height:
            rows[-1][0] += blob.cy
            rows[-1][1].append(blob)
        else:
            rows.append([blob.cy, [blob]])
    ordered = [blob for _, row in rows for blob in sorted(row, key=lambda b: b.cx)]
    return ordered[:limit], True


def keep_first(lines, limit):
    """The first `limit` blobs of these lines in reading order, lines left empty dropped: a page of
    noise costs bounded time, and what is read is the page's beginning, whatever the digits' sizes."""
    kept = []
    for line in lines:
        if limit <= 0:
            break
        kept.append(line[:limit])
        limit -= len(kept[-1])
    return kept
