"""The caps on marks keep them in reading order, whatever their size: tiny synthetic blobs."""
import numpy as np

from handwriting.engine.blobs import Blob
from handwriting.engine.reading_order import first_in_reading_order, keep_first


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
