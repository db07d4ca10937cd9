"""Marks that are not digits: a box drawn around digits is a frame, a blob of touching digits in a
tightly cropped number is not, though specks lie within its box; a mark three digits tall is a
digit when it opens a line of them, as a cheque amount's first digit does."""
import cv2
import numpy as np

from handwriting.engine.blobs import Blob
from handwriting.engine.filters import _box_shaped, on_the_page, opens_a_line, plausible


def blob(x, y, w, h, draw):
    mask = np.zeros((h, w), np.uint8)
    draw(mask)
    return Blob(x, y, w, h, mask)


def ring(mask):
    h, w = mask.shape
    cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - 3, h // 2 - 3), 0, 0, 360, 255, 4)


def two_rings(mask):
    h, w = mask.shape
    for centre in (w // 4, 3 * w // 4):
        cv2.ellipse(mask, (centre, h // 2), (w // 4 - 2, h // 2 - 3), 0, 0, 360, 255, 4)


def speck(mask):
    mask[:] = 255


def outline(mask):
    cv2.rectangle(mask, (1, 1), (mask.shape[1] - 2, mask.shape[0] - 2), 255, 3)


def stroke(mask):
    mask[:, mask.shape[1] // 2 - 2: mask.shape[1] // 2 + 2] = 255


def kept(blobs, shape):
    grey = np.full(shape, 255, np.uint8)
    return {(b.x, b.y, b.w, b.h) for b in on_the_page(blobs, grey, grey, True)}


def test_touching_digits_with_specks_in_their_box_are_not_a_frame():
    # a 5-digit amount 60 px tall: "00" touching, a speck in each ring, the others single digits
    pair = blob(100, 5, 70, 50, two_rings)
    marks = [blob(10, 5, 35, 50, ring), blob(55, 5, 35, 50, ring), pair, blob(180, 5, 35, 50, ring),
             blob(115, 28, 4, 4, speck), blob(150, 28, 4, 4, speck)]
    assert (pair.x, pair.y, pair.w, pair.h) in kept(marks, (60, 220))


def test_a_box_drawn_around_digits_is_a_frame():
    box = blob(5, 5, 200, 100, outline)
    digits = [blob(20 + 45 * k, 30, 35, 48, ring) for k in range(4)]
    found = kept([box, *digits], (110, 210))
    assert (box.x, box.y, box.w, box.h) not in found and len(found) == 4


def test_a_box_is_ink_along_its_bounding_box_and_a_ring_or_a_blot_is_not():
    assert _box_shaped(blob(0, 0, 60, 40, outline), 3.0)
    assert not _box_shaped(blob(0, 0, 60, 40, ring), 4.0)
    assert not _box_shaped(blob(0, 0, 60, 40, speck), 3.0)
    assert not _box_shaped(blob(0, 0, 20, 12, outline), 3.0)  # too small to hold anything


def test_a_box_drawn_close_around_one_digit_on_a_large_page_is_a_frame():
    box = blob(120, 130, 60, 56, outline)
    digit = blob(135, 140, 30, 36, ring)
    found = kept([box, digit], (300, 300))
    assert found == {(digit.x, digit.y, digit.w, digit.h)}


def test_a_zero_with_a_speck_inside_stays_a_digit():
    zero, inner = blob(100, 100, 40, 56, ring), blob(117, 125, 4, 4, speck)
    assert (zero.x, zero.y, zero.w, zero.h) in kept([zero, inner], (300, 300))


def test_a_big_digit_joined_to_the_rules_with_specks_at_the_border_in_its_box_is_not_a_frame():
    # "28000" 61 px tall: the 2 crosses both rules, so "28" is one blob the picture's height, with
    # two specks of the security background at the left border in its box; "000" is one flat blob
    first, zeros = blob(0, 1, 61, 60, two_rings), blob(64, 15, 64, 36, ring)
    specks = [blob(0, 10, 3, 4, speck), blob(0, 35, 2, 4, speck)]
    assert (first.x, first.y, first.w, first.h) in kept([first, zeros, *specks], (61, 130))
    inner = [blob(20, 10, 3, 4, speck), blob(20, 35, 2, 4, speck)]  # clear of the border: enclosed
    assert (first.x, first.y, first.w, first.h) not in kept([first, zeros, *inner], (61, 130))


def test_a_huge_mark_opens_a_line_when_as_wide_as_a_digit_and_followed_closely_by_one():
    # an amount's "9" three times its zeros' height, a zero 20 px tall after it; the typical digit 20 px
    nine, zero = blob(5, 2, 30, 60, ring), blob(40, 40, 16, 20, ring)
    assert not plausible(nine, 20, (70, 140)) and opens_a_line(nine, [zero], 20)
    assert not opens_a_line(nine, [blob(80, 40, 16, 20, ring)], 20)  # the next mark two digits away
    assert not opens_a_line(nine, [blob(40, 64, 16, 20, ring)], 20)  # below it, on a line of its own
    assert not opens_a_line(blob(5, 2, 6, 60, stroke), [zero], 20)  # a table's edge as tall
    assert not opens_a_line(blob(5, 2, 60, 80, ring), [blob(70, 40, 16, 20, ring)], 20)  # four digits tall
    assert not opens_a_line(blob(20, 45, 18, 4, speck), [zero], 20)  # a dash, refused for being small


def test_amounts_whose_big_first_digit_was_dropped_are_read_whole(recognizer):
    from handwriting.training import datasets

    # ORAND training amounts "9000" and "6000" (the first digit 2.7 and 3.3 times the zeros' height)
    # and "28000" (the "28" joined to both rules, specks at the border in its box): each read "000".
    labels = {"a_car_000905": "9000", "a_car_001157": "6000", "a_car_001023": "28000"}
    train, _ = datasets.orand_strings(datasets.default_root())
    amounts = [s for s in train if s.image_id in labels]
    assert sorted(s.label for s in amounts) == sorted(labels.values())
    right = sum(recognizer.read(cv2.imencode(".png", s.image)[1].tobytes()).digits_text == s.label for s in amounts)
    assert right == 3, f"{right} of 3"
