"""Connected components as blobs: the marks at the border of a photo that are a sheet's edge, and
those that are the digits of a tightly cropped number (a cheque's amount)."""
import cv2
import numpy as np

from handwriting.engine.blobs import Blob, components, typical_height, written

HEIGHT, WIDTH = 60, 200


def photo(strokes):
    """A binary mask with the given line strokes ((x0, y0), (x1, y1), pen) and its contrast."""
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    for start, end, pen in strokes:
        cv2.line(mask, start, end, 255, pen)
    return mask, mask.astype(np.float32) / 255


def boxes(mask, contrast):
    return sorted((b.x, b.y, b.w, b.h) for b in components(mask, False, contrast))


def digit(x, top=8, bottom=52):
    """A 4-px stroke drawn as a digit's box: a Z-like mark about as wide as it is tall."""
    return [((x, top), (x + 30, top), 4), ((x + 30, top), (x, bottom), 4), ((x, bottom), (x + 30, bottom), 4)]


def test_digits_of_a_tight_crop_touching_its_border_are_kept():
    # the first digit cut by the left border, the last's foot along the bottom: both as tall as the middle one
    mask, contrast = photo(digit(0) + digit(80) + digit(160, bottom=HEIGHT - 2))
    assert len(boxes(mask, contrast)) == 3


def test_a_tall_mark_at_the_border_beside_small_marks_is_a_sheets_edge():
    mask, contrast = photo([((3, 0), (8, 55), 3)] + digit(80, top=25, bottom=45) + digit(140, top=25, bottom=45))
    found = boxes(mask, contrast)
    assert len(found) == 2 and all(x > 20 for x, *_ in found)


def test_a_tall_mark_along_the_border_is_a_sheets_edge_even_beside_tall_digits():
    mask, contrast = photo([((1, 2), (1, 57), 3)] + digit(60) + digit(120))
    found = boxes(mask, contrast)
    assert len(found) == 2 and all(x > 20 for x, *_ in found)


def test_a_mark_across_the_width_at_the_border_is_a_page_edge():
    mask, contrast = photo([((0, 58), (WIDTH - 1, 58), 3)] + digit(60))
    assert [y for _, y, *_ in boxes(mask, contrast)] == [6]


def test_touching_zeros_across_most_of_a_tight_crop_are_kept():
    zeros = [((x, 30), 22, 4) for x in (112, 152, 192)]  # centre, radius, pen: three touching rings, the last cut
    mask, contrast = photo(digit(10))
    for centre, radius, pen in zeros:
        cv2.circle(mask, centre, radius, 255, pen)
    contrast = mask.astype(np.float32) / 255
    found = boxes(mask, contrast)
    assert len(found) == 2 and found[1][2] > WIDTH / 2


def test_a_run_of_zeros_wider_than_flat_at_a_tight_crops_border_is_kept():
    # an amount's "000-": three touching rings and the closing dash, cut by the right border
    mask, contrast = photo(digit(4, top=14, bottom=50))
    for x in (110, 138, 166):
        cv2.circle(mask, (x, 36), 15, 255, 3)
    cv2.line(mask, (180, 36), (WIDTH - 1, 32), 255, 3)
    contrast = mask.astype(np.float32) / 255
    found = boxes(mask, contrast)
    assert len(found) == 2 and found[1][2] > 3 * found[1][3]


def test_writing_is_strokes_filling_a_box_of_a_digits_or_a_runs_shape():
    ring = np.zeros((40, 40), np.uint8)
    cv2.circle(ring, (20, 20), 17, 1, 3)
    assert written(ring > 0)
    assert not written(np.ones((40, 40), bool))  # solid: a region beyond the sheet
    assert not written(np.ones((4, 200), bool))  # a straight line
    corner = np.zeros((60, 60), bool)
    corner[-2:, :] = corner[:, :2] = True
    assert not written(corner)  # a corner fills little of its box
    assert not written(np.pad(ring, ((0, 0), (0, 200))) > 0)  # a ring at the end of a long box


def test_a_flat_strip_along_the_bottom_beside_digits_is_a_sheets_edge():
    mask, contrast = photo([((40, 57), (190, 50), 5)] + digit(20, top=10, bottom=40) + digit(100, top=10, bottom=40))
    assert len(boxes(mask, contrast)) == 2


def test_a_wide_mark_at_the_border_beside_only_a_much_taller_one_is_no_digit():
    # a wedge of table at the bottom of a photo and the sheet's outline above it: neither is a digit's peer
    mask = np.zeros((300, 300), np.uint8)
    cv2.fillPoly(mask, [np.array([(20, 299), (190, 240), (190, 299)], np.int32)], 255)
    cv2.line(mask, (250, 20), (256, 230), 255, 3)
    found = sorted((b.x, b.y, b.w, b.h) for b in components(mask, False, mask.astype(np.float32) / 255))
    assert len(found) == 1 and found[0][0] > 200


def solid(x, y, w, h):
    """A blob filled with ink, as a thick stroke or a smudge is."""
    return Blob(x, y, w, h, np.full((h, w), 255, np.uint8))


def test_the_typical_height_is_a_big_digits_beside_many_specks():
    specks = [solid(5 * i, 0, 3, 4) for i in range(20)]
    assert typical_height(specks + [solid(100, 50, 60, 300)]) == 300


def test_flat_marks_never_set_the_typical_height():
    assert typical_height([solid(0, 0, 400, 10), solid(0, 20, 12, 40)]) == 40


def test_a_run_of_touching_digits_sets_the_typical_height_though_flat():
    run = np.zeros((40, 140), np.uint8)
    for x in (20, 52, 84, 116):
        cv2.circle(run, (x, 20), 17, 255, 3)  # four touching zeros, 3.5 times as wide as tall
    specks = [solid(5 * i, 60, 3, 4) for i in range(6)]
    assert typical_height(specks + [Blob(0, 0, 140, 40, run)]) == 40


def zero(x, h):
    """A 0 written with a 3-px pen in a box h tall and two thirds as wide."""
    w = 2 * h // 3
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - 2, h // 2 - 2), 0, 0, 360, 255, 3)
    return Blob(x, 0, w, h, mask)


def test_a_sheets_edge_on_a_table_never_sets_the_typical_height_of_the_digits_on_the_sheet():
    edge = np.zeros((400, 60), np.uint8)
    cv2.line(edge, (55, 0), (5, 399), 255, 8)  # more ink than the three digits together
    assert np.count_nonzero(edge) > sum(np.count_nonzero(zero(0, 70).mask) for _ in range(3))
    assert typical_height([Blob(0, 0, 60, 400, edge), zero(100, 70), zero(160, 70), zero(220, 70)]) == 70


def test_a_1_beside_other_digits_still_counts_and_a_1_beside_a_dot_sets_the_height():
    one = solid(0, 0, 8, 70)
    assert typical_height([one, solid(20, 0, 8, 70), zero(40, 66)]) == 70
    assert typical_height([one, solid(20, 60, 8, 8)]) == 70
