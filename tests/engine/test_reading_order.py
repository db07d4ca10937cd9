"""Lines and reading order, and the caps on marks that keep them in reading order whatever their size:
tiny synthetic blobs."""
import numpy as np

from handwriting.engine.blobs import Blob
from handwriting.engine.reading_order import first_in_reading_order, group_lines, keep_first


def blob(x, y, w=10, h=20, ink=255):
    return Blob(x, y, w, h, np.full((h, w), ink, np.uint8))


def grid(rows, columns, big=()):
    """Digit-sized blobs in rows 40 px apart, given shuffled; those at (row, column) in `big` are
    wider and hold more ink."""
    blobs = [blob(30 * c, 40 * r, 25 if (r, c) in big else 8) for r in range(rows) for c in range(columns)]
    return [blobs[i] for i in np.random.default_rng(0).permutation(len(blobs))]


def test_the_first_marks_in_reading_order_are_kept_not_the_biggest():
    marks = grid(4, 5, big={(3, c) for c in range(5)})
    kept, cut = first_in_reading_order(marks, 7)
    assert cut is True
    assert [(b.y // 40, b.x // 30) for b in kept] == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1)]


def test_rows_of_uneven_baselines_stay_rows():
    marks = [blob(30 * c, 40 * r + (5 if c % 2 else -5)) for r in range(3) for c in range(4)]
    kept, _ = first_in_reading_order(marks[::-1], 6)
    assert [(b.y + 5) // 40 for b in kept] == [0, 0, 0, 0, 1, 1]


def test_under_the_cap_nothing_is_cut():
    marks = grid(2, 3)
    kept, cut = first_in_reading_order(marks, 6)
    assert cut is False and sorted(map(id, kept)) == sorted(map(id, marks))


def test_keep_first_takes_whole_lines_then_the_start_of_the_next():
    lines = [[blob(30 * c, 40 * r) for c in range(3)] for r in range(3)]
    kept = keep_first(lines, 5)
    assert [len(line) for line in kept] == [3, 2] and kept[1] == lines[1][:2]
    assert keep_first(lines, 9) == lines and keep_first(lines, 0) == []


def row(ys, x=0, h=20):
    """Digit-sized blobs 15 px apart along, their tops at `ys`."""
    return [blob(x + 15 * i, y, h=h) for i, y in enumerate(ys)]


def lines_of(lines):
    return [[(b.x, b.y) for b in line] for line in lines]


def test_digits_at_staggered_heights_are_one_line_in_order():
    digits = row([0, 8, -8, 6, -7, 0, 8, -6])  # +-40 % of the digit height
    lines = group_lines(digits[::-1], 20)
    assert lines_of(lines) == [lines_of([digits])[0]]


def test_a_line_broken_by_a_digit_written_high_goes_on_after_it():
    digits = row([0, -14, 4, 4])  # the second digit overlaps the third by a tenth of its height
    assert lines_of(group_lines(digits, 20)) == lines_of([digits])


def test_small_digits_beside_a_big_first_digit_are_one_line():
    big = blob(0, 0, w=30, h=55)  # an amount's first digit, 2.75 digit heights tall
    small = row([22, 24, 23, 25], x=35)  # the zeros after it, within its height
    assert lines_of(group_lines(small + [big], 20)) == [[(0, 0)] + lines_of([small])[0]]


def test_close_lines_whose_digits_do_not_overlap_stay_apart():
    first, second = row([0, 1, -1, 0, 1]), row([25, 24, 26, 25], x=7)  # a fifth of a height between them
    lines = group_lines(second + first, 20)
    assert lines_of(lines) == lines_of([first, second])


def test_a_mark_touching_two_close_lines_does_not_join_them():
    first = [blob(x, 0) for x in (0, 15, 45, 60)]
    second = [blob(x, 25) for x in (0, 15, 45, 60)]  # a quarter of a height below the first
    tall = blob(30, 2, h=36)  # between them along, reaching well into both
    lines = group_lines(second + first + [tall], 20)
    assert len(lines) == 2
    assert set(lines_of([first])[0]) <= set(lines_of(lines)[0]) and lines_of(lines)[1] == lines_of([second])[0]


def test_the_pieces_of_a_broken_digit_in_a_column_stay_one_line():
    top_right, bottom_left = blob(8, 0, w=8, h=11), blob(0, 12, w=8, h=8)  # a 3 broken in two, not overlapping
    below = blob(2, 45)  # the next digit of the column
    lines = group_lines([below, bottom_left, top_right], 20)
    assert lines_of(lines) == [[(0, 12), (8, 0)], [(2, 45)]]
