"""Short stray marks in a line, on tiny arrays of heights and probabilities."""
import pytest

from handwriting.engine.short_marks import PEERS, SHORT, UNSURE, strays


def test_a_short_unsure_mark_after_the_digits_is_a_stray():
    assert strays([40, 42, 39, 12], [0.99, 0.98, 0.97, 0.3]).tolist() == [False, False, False, True]


def test_a_short_unsure_mark_before_the_digits_is_a_stray_too():
    assert strays([15, 40, 42, 39], [0.2, 0.99, 0.98, 0.97]).tolist() == [True, False, False, False]


def test_a_short_unsure_mark_between_digits_is_a_separator_not_a_digit():
    assert strays([40, 10, 42, 39], [0.99, 0.1, 0.98, 0.97]).tolist() == [False, True, False, False]


@pytest.mark.parametrize("height, sureness", [
    (12, 0.95),  # a small zero in "15.000", read surely
    (30, 0.2),  # a full-height digit the model is unsure of
])
@pytest.mark.parametrize("where", [1, 3])
def test_a_sure_or_tall_digit_stays_wherever_it_stands(height, sureness, where):
    heights, sureness_of = [40, 42, 39, 41], [0.99, 0.98, 0.97, 0.96]
    heights[where], sureness_of[where] = height, sureness
    assert not strays(heights, sureness_of).any()


def test_too_few_digits_leave_nothing_to_measure_by():
    assert not strays([40] * PEERS, [0.99] * PEERS).any()
    assert not strays([40, 5], [0.99, 0.1]).any()


def test_the_bounds_are_strict():
    heights = [40, 40, 40, SHORT * 40]
    assert not strays(heights, [1, 1, 1, 0.1]).any()
    assert not strays([40, 40, 40, 10], [1, 1, 1, UNSURE]).any()


def test_an_empty_line_has_no_strays():
    assert strays([], []).shape == (0,)
