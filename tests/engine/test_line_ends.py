"""Stray marks at the ends of a line, on tiny arrays of heights and probabilities."""
import pytest

from handwriting.engine.line_ends import END_PEERS, END_SHORT, END_UNSURE, stray_ends


def test_a_short_unsure_mark_after_the_digits_is_a_stray():
    assert stray_ends([40, 42, 39, 12], [0.99, 0.98, 0.97, 0.3]).tolist() == [False, False, False, True]


def test_a_short_unsure_mark_before_the_digits_is_a_stray_too():
    assert stray_ends([15, 40, 42, 39], [0.2, 0.99, 0.98, 0.97]).tolist() == [True, False, False, False]


@pytest.mark.parametrize("height, sureness", [
    (12, 0.95),  # a small zero at the end of "15.000", read surely
    (30, 0.2),  # a full-height digit the model is unsure of
])
def test_a_sure_or_tall_end_digit_stays(height, sureness):
    assert not stray_ends([40, 42, 39, height], [0.99, 0.98, 0.97, sureness]).any()


def test_a_short_mark_inside_the_line_is_not_an_end():
    assert not stray_ends([40, 10, 42, 39], [0.99, 0.1, 0.98, 0.97]).any()


def test_too_few_digits_leave_nothing_to_measure_by():
    assert not stray_ends([40] * END_PEERS, [0.99] * END_PEERS).any()
    assert not stray_ends([40, 5], [0.99, 0.1]).any()


def test_the_bounds_are_strict():
    heights = [40, 40, 40, END_SHORT * 40]
    assert not stray_ends(heights, [1, 1, 1, 0.1]).any()
    assert not stray_ends([40, 40, 40, 10], [1, 1, 1, END_UNSURE]).any()


def test_an_empty_line_has_no_strays():
    assert stray_ends([], []).shape == (0,)
