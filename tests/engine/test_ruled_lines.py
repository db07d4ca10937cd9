"""Ruled lines on tiny binary masks: erased across the page, the strokes that cross them kept whole."""
import numpy as np

from handwriting.engine.ruled_lines import erase_lines, find_lines


def page(lines=(60, 140), thickness=2, stroke=(30, 170)):
    """A 200x300 mask with full-width lines at these rows and a 6-px stroke from row to row."""
    mask = np.zeros((200, 300), np.uint8)
    for y in lines:
        mask[y: y + thickness] = 255
    mask[stroke[0]: stroke[1], 100:106] = 255
    return mask


def test_ruled_lines_are_erased_and_the_stroke_crossing_them_stays_whole():
    mask = page()
    erased = erase_lines(mask, flat=True)
    assert not erased[55:70, :95].any() and not erased[135:150, 110:].any()
    assert erased[30:170, 100:106].all()
    assert not erased[:, :99].any() and not erased[:, 108:].any()  # no more than a pixel beside the stroke


def test_the_lines_found_are_the_lines_without_the_stroke():
    lines = find_lines(page(), flat=True)
    assert lines[60:62, :95].all() and lines[140:142, 110:].all()
    assert not lines[:, 100:106].any() and not lines[:55].any()


def test_a_single_bar_in_a_drawing_is_a_digits_not_a_ruled_line():
    mask = page(lines=(60,))
    assert np.array_equal(erase_lines(mask, flat=True), mask)


def test_in_a_photo_a_single_line_and_a_margin_are_erased():
    """A photo's sheet may fill only part of it, and a margin is a line too; a stroke as tall as
    most of the page would be taken for one, so this one is shorter."""
    mask = page(lines=(60,), stroke=(30, 110))
    mask[:, 250:252] = 255
    erased = erase_lines(mask, flat=False)
    assert not erased[55:70, :95].any() and not erased[:25, 245:260].any()
    assert erased[30:110, 100:106].all()


def test_a_page_without_lines_is_left_as_it_is():
    mask = np.zeros((200, 300), np.uint8)
    mask[30:170, 100:106] = 255
    mask[80:90, 150:200] = 255
    assert np.array_equal(erase_lines(mask, flat=True), mask)


def test_squared_paper_in_a_drawing_loses_its_vertical_lines_too():
    """A grid every 20 px: without its columns the digit would join every other mark through them."""
    mask = np.zeros((200, 300), np.uint8)
    mask[10::20] = 255
    mask[:, 10::20] = 255
    mask[45:135, 100:106] = 255
    erased = erase_lines(mask, flat=True)
    assert not erased[:40].any() and not erased[140:].any() and not erased[:, 110:].any()
    assert erased[45:135, 100:106].mean() > 0.95 * 255


def test_tall_strokes_in_a_drawing_without_ruled_lines_are_digits():
    """Two 1s as tall as the canvas: vertical lines are looked for only on squared paper."""
    mask = np.zeros((200, 300), np.uint8)
    mask[5:195, 100:106] = 255
    mask[5:195, 200:206] = 255
    assert np.array_equal(erase_lines(mask, flat=True), mask)


def test_rules_joined_by_the_strokes_between_them_are_each_found():
    """Close rules chain into one through the short strokes written between them; each is a line."""
    mask = page(lines=(60, 70), stroke=(62, 70))
    for x in range(20, 280, 50):
        mask[64:67, x:x + 20] = 255
    lines = find_lines(mask, flat=False)
    assert lines[60:62, 5:15].all() and lines[70:72, 5:15].all()
    assert lines[60:62, 285:].all() and lines[70:72, 285:].all()


def crop(height=50, width=150):
    """A tightly cropped photo of a number: the digits fill its height."""
    return np.zeros((height, width), np.uint8)


def test_in_a_tight_crop_a_1_from_top_to_bottom_is_no_margin():
    mask = crop()
    mask[:, 40:44] = 255
    mask[5:45, 70:74] = 255
    mask[5:9, 70:100] = 255
    assert np.array_equal(erase_lines(mask, flat=False), mask)


def test_in_a_tight_crop_the_bars_of_digits_at_one_height_are_no_rule():
    """Three 4-px bars 30 px long, 10 px apart: chained, they cover most of 110 px, but a rule is
    longer than forty times its thickness unless it crosses the whole picture."""
    mask = crop()
    for x in (10, 50, 90):
        mask[8:12, x:x + 30] = 255
        mask[8:45, x:x + 4] = 255
    assert np.array_equal(erase_lines(mask, flat=False), mask)


def test_the_rule_across_a_tightly_cropped_field_is_erased():
    """Four px thick, it is shorter than forty times that, but it crosses the whole picture."""
    mask = crop()
    mask[44:48] = 255
    mask[5:46, 70:74] = 255
    erased = erase_lines(mask, flat=False)
    assert not erased[44:48, :65].any() and not erased[44:48, 80:].any()
    assert erased[5:44, 70:74].all()


def test_in_a_tight_crop_thin_bars_of_four_digits_at_one_height_are_no_rule():
    """Thin enough to be a rule and covering most of the chain, but in four pieces none of which
    is half its length: the tops of four digits."""
    mask = crop(width=200)
    for x in (10, 52, 94, 136):
        mask[8:10, x:x + 30] = 255
        mask[8:45, x:x + 2] = 255
    assert np.array_equal(erase_lines(mask, flat=False), mask)


def test_a_rule_faded_into_many_pieces_is_still_erased():
    mask = crop(width=200)
    for x in range(10, 170, 20):
        mask[40:42, x:x + 16] = 255
    mask[5:46, 100:104] = 255
    erased = erase_lines(mask, flat=False)
    assert not erased[40:42, :95].any() and not erased[40:42, 110:].any()
    assert erased[5:40, 100:104].all()


def test_a_rule_along_the_border_of_a_crop_is_erased_though_cut_by_it():
    """Beyond the picture is no ink: a 2-px rule in its top rows is no thicker than one inside."""
    mask = crop()
    mask[:2] = 255
    mask[8:45, 70:74] = 255
    mask[:8, 40:44] = 255
    erased = erase_lines(mask, flat=False)
    assert not erased[:2, :35].any() and not erased[:2, 80:].any()
    assert erased[8:45, 70:74].all()


def test_a_rule_crossed_by_thick_strokes_along_most_of_it_is_still_erased():
    """Marker digits cover 200 of the rule's 300 px: where they cross it, it is as thick as they
    are; measured where it runs clear of them, it is 2 px."""
    mask = page(lines=(60, 140), stroke=(0, 0))
    for x in (20, 85, 150, 215):
        mask[40:90, x:x + 50] = 255
    erased = erase_lines(mask, flat=True)
    assert not erased[58:64, :18].any() and not erased[58:64, 267:].any() and not erased[140:142].any()
    assert erased[40:90, 20:70].all() and erased[40:90, 215:265].all()
