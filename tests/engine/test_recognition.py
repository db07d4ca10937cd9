"""The whole engine with the shipped model, on numbers composed from MNIST test digits whose
labels are known. Each digit is one the model reads right on its own, so that a wrong answer
here is the engine's (segmentation, cutting, mapping), not the classifier's."""
import dataclasses
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from handwriting.engine.decoding import decode
from handwriting.engine.recognition import Recognizer
from helpers import MODEL, glyph, iou

OVERLAP = 3  # px by which touching digits' strokes overlap


def contact(left, left_x, left_y, right, right_y):
    """The x at which `right` just touches `left` row by row, both given by their top-left corners."""
    top, bottom = max(left_y, right_y), min(left_y + left.shape[0], right_y + right.shape[0])
    mine, theirs = left[top - left_y: bottom - left_y] >= 128, right[top - right_y: bottom - right_y] >= 128
    both = mine.any(axis=1) & theirs.any(axis=1)
    last = mine.shape[1] - 1 - mine[:, ::-1].argmax(axis=1)
    return int((left_x + last - theirs.argmax(axis=1))[both].max()) + 1


def compose(rows, height=80, gap=0.5, line_gap=0.6, margin=60, touching=()):
    """Dark ink on white, each row bottom-aligned; (row, k) in `touching` slides digit k of that row
    left until its strokes overlap those of digit k-1 by OVERLAP px. Returns the ink coverage and
    the true ink boxes (x, y, w, h), row by row."""
    placed, boxes = [], []
    for r, row in enumerate(rows):
        bottom, x, line = round(r * (1 + line_gap) * height) + height, 0, []
        for k, image in enumerate(row):
            g = glyph(image, height)
            y = bottom - g.shape[0]
            if (r, k) in touching:
                previous, px, py = line[-1]
                x = contact(previous, px, py, g, y) - OVERLAP
            line.append((g, x, y))
            x += g.shape[1] + round(gap * height)
        placed.append(line)
    width = max(x + g.shape[1] for line in placed for g, x, _ in line) + 2 * margin
    page_height = max(y + g.shape[0] for line in placed for g, _, y in line) + 2 * margin
    ink = np.zeros((page_height, width), np.uint8)
    for line in placed:
        row_boxes = []
        for g, x, y in line:
            x, y = x + margin, y + margin
            view = ink[y: y + g.shape[0], x: x + g.shape[1]]
            np.maximum(view, g, out=view)
            ys, xs = np.nonzero(g >= 128)
            row_boxes.append((x + xs.min(), y + ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1))
        boxes.append(row_boxes)
    return ink, boxes


def page(ink):
    return np.repeat(255 - ink[..., None], 3, axis=2)


def encode(rgb, fmt="PNG", **options):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


def as_tuple(box):
    return box.x, box.y, box.width, box.height


def assert_boxes(reading, truth):
    found = [as_tuple(d.box) for d in reading.digits]
    expected = [box for row in truth for box in row]
    assert len(found) == len(expected)
    for box, true_box in zip(found, expected):
        assert iou(box, true_box) >= 0.5, (box, true_box)


@pytest.fixture(scope="module")
def sure(recognizer, mnist):
    """Per label, the first one-piece test digit that the engine reads right, surely, on its own."""
    chosen = {}
    for label in range(10):
        for index in np.flatnonzero(mnist.y_test == label):
            image = mnist.x_test[index]
            if cv2.connectedComponents((image >= 128).astype(np.uint8), connectivity=8)[0] != 2:
                continue
            reading = recognizer.read(encode(page(compose([[image]])[0])))
            if reading.text == str(label) and reading.digits[0].probability >= 0.95:
                chosen[label] = image
                break
    assert sorted(chosen) == list(range(10))
    return chosen


def number(sure, text):
    return [[sure[int(c)] for c in line] for line in text.split("\n")]


@pytest.mark.parametrize("text", ["31415926", "2024\n1789", "7\n450"])
def test_composed_numbers_are_read_with_their_boxes(recognizer, sure, text):
    ink, truth = compose(number(sure, text))
    reading = recognizer.read(encode(page(ink)))
    assert reading.text == text
    assert (reading.width, reading.height) == (ink.shape[1], ink.shape[0])
    assert [d.line for d in reading.digits] == [r for r, row in enumerate(truth) for _ in row]
    assert_boxes(reading, truth)
    for digit in reading.digits:
        assert digit.crop.shape == (28, 28) and digit.crop.dtype == np.uint8


@pytest.mark.slow
def test_touching_digits_are_cut_apart(recognizer, sure):
    """All hundred ordered pairs, the right digit's strokes overlapping the left's by a few px.
    A pair where one digit tucks under the other cannot be cut by any column and is left out.
    Column cuts through overlapping strokes still clip a digit now and then: the bar is 85 % of
    pairs read right with their boxes (the issue asks 75 % of whole touching numbers)."""
    misread, tried = {}, 0
    for pair in (f"{a}{b}" for a in range(10) for b in range(10)):
        ink, truth = compose(number(sure, pair), touching={(0, 1)})
        assert cv2.connectedComponents((ink >= 128).astype(np.uint8), connectivity=8)[0] == 2  # one stroke
        (left, right), = truth
        if left[0] + left[2] - right[0] > 0.25 * min(left[2], right[2]):
            continue
        tried += 1
        reading = recognizer.read(encode(page(ink)))
        boxes = [as_tuple(d.box) for d in reading.digits]
        if reading.text != pair or not all(iou(box, true) >= 0.5 for box, true in zip(boxes, truth[0])):
            misread[pair] = reading.text
    assert tried >= 60
    assert len(misread) <= 0.15 * tried, f"touching pairs misread (pair: reading): {misread}"


def test_a_touching_pair_inside_a_longer_number(recognizer, sure):
    ink, truth = compose(number(sure, "3\n1459"), touching={(1, 2)})
    reading = recognizer.read(encode(page(ink)))
    assert reading.text == "3\n1459"
    assert_boxes(reading, truth)


# Benchmark photos (synth, seed 0) that each showed one way the table around a sheet fooled the
# engine: a thin wedge of table along the border set the digit height (16), the sheet's shadowed
# outline did (33, 66), dashes of the sheet's edge read as 1 (26, 40, 77), patches of table cut
# by the border read as digits (84). At seed 1: pieces of table beside the sheet read as 1s (0,
# 15), a corner of table set the digit height (82), and a small number on a bright sheet on a dark
# table made the photo look like chalk on a board, light on dark (70).
SHEET_ON_TABLE = [(0, i) for i in (16, 26, 33, 40, 66, 77, 84)] + [(1, i) for i in (0, 15, 70, 82)]


@pytest.mark.slow
@pytest.mark.parametrize("seed, index", SHEET_ON_TABLE)
def test_the_table_around_a_photographed_sheet_is_not_read(recognizer, mnist, seed, index):
    from handwriting.pages import synth

    sample = synth.generate("photo", mnist.x_test, mnist.y_test, seed=seed, index=index)
    reading = recognizer.read(sample.data)
    assert reading.text == sample.text
    assert all(iou(as_tuple(d.box), true) >= 0.5 for d, true in zip(reading.digits, sample.boxes))


@pytest.fixture(scope="module")
def held_out(mnist):
    """The held-out digits the calibration fits on, which write the tuning pages the engine's
    rules were chosen on (bench --stress --tuning)."""
    from handwriting.training import calibrate, datasets

    return calibrate.fit_digits(datasets.default_root(), mnist, MODEL)


def tuning_pages_read_right(recognizer, digits, condition, pages):
    """How many of the stress condition's tuning pages, (seed, index) each, read exactly right."""
    from handwriting.pages import stress

    samples = [stress.generate(condition, digits, seed, index) for seed, index in pages]
    return sum(recognizer.read(s.image_bytes).digits_text == s.expected for s in samples)


def test_an_edge_the_frame_cuts_beside_a_photographed_sheet_is_not_read_as_a_1(recognizer, held_out):
    # Tuning pages (held-out digits) of a sheet on a table whose only fault was a tall 1 at the
    # frame: the sheet's side or the table's edge that the frame cut (sheet_edges).
    pages = [(1, 50), (1, 62), (1, 64), (1, 74), (3, 20), (3, 28), (3, 89)]
    right = tuning_pages_read_right(recognizer, held_out, "light_on_table", pages)
    assert right >= 6, f"{right} of 7"  # measured 7; none before the rule


def test_chalk_on_a_board_hazy_with_wiped_chalk_is_read_without_the_haze(recognizer, held_out):
    # Tuning pages (held-out digits) of chalk on a board whose JPEG keeps it one exact grey around
    # the haze, so that it is read as a drawing: the haze was ink, joined to digits or read as 1s.
    pages = [(1, 32), (1, 36), (1, 47), (1, 58), (1, 63), (1, 68), (1, 72),
             (3, 11), (3, 15), (3, 18), (3, 50), (3, 83)]
    right = tuning_pages_read_right(recognizer, held_out, "polarity_chalkboard", pages)
    assert right >= 11, f"{right} of 12"  # measured 12; none before shading was taken for the ground


def test_a_dot_read_as_a_sure_1_on_a_line_of_its_own_beside_a_number_is_a_stray(recognizer, held_out):
    # Tuning pages (held-out digits) of stray marks whose dot or smudge's stroke, a third to a half of
    # the digits' height, stood on a line of its own and was read as a 1, most of them surely.
    pages = [(1, 47), (1, 80), (3, 17), (3, 23), (3, 57)]
    right = tuning_pages_read_right(recognizer, held_out, "layout_strays", pages)
    assert right >= 4, f"{right} of 5"  # measured 5; none before short_marks dropped a sure lone mark


def test_a_currency_sign_the_cut_search_split_into_digits_before_a_number_is_no_digit(recognizer, held_out):
    # Tuning pages (held-out digits) of amounts whose $ or €, read whole as "not one digit", the cut
    # search split into a 1 or a 7 and an unsure 6 or 8 before the number.
    pages = [(1, 60), (1, 84), (1, 99), (3, 17), (3, 81)]
    right = tuning_pages_read_right(recognizer, held_out, "layout_separators", pages)
    assert right >= 4, f"{right} of 5"  # measured 5; none before cutting.no_digit


def test_a_form_box_side_the_line_reader_read_as_a_1_past_the_number_is_no_digit(recognizer, held_out):
    # Tuning pages (held-out digits) of numbers in a drawn box, whose sides the line reader read as
    # 1s at the number's ends, band and whole image alike ("334" read "13341").
    pages = [(1, 64), (1, 86), (1, 87), (3, 4), (3, 40), (3, 92)]
    right = tuning_pages_read_right(recognizer, held_out, "paper_form_box", pages)
    assert right >= 5, f"{right} of 6"  # measured 6; none before whole_lines.runs_across judged concur


def test_a_1_beside_a_digit_on_close_lines_is_not_read_with_it_as_one(recognizer, held_out):
    # Tuning pages (held-out digits) of lines written close together whose only fault was a 1 the
    # cut search read with its neighbour as one digit ("1504" read "504", "41164" read "4164").
    pages = [(1, 29), (3, 36), (3, 55), (3, 71)]
    right = tuning_pages_read_right(recognizer, held_out, "layout_lines_close", pages)
    assert right >= 3, f"{right} of 4"  # measured 4; none before cutting's two_digits


def test_a_1_touching_a_0_that_the_band_reads_likelier_right_than_not_is_added(recognizer, held_out):
    # Tuning pages (held-out digits) of touching digits whose 1 the cut search kept in a 0 ("921000"
    # read "92000") and the line reader's band read right, jointly 0.5-0.8 likely.
    pages = [(1, 45), (1, 75), (1, 91), (3, 17), (3, 31), (3, 67)]
    right = tuning_pages_read_right(recognizer, held_out, "layout_touching", pages)
    assert right >= 5, f"{right} of 6"  # measured 6; none while INSERTED was 0.8


def test_a_tall_1_a_tight_crop_cuts_stays_a_digit(recognizer):
    from handwriting.training import datasets

    # ORAND training amounts whose 1 stands tall at the crop's border, beside the other digits: a
    # rule taking such a 1 for an edge, near the digits or not, where they stand under half the
    # crop's height lost each of them (sheet_edges.APART and FILL each keep them).
    ids = {"a_car_000538", "a_car_001138", "a_car_001144", "a_car_001150", "a_car_001152"}
    train, _ = datasets.orand_strings(datasets.default_root())
    amounts = [s for s in train if s.image_id in ids]
    assert len(amounts) == len(ids)
    right = sum(recognizer.read(cv2.imencode(".png", s.image)[1].tobytes()).digits_text == s.label for s in amounts)
    assert right == len(amounts)


@pytest.mark.parametrize("noise", [3, 12])
def test_a_bold_digit_filling_a_noisy_photo_is_read_whole(recognizer, sure, noise):
    """Each digit 200 px tall in a 280-px square photo with sensor noise: its strokes, some 40 px
    wide, are wider than the paper's estimate once reached, and were read as specks of digits."""
    right = 0
    for label, image in sure.items():
        ink = cv2.resize(image, (200, 200), interpolation=cv2.INTER_CUBIC).astype(float) * 200 / 255
        grey = np.full((280, 280), 235.0)
        grey[40:240, 40:240] -= ink
        grey += np.random.default_rng(label).normal(0, noise, grey.shape)
        right += recognizer.read(encode(grey.clip(0, 255).astype(np.uint8))).text == str(label)
    assert right == len(sure)


def test_chalk_on_a_board_is_read_light_on_dark(recognizer, sure):
    """A photographed board: unevenly lit, noisy, light strokes on dark ground."""
    ink, truth = compose(number(sure, "2026"), height=60, margin=80)
    rng = np.random.default_rng(3)
    board = 55 + 25 * np.linspace(0, 1, ink.shape[1])[None, :] + rng.normal(0, 4, ink.shape)
    chalk = (board + ink / 255.0 * (215 - board)).clip(0, 255).astype(np.uint8)
    reading = recognizer.read(encode(np.repeat(chalk[..., None], 3, axis=2)))
    assert reading.text == "2026"
    assert_boxes(reading, truth)


def test_a_big_photo_read_reduced_gives_boxes_in_its_own_pixels(recognizer, sure):
    """A 9-MP JPEG is decoded at half size or less and then shrunk again to the working size; the
    boxes must still land on the digits in the original's pixels."""
    settings = recognizer.settings
    ink, truth = compose(number(sure, "4096"), height=320, margin=1100)
    assert ink.shape[0] >= 2 * settings.working_side
    data = encode(page(ink), "JPEG", quality=90)
    assert decode(data, settings.max_pixels, reduce_to=settings.working_side).scale > 1
    reading = recognizer.read(data)
    assert reading.text == "4096"
    assert (reading.width, reading.height) == (ink.shape[1], ink.shape[0])
    assert_boxes(reading, truth)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_a_photo_taken_sideways_is_read_upright_with_upright_boxes(recognizer, sure, fmt):
    """Stored turned a quarter left with EXIF Orientation 6 ("turn right to view"), as phones do."""
    ink, truth = compose(number(sure, "38"))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(np.ascontiguousarray(np.rot90(page(ink))), fmt, exif=exif.tobytes())
    reading = recognizer.read(data)
    assert reading.text == "38"
    assert_boxes(reading, truth)
    assert (reading.width, reading.height) == (ink.shape[1], ink.shape[0])


def test_alternatives_are_the_next_three_digits_best_first(recognizer, sure):
    ink, _ = compose(number(sure, "0123456789"))
    reading = recognizer.read(encode(page(ink)))
    assert reading.text == "0123456789"
    for digit in reading.digits:
        assert len(digit.alternatives) == 3
        others = [d for d, _ in digit.alternatives]
        chances = [p for _, p in digit.alternatives]
        assert len(set(others)) == 3 and digit.digit not in others
        assert all(0 <= d <= 9 for d in others)
        assert chances == sorted(chances, reverse=True)
        assert 0 <= chances[-1] and chances[0] <= digit.probability <= 1
        assert digit.probability + sum(chances) <= 1 + 1e-5


def test_the_classifier_runs_in_bounded_chunks(recognizer, sure):
    """Every candidate of an image, cut pieces included, goes to the model in chunks of at most
    classify_chunk crops, the same readings as in one call."""
    ink, _ = compose(number(sure, "31\n4592"), touching={(1, 1), (1, 3)})
    whole = recognizer.read(encode(page(ink)))
    engine = Recognizer(recognizer.path, dataclasses.replace(recognizer.settings, classify_chunk=7))
    calls = []
    infer = engine._infer

    def counting(batch):
        calls.append(int(batch.shape[0]))
        return infer(batch)

    engine._infer = counting
    chunked = engine.read(encode(page(ink)))
    assert len(calls) > 1 and max(calls) <= 7 and sum(calls) > len(chunked.digits) >= 4
    assert chunked.text == whole.text


def ruled_page():
    paper = np.full((600, 800, 3), 255, np.uint8)
    for y in range(40, 600, 60):
        cv2.line(paper, (0, y), (799, y), (170, 200, 240), 2, cv2.LINE_AA)
    return paper


@pytest.mark.parametrize("rgb", [
    np.full((400, 600, 3), 255, np.uint8),
    np.random.default_rng(5).integers(0, 256, (240, 320, 3), dtype=np.uint8),
    np.repeat(np.random.default_rng(6).integers(0, 256, (240, 320, 1), dtype=np.uint8), 3, axis=2),
    ruled_page(),
], ids=["blank", "colour-noise", "grey-noise", "ruled"])
def test_pages_without_digits_read_nothing(recognizer, rgb):
    reading = recognizer.read(encode(rgb))
    assert reading.text == "" and reading.digits == ()
