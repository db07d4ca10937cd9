"""Separators found by their geometry against their line, on tiny synthetic blobs: digits 40 px tall
standing on a baseline at y = 100."""
import numpy as np
import pytest

from handwriting.engine.blobs import Blob
from handwriting.engine.separators import find, minus, point

HEIGHT, BASELINE = 40, 100


def blob(x, y, w, h):
    return Blob(x, y, w, h, np.full((h, w), 255, np.uint8))


def digit(x, width=24, drop=0):
    return blob(x, BASELINE - HEIGHT + drop, width, HEIGHT)


def mark(x, bottom, w, h):
    """A mark whose bottom edge is `bottom` px below the baseline (negative: above)."""
    return blob(x, BASELINE + bottom - h, w, h)


LEFT, RIGHT = digit(0), digit(40)  # 16 px of paper between them


def at_line_point(where, left, right):
    return point(where, left, right, HEIGHT, BASELINE)


def at_line_minus(where, right):
    return minus(where, right, HEIGHT, BASELINE)


def test_a_dot_on_the_baseline_between_two_digits_is_a_point():
    assert at_line_point(mark(29, 0, 6, 6), LEFT, RIGHT) == "."


def test_a_tick_hanging_below_the_baseline_is_a_comma():
    assert at_line_point(mark(29, 6, 5, 12), LEFT, RIGHT) == ","


@pytest.mark.parametrize("where, why", [
    (mark(29, -20, 6, 6), "at mid-height"),
    (mark(29, -34, 6, 6), "at the top of the digits"),
    (mark(29, 16, 6, 6), "far under the line"),
    (mark(27, 0, 14, 24), "too big: half a digit"),
    (mark(30, 0, 2, 2), "a speck"),
])
def test_other_marks_between_digits_are_no_point(where, why):
    assert at_line_point(where, LEFT, RIGHT) is None, why


def test_a_point_needs_a_digit_on_each_side_close_by():
    assert at_line_point(mark(29, 0, 6, 6), None, RIGHT) is None
    assert at_line_point(mark(29, 0, 6, 6), LEFT, None) is None
    assert at_line_point(mark(29, 0, 6, 6), LEFT, digit(90)) is None  # 55 px of paper after it: not this number's


def test_a_flat_stroke_at_mid_height_before_a_digit_is_a_minus():
    assert at_line_minus(mark(20, -18, 16, 3), RIGHT) == "-"


@pytest.mark.parametrize("where, why", [
    (mark(20, 0, 16, 3), "on the baseline: an underline"),
    (mark(20, -36, 16, 3), "at the top: a bar"),
    (mark(30, -18, 6, 3), "too short: a speck"),
    (mark(-30, -18, 60, 3), "too long: a rule"),
    (mark(20, -14, 16, 10), "not flat"),
    (mark(-10, -18, 16, 3), "too far before the digit"),
    (mark(50, -18, 16, 3), "over the digit, not before it"),
])
def test_other_strokes_are_no_minus(where, why):
    assert at_line_minus(where, RIGHT) is None, why


def test_find_takes_separators_from_the_rejected_marks_and_from_the_lines():
    """-12.5 whose point, drawn with a broad pen, stayed a digit candidate in the line."""
    sign, one, two, dot, five = mark(0, -18, 16, 3), digit(24), digit(56), mark(88, 0, 8, 8), digit(104)
    found = find([[one, two, dot, five]], [sign])
    assert [(s.kind, s.x) for s in sorted(found, key=lambda s: s.x)] == [("-", 0), (".", 88)]


def test_find_measures_the_baseline_near_the_mark_and_the_height_of_the_line():
    """A piece broken off the digit after a minus (the loop of a 9, high on the line) sets neither."""
    loop, stem = blob(30, BASELINE - HEIGHT, 20, 16), digit(32)
    found = find([[loop, stem, digit(64), digit(96)]], [mark(12, -18, 14, 3)])
    assert [s.kind for s in found] == ["-"]


def test_find_measures_each_mark_against_its_own_line():
    """A dot on the baseline of the second line is that line's point, not a mark under the first."""
    upper = [digit(0), digit(40)]
    lower = [blob(d.x, d.y + 60, d.w, d.h) for d in upper]
    found = find([upper, lower], [mark(29, 60, 6, 6)])
    assert [(s.kind, s.y) for s in found] == [(".", BASELINE + 54)]


def test_nothing_is_found_without_lines_or_marks():
    assert find([], [mark(29, 0, 6, 6)]) == ()
    assert find([[LEFT, RIGHT]], []) == ()
