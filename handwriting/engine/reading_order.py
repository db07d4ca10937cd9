"""Lines and reading order: blobs grouped into lines top to bottom, each read left to right, measured
along and across the text's own slant."""
import numpy as np

from handwriting.engine.blobs import SHORTEST_DIGIT, typical_height

NEIGHBOUR_SLOPE = 1.2  # a right-hand neighbour lies within 50 degrees of horizontal (tan 50° ≈ 1.2) ...
NEIGHBOUR_REACH = 4  # ... and within this many digit heights
LINE_SPREAD = 0.55  # a blob this share of a digit height across from a line's centre starts a new line


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
    """Lines top to bottom, each left to right, measured along and across the text's own slant,
    so slanted lines, uneven baselines and wide gaps between digits all read in order."""
    angle = text_angle(blobs, height)
    cos, sin = np.cos(angle), np.sin(angle)
    across = {id(b): b.cy * cos - b.cx * sin for b in blobs}
    along = {id(b): b.cx * cos + b.cy * sin for b in blobs}
    lines = []
    for blob in sorted(blobs, key=lambda b: across[id(b)]):
        if lines and abs(across[id(blob)] - np.mean([across[id(o)] for o in lines[-1]])) <= LINE_SPREAD * height:
            lines[-1].append(blob)
        else:
            lines.append([blob])
    return [sorted(line, key=lambda b: along[id(b)]) for line in lines]


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
