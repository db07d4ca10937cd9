"""Segmentation on pages composed from MNIST test digits, whose true boxes are known: every digit
found once, in reading order, nothing else; and nothing at all on pages without digits."""
import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from handwriting.engine.blobs import Blob
from handwriting.engine.cutting import MAX_SLANT, sheared_columns, slant
from handwriting.engine.filters import on_an_edge, on_dark_ground
from handwriting.engine.segmentation import segment
from helpers import glyph, iou

RULE = (170, 200, 240)  # the light blue of a school notebook, RGB


@pytest.fixture(scope="module")
def digits(mnist):
    """The test digits whose ink is one piece: a digit broken in two is a different problem."""
    keep = [i for i, image in enumerate(mnist.x_test)
            if cv2.connectedComponents((image >= 128).astype(np.uint8), connectivity=8)[0] == 2]
    return mnist.x_test[keep], mnist.y_test[keep]


def first_of(digits, labels):
    images, truth = digits
    return [images[np.flatnonzero(truth == label)[0]] for label in labels]


def compose(rows, height=80, gap=0.5, line_gap=0.6, margin=60):
    """Dark ink on white, each row's digits bottom-aligned, `gap` and `line_gap` in units of
    `height`. Returns the ink coverage, the RGB page, and the true ink boxes (x, y, w, h) per row."""
    rows = [[glyph(image, height) for image in row] for row in rows]
    width = max(sum(g.shape[1] for g in row) + gap * height * (len(row) - 1) for row in rows)
    page_height = len(rows) * height + (len(rows) - 1) * line_gap * height
    ink = np.zeros((round(page_height) + 2 * margin, round(width) + 2 * margin), np.uint8)
    boxes = []
    for r, row in enumerate(rows):
        bottom, x, found = margin + round(r * (1 + line_gap) * height) + height, margin, []
        for g in row:
            y = bottom - g.shape[0]
            view = ink[y: bottom, x: x + g.shape[1]]
            np.maximum(view, g, out=view)
            ys, xs = np.nonzero(g >= 128)
            found.append((x + xs.min(), y + ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1))
            x += g.shape[1] + round(gap * height)
        boxes.append(found)
    return ink, np.repeat(255 - ink[..., None], 3, axis=2), boxes


def found_boxes(rgb, working_side=1200):
    """The blobs' boxes in input pixels, line by line."""
    found = segment(rgb, working_side)
    return [[(b.x / found.scale, b.y / found.scale, b.w / found.scale, b.h / found.scale) for b in line]
            for line in found.lines]


def assert_matches(found, truth):
    """Same lines, same digits in each, in reading order, each box over the true one."""
    assert [len(line) for line in found] == [len(line) for line in truth], (found, truth)
    for line, true_line in zip(found, truth):
        for box, true_box in zip(line, true_line):
            assert iou(box, true_box) >= 0.5, (box, true_box)


@pytest.mark.parametrize("height", [60, 100])
@pytest.mark.parametrize("working_side", [1200, 300])
def test_separated_digits_are_found_left_to_right(digits, height, working_side):
    """At working_side 300 the page is shrunk first: the boxes must still come back in input pixels."""
    _, rgb, truth = compose([first_of(digits, [3, 1, 4, 1, 5, 9, 2, 6])], height)
    assert max(rgb.shape) > 300
    assert_matches(found_boxes(rgb, working_side), truth)


def test_blobs_keep_how_dark_their_ink_is(digits):
    """The soft edges of a pen stroke stay weaker than its core in the blob, so the model sees the
    grey edges MNIST was drawn with, not a hard outline."""
    ink, rgb, _ = compose([first_of(digits, [2])])
    (blob,), = segment(rgb, 1200).lines
    page = ink[blob.y: blob.y + blob.h, blob.x: blob.x + blob.w]
    core = blob.mask[(page >= 230) & (blob.mask > 0)]
    edge = blob.mask[(page > 60) & (page < 140) & (blob.mask > 0)]
    assert core.size and edge.size
    assert np.median(edge) < 0.7 * np.median(core)


def test_the_typical_height_is_the_digits_height_in_working_pixels(digits):
    _, rgb, _ = compose([first_of(digits, [3, 1, 4, 1, 5, 9, 2, 6])], 90)
    found = segment(rgb, 400)
    assert found.scale == pytest.approx(400 / max(rgb.shape))
    assert found.digit_height / found.scale == pytest.approx(90, rel=0.15)


def test_two_lines_of_the_same_length_read_top_line_first(digits):
    _, rgb, truth = compose([first_of(digits, [2, 0, 2, 4]), first_of(digits, [1, 9, 8, 7])])
    assert_matches(found_boxes(rgb), truth)


@pytest.mark.parametrize("upper, lower", [([1, 2], [3, 4, 5, 6]), ([3, 4, 5, 6], [1, 2]), ([7], [8, 0, 9])])
def test_two_lines_of_different_lengths_stay_two_lines(digits, upper, lower):
    """Beside a longer line, the end of a shorter one has its nearest right-hand neighbour in the
    other line: the two must still come out as two lines, each in its own order."""
    _, rgb, truth = compose([first_of(digits, upper), first_of(digits, lower)])
    assert_matches(found_boxes(rgb), truth)


@pytest.mark.parametrize("stray", [0.25, 0.4])
def test_a_short_thin_stroke_beside_the_digits_is_not_a_one(digits, stray):
    """A stray stroke, or a piece broken off a digit, less than half as tall as the digits is not
    a 1, however much it looks like one to the model; the real 1 of the number stays."""
    ink, _, truth = compose([first_of(digits, [3, 1, 5])])
    (x, y, w, h), _, _ = truth[0]
    gap = x + w + 20
    cv2.line(ink, (gap, y + h - 2), (gap, y + h - 2 - round(stray * h)), 255, 5)
    assert_matches(found_boxes(np.repeat(255 - ink[..., None], 3, axis=2)), truth)


def ruled(ink, rules, thickness=2):
    """The page on ruled paper: the lines drawn first across the whole width, the ink over them."""
    paper = np.full((*ink.shape, 3), 255, np.uint8)
    for y in rules:
        cv2.line(paper, (0, y), (ink.shape[1] - 1, y), RULE, thickness, cv2.LINE_AA)
    ink_rgb = np.repeat(255 - ink[..., None], 3, axis=2)
    return np.minimum(paper, ink_rgb)


@pytest.mark.parametrize("where", ["across the middle", "along the bottom"])
def test_digits_written_across_ruled_lines_are_found_without_the_lines(digits, where):
    """Digits 80 px tall at y = 110-190 on lines 100 px apart: one line crosses each digit at half
    height, or runs along the digits' bottoms as a baseline."""
    ink, _, truth = compose([first_of(digits, [3, 1, 4, 7, 5])], margin=110)
    crossing = 150 if where == "across the middle" else 190
    rules = range(crossing % 100, ink.shape[0], 100)
    assert len(rules) == 3
    assert_matches(found_boxes(ruled(ink, rules)), truth)


def test_digits_between_ruled_lines_are_found_without_the_lines(digits):
    ink, _, truth = compose([first_of(digits, [3, 1, 4, 7, 5]), first_of(digits, [9, 2, 6])], line_gap=0.75)
    rules = range(30, ink.shape[0], 140)  # y = 30, 170, 310: above, between and below the rows
    assert_matches(found_boxes(ruled(ink, rules)), truth)


@pytest.mark.parametrize("thickness", [4, 6])
def test_a_ruled_line_thicker_than_the_others_is_still_erased(digits, thickness):
    """Darkened by shadow, or thickened by the digits sitting on it, the line under the number can
    be two or three times as thick as the page's other lines: each line is measured on its own, or
    the line would carry all the digits along as one mark across the page."""
    ink, _, truth = compose([first_of(digits, [3, 1, 4, 7, 5])], margin=110)
    ink = np.pad(ink, ((300, 300), (0, 0)))
    truth = [[(x, y + 300, w, h) for x, y, w, h in line] for line in truth]
    baseline = 300 + 190
    page = ruled(ink, [y for y in range(baseline % 100, ink.shape[0], 100) if y != baseline])
    cv2.line(page, (0, baseline), (page.shape[1] - 1, baseline), RULE, thickness, cv2.LINE_AA)
    page = np.minimum(page, np.repeat(255 - ink[..., None], 3, axis=2))
    assert_matches(found_boxes(page), truth)


def test_a_ruled_line_that_fades_under_the_digits_is_still_erased(digits):
    """A photographed rule fades and breaks under uneven light: its piece under the first digits
    is too short to be a line by itself, but lies on the line found further along."""
    ink, _, truth = compose([first_of(digits, [3, 1, 4, 7, 5])], margin=110)
    ink = np.pad(ink, ((0, 0), (0, 1000 - ink.shape[1])))
    paper = np.full((*ink.shape, 3), 255, np.uint8)
    for y, start, stop in [(90, 0, 999), (190, 0, 300), (190, 420, 999), (290, 0, 999)]:
        cv2.line(paper, (start, y), (stop, y), RULE, 2, cv2.LINE_AA)
    page = np.minimum(paper, np.repeat(255 - ink[..., None], 3, axis=2)) * np.linspace(0.85, 1.0, 1000)[None, :, None]
    photo = (page + np.random.default_rng(7).normal(0, 3, page.shape)).clip(0, 255).astype(np.uint8)
    assert_matches(found_boxes(photo), truth)


def lined_page(thickness, spacing):
    return ruled(np.zeros((600, 800), np.uint8), range(spacing // 2, 600, spacing), thickness)


@pytest.mark.parametrize("page", [
    np.full((400, 600, 3), 255, np.uint8),
    np.zeros((400, 600, 3), np.uint8),
    np.random.default_rng(5).integers(0, 256, (240, 320, 3), dtype=np.uint8),
    np.repeat(np.random.default_rng(6).integers(0, 256, (240, 320, 1), dtype=np.uint8), 3, axis=2),
    lined_page(1, 40),
    lined_page(2, 60),
    lined_page(3, 100),
], ids=["white", "black", "colour-noise", "grey-noise", "ruled-1px", "ruled-2px", "ruled-3px"])
def test_pages_without_digits_give_no_blobs(page):
    """Uniform noise has no strokes: what passes a threshold there is speckle, not ink."""
    assert [len(line) for line in segment(page, 1200).lines] == []


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    picks=st.lists(st.lists(st.integers(0, 9_000), min_size=1, max_size=6), min_size=1, max_size=2),
    height=st.integers(50, 110),
    gap=st.floats(0.3, 0.9),
    line_gap=st.floats(0.5, 1.0),
    working_side=st.sampled_from([1200, 400]),
)
def test_any_separated_one_piece_digits_are_found_in_reading_order(digits, picks, height, gap, line_gap, working_side):
    images, _ = digits
    _, rgb, truth = compose([[images[i] for i in row] for row in picks], height, gap, line_gap)
    assert_matches(found_boxes(rgb, working_side), truth)


def leaning_strokes(shear, height=60, strokes=(10, 40), thickness=4):
    """Parallel strokes that lean by `shear` (x per y, positive leaning right at the top), as a Blob."""
    width = int(max(strokes) + abs(shear) * height + 2 * thickness)
    mask = np.zeros((height, width), np.uint8)
    for x in strokes:
        top = (round(x + abs(shear) * height / 2 + shear * height / 2), 0)
        bottom = (round(x + abs(shear) * height / 2 - shear * height / 2), height - 1)
        cv2.line(mask, top, bottom, 255, thickness)
    return Blob(0, 0, width, height, mask)


@pytest.mark.parametrize("shear", [-0.4, -0.2, 0.25, 0.35])
def test_slant_measures_how_far_the_strokes_lean(shear):
    assert slant(leaning_strokes(shear)) == pytest.approx(-shear, abs=0.04)


def test_upright_and_extreme_slants():
    assert slant(leaning_strokes(0.0)) == 0.0
    assert slant(leaning_strokes(0.03)) == 0.0  # below MIN_SLANT: straight cuts are as good
    assert slant(leaning_strokes(-1.5, height=30)) == MAX_SLANT


@pytest.mark.parametrize("shear", [-0.3, 0.3])
def test_sheared_columns_stand_leaning_strokes_upright(shear):
    """Once sheared, each stroke's ink sits in a band as narrow as the stroke, with the gap
    between the two strokes clear from top to bottom: a straight cut there follows the slant."""
    blob = leaning_strokes(shear)
    columns, upright = sheared_columns(blob, slant(blob))
    ink = columns[blob.mask > 0]
    left, right = ink[ink < ink.mean()], ink[ink >= ink.mean()]
    assert np.ptp(left) <= 7 and np.ptp(right) <= 7
    assert upright.h == blob.h and upright.w >= blob.w
    gap = upright.mask[:, int(left.max()) + 2: int(right.min()) - 1]
    assert gap.size and not gap.any()


def test_a_thin_mark_is_an_edge_only_with_much_darker_ground_on_one_side():
    grey = np.full((100, 200), 210, np.uint8)
    grey[:, :100] = 70
    grey[20:80, 101:104] = 60  # the sheet's edge: about as dark as the table beside it
    grey[20:80, 150:153] = 40
    mark = np.full((60, 3), 255, np.uint8)
    assert on_an_edge(Blob(101, 20, 3, 60, mark), grey)
    assert not on_an_edge(Blob(150, 20, 3, 60, mark), grey)
    wide = np.full((60, 40), 255, np.uint8)
    assert not on_an_edge(Blob(101, 20, 40, 60, wide), grey)  # a mark as wide as tall is never an edge piece


def test_a_flat_mark_is_an_edge_only_with_much_darker_ground_above_or_below():
    grey = np.full((200, 100), 210, np.uint8)
    grey[:100] = 70  # the table above the sheet's top edge
    grey[101:104, 20:80] = 60
    grey[150:153, 20:80] = 40  # a dash written on the sheet
    mark = np.full((3, 60), 255, np.uint8)
    assert on_an_edge(Blob(20, 101, 60, 3, mark), grey)
    assert not on_an_edge(Blob(20, 150, 60, 3, mark), grey)


def test_a_sheets_side_on_a_light_table_is_an_edge_but_a_flat_mark_needs_darker_ground():
    """An upright mark needs its sides 0.7 apart (EDGE_SIDE), a flat one 0.6 (EDGE_CONTRAST): an
    amount's run of zeros lies on ground that differs above and below."""
    grey = np.full((100, 200), 240, np.uint8)
    grey[:, :100] = 165  # a light table, 0.69 of the sheet
    grey[20:80, 101:104] = 140
    assert on_an_edge(Blob(101, 20, 3, 60, np.full((60, 3), 255, np.uint8)), grey)
    assert not on_an_edge(Blob(20, 101, 60, 3, np.full((3, 60), 255, np.uint8)), grey.T.copy())


def test_a_stroke_across_a_shadows_edge_is_ink_not_an_edge():
    grey = np.full((100, 200), 210, np.uint8)
    grey[:, :100] = 90  # a shadow over the left half
    grey[20:80, 98:104] = 25  # a 1 written across the shadow's edge: darker than the shadow
    grey[20:80, 150:156] = 25
    mark = np.full((60, 6), 255, np.uint8)
    assert not on_an_edge(Blob(98, 20, 6, 60, mark), grey)
    grey[20:80, 98:104] = 80  # the same mark as light as the shadow is the shadow's edge
    assert on_an_edge(Blob(98, 20, 6, 60, mark), grey)


@pytest.fixture(scope="module")
def big_number(digits):
    """Six digits 150 px tall with MNIST's bold strokes on a page over 1,000 px wide."""
    ink, rgb, truth = compose([first_of(digits, [4, 0, 7, 2, 9, 3])], height=150, gap=0.4, margin=40)
    assert 1000 < max(rgb.shape) <= 1200
    return ink, rgb, truth


def test_big_bold_digits_of_a_drawing_are_found_at_a_glance(big_number):
    """A glance at a third of the size sees them 50 px tall: that is where they are read."""
    _, rgb, truth = big_number
    assert segment(rgb, 1200).scale == pytest.approx(1 / 3)
    assert_matches(found_boxes(rgb), truth)


def drawn_number(pen):
    """Six digits about 155 px tall drawn with a pen `pen` px wide, and their true boxes."""
    page = np.full((450, 1150), 255, np.uint8)
    boxes = []
    for i, digit in enumerate("407293"):
        ink = np.zeros_like(page)
        cv2.putText(ink, digit, (40 + i * 180, 370), cv2.FONT_HERSHEY_SIMPLEX, 7, 255, pen, cv2.LINE_AA)
        boxes.append(cv2.boundingRect((ink >= 128).astype(np.uint8)))
        page = np.minimum(page, 255 - ink)
    return np.repeat(page[..., None], 3, axis=2), [boxes]


@pytest.mark.parametrize("pen, scale", [(3, 1.0), (6, 1.0), (8, 1 / 3)])
def test_fine_strokes_are_looked_at_again_at_full_size(pen, scale):
    """At a third of the size a pen under 7 px would be about 2 px wide or less: too fine to keep
    each stroke whole, so the page is read at the working size."""
    rgb, truth = drawn_number(pen)
    assert segment(rgb, 1200).scale == pytest.approx(scale)
    assert_matches(found_boxes(rgb), truth)


def test_photos_are_looked_at_again_at_full_size(big_number):
    """In a photo the edge and shadow of a sheet can look like big digits at a glance."""
    _, rgb, truth = big_number
    shade = np.linspace(0.75, 1.0, rgb.shape[1])[None, :, None]
    lit = (rgb * shade + np.random.default_rng(7).normal(0, 3, rgb.shape)).clip(0, 255).astype(np.uint8)
    assert segment(lit, 1200).scale == 1.0
    assert_matches(found_boxes(lit), truth)


def test_a_mark_is_on_dark_ground_when_a_quarter_of_its_surroundings_is_as_dark():
    """A stroke on paper, a faint pencil stroke on paper, and a patch of the table beside the
    sheet that the threshold took for ink (ground as dark as itself on one side)."""
    dark = np.full((200, 300), 210, np.uint8)
    dark[:, 200:] = 90  # the table right of the sheet's edge
    stroke = np.full((60, 6), 255, np.uint8)
    dark[70:130, 50:56] = 50
    dark[70:130, 120:126] = 160
    dark[70:130, 196:206] = 85
    assert not on_dark_ground(Blob(50, 70, 6, 60, stroke), dark)
    assert not on_dark_ground(Blob(120, 70, 6, 60, stroke), dark)
    assert on_dark_ground(Blob(196, 70, 10, 60, np.full((60, 10), 255, np.uint8)), dark)
