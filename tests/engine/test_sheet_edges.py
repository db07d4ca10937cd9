"""Edges the frame cuts, read as a tall 1, on tiny lists of boxes in a 600 x 400 photo."""
import pytest

from handwriting.engine.sheet_edges import APART, FILL, TALL, cut_by_frame

WIDTH, HEIGHT = 600, 400
DIGITS = [(200, 200, 30, 60), (240, 200, 30, 60)]  # a small "34" in the middle of the photo


def _edges(first, digit=1, others=DIGITS, width=WIDTH, height=HEIGHT, lines=(0, 0, 0)):
    count = 1 + len(others)
    return cut_by_frame([first, *others], [digit, 3, 4][:count], list(lines)[:count], width, height).tolist()


@pytest.mark.parametrize("box", [
    (0, 50, 8, 120),  # the sheet's side, cut by the left of the frame
    (400, 0, 10, 100),  # by the top
    (WIDTH - 12, 150, 12, 90),  # by the right
    (100, HEIGHT - 130, 9, 130),  # by the bottom
])
def test_a_tall_1_the_frame_cuts_beside_small_digits_is_an_edge(box):
    assert _edges(box) == [True, False, False]


def test_the_same_stroke_inside_the_frame_is_a_digit():
    assert _edges((40, 50, 8, 120)) == [False, False, False]


def test_a_1_at_the_frame_no_taller_than_the_digits_is_a_digit():
    assert _edges((0, 190, 8, 70)) == [False, False, False]


def test_a_tall_1_among_the_digits_is_one_of_them_whatever_its_box_took_in():
    # a 1 whose box runs to the frame down a streak of texture, 10 px before the "34"
    assert _edges((180, 200, 10, 200)) == [False, False, False]


def test_an_edge_on_a_line_of_its_own_is_one_however_near_the_digits():
    others = [(20, 200, 30, 60), (60, 200, 30, 60)]  # a small "34" near the left, on the line below
    assert _edges((0, 50, 8, 120), others=others, lines=(0, 1, 1)) == [True, False, False]


def test_only_a_1_is_taken_for_an_edge():
    assert _edges((0, 50, 8, 120), digit=7) == [False, False, False]


def test_in_a_tight_crop_the_digits_fill_the_frame_and_a_tall_first_1_stays():
    digits = [(110, 10, 30, 75), (150, 12, 30, 72)]  # an amount cropped close, its digits 75 px of 100, spaced wide
    assert _edges((0, 0, 10, 100), others=digits, width=300, height=100) == [False, False, False]


def test_a_lone_mark_has_no_digits_to_be_measured_by():
    assert cut_by_frame([(0, 50, 8, 120)], [1], [0], WIDTH, HEIGHT).tolist() == [False]


def test_the_thresholds_are_where_they_bite():
    typical = 60
    assert _edges((0, 50, 8, TALL * typical)) == [True, False, False]
    assert _edges((0, 50, 8, TALL * typical - 1)) == [False, False, False]
    near = round(200 - APART * typical)  # the stroke's right side this far from the "3" at x = 200
    assert _edges((0, 50, near, 120)) == [True, False, False]
    assert _edges((0, 50, near + 1, 120)) == [False, False, False]
    big = round(FILL * HEIGHT)  # digits as tall as FILL of the shorter side: not a photo's small ones
    others = [(200, 100, 30, big), (240, 100, 30, big)]
    assert _edges((0, 0, 8, 2 * big), others=others) == [False, False, False]
    others = [(200, 100, 30, big - 1), (240, 100, 30, big - 1)]
    assert _edges((0, 0, 8, 2 * big), others=others) == [True, False, False]
