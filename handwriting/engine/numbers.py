"""Numbers as people write them: the digits of each line, with their separators, grouped by the paper
between them.

Grouping. Along a line, in reading order, digits and separators (reading.Separator: a decimal point
or comma, a minus sign) follow one another; a new number starts where the paper between two
neighbours is wider than NUMBER_GAP times the line's digit height and wider than SPACING times the
line's other gaps (their median), so that a writer who spaces every digit widely still writes one
number. Both were chosen on the stress benchmark's layout_two_numbers at seed 1, with the classic
synthetic benchmark at seed 0 as numbers that must stay whole, and checked on seeds 0 and 2 and on
the real-world folder; on the tuning pages of held-out digits (reports/stress/tuning_recheck.md) a
step either side of either changed no page. A separator belongs to the line of the digit nearest to
it. Within a number, a point or comma counts only between two digits, and a minus sign only before
its first digit; any other separator, and any separator the model read as a digit, is left out. A
digit hidden by min_confidence is written "?".

Value. `value(text)` is the number a text means, or None:
- digits alone are an integer: "042" is 42; a leading "-" makes it negative.
- one kind of mark (. or ,) that groups thousands, that is a first group of 1-3 digits and every
  mark followed by exactly three digits, is a thousands separator: "1.000" and "1,000" are both
  1000, "12.345.678" is 12345678. Three decimals after one mark read the same way.
- otherwise a single mark is the decimal mark, point or comma: "12.50" is 12.5, "3,5" is 3.5.
- both marks: the last one, written once, is the decimal mark, and the other must group thousands
  before it: "1.234,56" and "1,234.56" are both 1234.56.
- anything else ("1.2.3", "1,23,456", a hidden digit "1?5", more than PRECISE_DIGITS significant
  digits, which a double or a JavaScript number would not hold exactly) has no value: None.
"""
import math
import re
from dataclasses import dataclass, replace

import numpy as np

NUMBER_GAP = 1.25  # paper wider than this many digit heights between neighbours parts two numbers ...
SPACING = 2.0  # ... when it is also this many times as wide as the line's other gaps
SAME_MARK = 0.5  # a separator whose box overlaps a digit's by this intersection over union is that digit
PRECISE_DIGITS = 15  # significant digits a double holds exactly
POINTS = ".,"
_WRITTEN = re.compile(r"-?\d+([.,]\d+)*")


@dataclass(frozen=True)
class Number:
    text: str  # as written: "-", digits ("?" where hidden), "." and ","
    value: object  # int, float or None (see value())
    box: object  # reading.Box around its digits and separators
    line: int
    confidence: float  # the product of its digits' probabilities
    digits: tuple  # indices of its digits in the reading's digits


def value(text):
    """The number `text` means by the rule of the module's docstring, or None."""
    if not _WRITTEN.fullmatch(text):
        return None
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("-")
    marks = [c for c in body if c in POINTS]
    groups = re.split(r"[.,]", body)
    if len(set(marks)) == 2 or (marks and not _thousands(groups)):
        if marks.count(marks[-1]) > 1 or not _thousands(groups[:-1]):
            return None
        whole, fraction = "".join(groups[:-1]), groups[-1]
    else:
        whole, fraction = "".join(groups), ""
    if len((whole + fraction).lstrip("0")) > PRECISE_DIGITS:
        return None
    if fraction:
        return sign * float(f"{whole}.{fraction}") + 0.0  # + 0.0: no "-0.0"
    return sign * int(whole)


def _thousands(groups):
    """Whether digit groups parted by marks are thousands: 1-3 digits, then threes."""
    return len(groups) == 1 or (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]))


def _overlap(a, b):
    shared = a.overlap(b)
    return shared / (a.width * a.height + b.width * b.height - shared)


def _distance(box, x, y):
    """From a point to a box, 0 inside it."""
    return math.hypot(max(box.x - x, 0, x - box.x - box.width), max(box.y - y, 0, y - box.y - box.height))


def _union(boxes):
    """The box around boxes, of their own type (reading.Box)."""
    left, top = min(b.x for b in boxes), min(b.y for b in boxes)
    right, bottom = max(b.x + b.width for b in boxes), max(b.y + b.height for b in boxes)
    return replace(boxes[0], x=left, y=top, width=right - left, height=bottom - top)


def group(digits, separators, hidden=()):
    """The numbers of a reading, in reading order: `digits` are its Digits in reading order (each with
    its line), `separators` its reading.Separators, `hidden` the indices of the digits written "?"."""
    if not digits:
        return ()
    hidden = set(hidden)
    lines = {}
    for i, digit in enumerate(digits):
        lines.setdefault(digit.line, []).append(i)
    placed = {line: [] for line in lines}
    for separator in separators:
        box = separator.box
        if any(_overlap(box, d.box) >= SAME_MARK for d in digits):
            continue
        cx, cy = box.centre
        nearest = min(range(len(digits)), key=lambda i: _distance(digits[i].box, cx, cy))
        placed[digits[nearest].line].append(separator)
    numbers = []
    for line in sorted(lines):
        for run in _runs(digits, lines[line], placed[line]):
            numbers.append(_number(digits, run, line, hidden))
    return tuple(n for n in numbers if n is not None)


def _runs(digits, indices, separators):
    """The line's digits (indices) and separators left to right, parted where the paper is wide."""
    height = float(np.median([digits[i].box.height for i in indices]))
    centres = [digits[i].box.centre[0] for i in indices]
    keyed = [((k, 1, 0.0), (digits[i].box, i)) for k, i in enumerate(indices)]
    for separator in separators:  # before the first digit whose centre lies right of its own
        centre = separator.box.centre[0]
        keyed.append(((sum(c < centre for c in centres), 0, centre), (separator.box, separator.kind)))
    elements = [element for _, element in sorted(keyed, key=lambda pair: pair[0])]
    gaps = [b.x - (a.x + a.width) for (a, _), (b, _) in zip(elements, elements[1:])]
    runs = [[elements[0]]]
    for k, element in enumerate(elements[1:]):
        others = gaps[:k] + gaps[k + 1:]
        usual = max(float(np.median(others)), 0.0) if others else 0.0
        if gaps[k] > NUMBER_GAP * height and gaps[k] > SPACING * usual:
            runs.append([])
        runs[-1].append(element)
    return runs


def _number(digits, run, line, hidden):
    """The Number of one run of elements, its stray separators left out; None without a digit."""
    kept = []
    for k, (box, item) in enumerate(run):
        after = k + 1 < len(run) and isinstance(run[k + 1][1], int)
        if isinstance(item, int):
            kept.append((box, item))
        elif item == "-" and not kept and after:
            kept.append((box, item))
        elif item in POINTS and kept and isinstance(kept[-1][1], int) and after:
            kept.append((box, item))
    indices = tuple(item for _, item in kept if isinstance(item, int))
    if not indices:
        return None
    text = "".join(item if isinstance(item, str) else "?" if item in hidden else str(digits[item].digit)
                   for _, item in kept)
    confidence = float(np.prod([digits[i].probability for i in indices]))
    return Number(text, value(text), _union([box for box, _ in kept]), line, confidence, indices)
