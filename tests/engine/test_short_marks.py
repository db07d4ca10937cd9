"""Short stray marks, on tiny arrays of heights, probabilities and line numbers."""
import pytest

from handwriting.engine.short_marks import PEERS, SHORT, UNSURE, strays


def _one_line(heights, sureness):
    return strays(heights, sureness, [0] * len(heights)).tolist()


def test_a_short_unsure_mark_after_the_digits_is_a_stray():
    assert _one_line([40, 42, 39, 12], [0.99, 0.98, 0.97, 0.3]) == [False, False, False, True]


def test_a_short_unsure_mark_before_the_digits_is_a_stray_too():
    assert _one_line([15, 40, 42, 39], [0.2, 0.99, 0.98, 0.97]) == [True, False, False, False]


def test_a_short_unsure_mark_between_digits_is_a_separator_not_a_digit():
    assert _one_line([40, 10, 42, 39], [0.99, 0.1, 0.98, 0.97]) == [False, True, False, False]


@pytest.mark.parametrize("height, sureness", [
    (12, 0.95),  # a small zero in "15.000", read surely
    (30, 0.2),  # a full-height digit the model is unsure of
])
@pytest.mark.parametrize("where", [1, 3])
def test_a_sure_or_tall_digit_stays_wherever_it_stands(height, sureness, where):
    heights, sureness_of = [40, 42, 39, 41], [0.99, 0.98, 0.97, 0.96]
    heights[where], sureness_of[where] = height, sureness
    assert not any(_one_line(heights, sureness_of))


def test_a_tick_on_a_line_of_its_own_is_measured_by_the_page():
    assert strays([40, 42, 12], [0.99, 0.98, 0.3], [0, 0, 1]).tolist() == [False, False, True]


def test_a_short_mark_alone_on_its_line_is_a_stray_however_sure():
    # a dot or a smudge's stroke the model names a sure 1, on a line of its own under the number
    assert strays([40, 42, 12], [0.99, 0.98, 0.98], [0, 0, 1]).tolist() == [False, False, True]
    assert not strays([40, 42, 12, 13], [0.99, 0.98, 0.98, 0.97], [0, 0, 1, 1]).any()  # two small digits, a line
    assert not strays([40, 42, 12], [0.99, 0.98, 0.98], [0, 0, 0]).any()  # a small digit read surely in the number
    assert not strays([40, 42, SHORT * 41], [0.99, 0.98, 0.98], [0, 0, 1]).any()  # half the height is no stray


def test_a_short_digit_in_a_column_of_lone_digits_stays():
    assert not strays([40, 42, 12], [0.99, 0.98, 0.98], [0, 1, 2]).any()
    assert strays([40, 42, 12], [0.99, 0.98, 0.3], [0, 1, 2]).tolist() == [False, False, True]  # unsure, it is a tick


def test_a_line_with_peers_of_its_own_is_measured_by_them_alone():
    # small digits on a line of their own beside a big number: short for the page, not for their line
    assert not strays([80, 82, 84, 30, 31, 29], [0.99] * 3 + [0.4] * 3, [0, 0, 0, 1, 1, 1]).any()


def test_too_few_digits_leave_nothing_to_measure_by():
    assert not strays([40] * PEERS, [0.99] * PEERS, [0] * PEERS).any()
    assert not strays([40, 5], [0.99, 0.1], [0, 0]).any()
    assert not strays([40, 5], [0.99, 0.1], [0, 1]).any()


def test_the_bounds_are_strict():
    assert not any(_one_line([40, 40, 40, SHORT * 40], [1, 1, 1, 0.1]))
    assert not any(_one_line([40, 40, 40, 10], [1, 1, 1, UNSURE]))


def test_an_empty_reading_has_no_strays():
    assert strays([], [], []).shape == (0,)
