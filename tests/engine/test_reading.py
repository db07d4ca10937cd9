"""Readings as people need them, with the shipped model: numbers as written from pages composed of
MNIST test digits and drawn separators, digits hidden by min_confidence left as "?", the messages,
and a page with more marks than the caps allow read from its beginning. Each digit composed is one
the engine reads right on its own (the first such of its label in the test set), so that a wrong
answer here is the engine's, not the classifier's."""
import dataclasses
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from handwriting.engine.reading import NO_DIGITS, Box, Reading
from helpers import glyph

HEIGHT = 80  # px, the digits' height on the composed pages
PEN = 9  # px, about the stroke of an MNIST digit at that height


def encode(ink):
    buffer = io.BytesIO()
    Image.fromarray(255 - ink).save(buffer, "PNG")
    return buffer.getvalue()


def separator(kind):
    """A separator's ink on its own canvas, and how far its bottom hangs below the baseline."""
    if kind == "-":
        ink = np.zeros((PEN, round(0.45 * HEIGHT)), np.uint8)
        cv2.line(ink, (PEN // 2, PEN // 2), (ink.shape[1] - PEN // 2 - 1, PEN // 2), 255, PEN)
        return ink, -round(0.45 * HEIGHT)
    ink = np.zeros((round(0.3 * HEIGHT), PEN + 8), np.uint8)
    cv2.circle(ink, (ink.shape[1] - PEN // 2 - 1, PEN // 2), PEN // 2 + 1, 255, -1)
    if kind == ",":
        cv2.line(ink, (ink.shape[1] - PEN // 2 - 1, PEN // 2), (3, ink.shape[0] - 3), 255, PEN // 2)
        return ink, ink.shape[0] - PEN
    return ink[:PEN + 2], 0


def compose(sure, text, margin=60):
    """`text` written: its digits from `sure`, "." "," "-" drawn with a pen like theirs, a space
    as paper three digit heights wide, each line on its own baseline 1.6 digit heights below the last."""
    pieces, width = [], 0
    for row, line in enumerate(text.split("\n")):
        x, baseline = 0, round((1 + 1.6 * row) * HEIGHT)
        for c in line:
            if c == " ":
                x += 3 * HEIGHT
                continue
            ink, drop = (glyph(sure[int(c)], HEIGHT), 0) if c.isdigit() else separator(c)
            pieces.append((ink, x, baseline + drop - ink.shape[0]))
            x += ink.shape[1] + round((0.3 if c.isdigit() else 0.15) * HEIGHT)
        width = max(width, x)
    top = min(y for _, _, y in pieces)
    page = np.zeros((max(y + ink.shape[0] for ink, _, y in pieces) - top + 2 * margin, width + 2 * margin), np.uint8)
    for ink, px, py in pieces:
        view = page[py - top + margin: py - top + margin + ink.shape[0], px + margin: px + margin + ink.shape[1]]
        np.maximum(view, ink, out=view)
    return page


@pytest.fixture(scope="module")
def sure(recognizer, mnist):
    """Per label, the first one-piece test digit that the engine reads right, surely, on its own."""
    chosen = {}
    for label in range(10):
        for index in np.flatnonzero(mnist.y_test == label):
            image = mnist.x_test[index]
            if cv2.connectedComponents((image >= 128).astype(np.uint8), connectivity=8)[0] != 2:
                continue
            reading = recognizer.read(encode(compose({label: image}, str(label))))
            if reading.digits_text == str(label) and reading.digits[0].probability >= 0.95:
                chosen[label] = image
                break
    assert sorted(chosen) == list(range(10))
    return chosen


@pytest.mark.parametrize("written, values", [
    ("12.50", [12.5]), ("-42", [-42]), ("3,5", [3.5]), ("1.000", [1000]), ("1,000", [1000]),
    ("735 426", [735, 426]), ("-6,35 18", [-6.35, 18]),
])
def test_numbers_are_read_as_written(recognizer, sure, written, values):
    reading = recognizer.read(encode(compose(sure, written)))
    body = reading.to_dict()
    assert body["text"] == written
    assert body["digits_text"] == "".join(c for c in written if c.isdigit())
    assert [n["text"] for n in body["numbers"]] == written.split(" ")
    assert [n["value"] for n in body["numbers"]] == values
    for prediction in body["predictions"]:
        number = body["numbers"][prediction["number"]]
        box, around = prediction["box"], number["box"]
        assert around["x"] <= box["x"] and box["x"] + box["width"] <= around["x"] + around["width"]
        assert str(prediction["digit"]) in number["text"]
    for number in body["numbers"]:
        members = [p["probability"] for p in body["predictions"] if body["numbers"][p["number"]] is number]
        assert number["confidence"] == pytest.approx(np.prod(members), abs=1e-3)
        assert number["line"] == 0


def unsure_first(reading, probability):
    """The reading with its first digit as unsure as `probability`."""
    first = dataclasses.replace(reading.found[0], probability=probability)
    return dataclasses.replace(reading, found=(first, *reading.found[1:]))


def test_min_confidence_leaves_a_question_mark_and_says_why(recognizer, sure):
    full = recognizer.read(encode(compose(sure, "67.89")))
    assert full.text == "67.89" and full.hidden == 0 and full.to_dict().get("message") is None
    hidden = unsure_first(full, 0.4).filtered(0.5)
    body = hidden.to_dict()
    assert body["text"] == "?7.89" and body["digits_text"] == "789"
    assert (body["count"], body["hidden"]) == (3, 1) and [p["digit"] for p in body["predictions"]] == [7, 8, 9]
    assert body["numbers"][0]["value"] is None and body["numbers"][0]["doubtful"] is True
    assert "1 of the 4 digits found is below min_confidence 0.5" in body["message"]
    nothing = full.filtered(1.01).to_dict()
    assert nothing["text"] == "??.??" and nothing["digits_text"] == "" and nothing["count"] == 0
    assert nothing["message"] == "4 digits were found but all are below min_confidence 1.01"


def test_min_confidence_is_the_same_as_filtering_the_reading(recognizer, sure):
    data = encode(compose(sure, "2024 1789"))
    full = recognizer.read(data)
    threshold = float(np.median([d.probability for d in full.digits]))
    kept = recognizer.read(data, min_confidence=threshold)
    assert kept == full.filtered(threshold)
    assert kept.found == full.found and kept.hidden == sum(round(d.probability, 4) < threshold for d in full.found)


def test_min_confidence_1_keeps_what_the_answer_shows_as_1(recognizer, sure):
    reading = recognizer.read(encode(compose(sure, "2024")), min_confidence=1.0)
    assert reading.digits == tuple(d for d in reading.found if d.to_dict()["probability"] == 1.0)


def test_a_hidden_line_keeps_its_place(recognizer, sure):
    full = recognizer.read(encode(compose(sure, "27\n1828")))
    assert full.text == "27\n1828"
    unsure = dataclasses.replace(full, found=tuple(
        dataclasses.replace(d, probability=0.2) if d.line == 0 else d for d in full.found))
    kept = unsure.filtered(0.5)
    assert (kept.text, kept.digits_text) == ("??\n1828", "1828")
    assert [d.line for d in kept.digits] == [1, 1, 1, 1] and kept.hidden == 2
    assert unsure.filtered(0.0).text == "27\n1828"


def test_doubtful_digits_are_marked(recognizer, sure):
    full = recognizer.read(encode(compose(sure, "27")))
    body = unsure_first(full, 0.6).to_dict()
    assert [p["doubtful"] for p in body["predictions"]] == [True, False]
    assert body["numbers"][0]["doubtful"] is True and body["confidence"] < round(full.confidence, 4)


def test_a_box_is_centred_halfway_along_each_side():
    assert Box(10, 20, 5, 8).centre == (12.5, 24.0)
    assert Box.scaled(10, 20, 5, 8, 2.0, 100, 100).centre == (25.0, 48.0)


def test_boxes_share_the_pixels_of_their_intersection_and_none_when_they_only_touch():
    assert Box(10, 20, 5, 8).overlap(Box(12, 24, 10, 10)) == 3 * 4 == Box(12, 24, 10, 10).overlap(Box(10, 20, 5, 8))
    assert Box(10, 20, 5, 8).overlap(Box(15, 20, 5, 8)) == 0 and Box(10, 20, 5, 8).overlap(Box(0, 40, 50, 5)) == 0


def test_no_digits_says_so():
    body = Reading((), 40, 30).to_dict()
    assert body["message"] == NO_DIGITS and body["confidence"] == 0 and body["numbers"] == []


def test_a_page_over_the_caps_is_read_from_its_beginning(recognizer, mnist):
    """A 20 x 20 grid of MNIST test digits is more marks than max_marks and more candidates than
    max_digits: the first rows are read, 1s and 7s as well as the bigger digits, and the answer says so."""
    side = 20
    ink = np.zeros((side * 28 + 40, side * 28 + 40), np.uint8)
    labels = mnist.y_test[:side * side].reshape(side, side)
    for k, image in enumerate(mnist.x_test[:side * side]):
        row, column = divmod(k, side)
        ink[20 + 28 * row: 48 + 28 * row, 20 + 28 * column: 48 + 28 * column] = image
    reading = recognizer.read(encode(ink))
    body = reading.to_dict()
    assert body["truncated"] is True and "max_digits" in body["limits"]
    assert "only the first in reading order were read" in body["message"]
    rows = sorted({(d.box.y + d.box.height // 2 - 20) // 28 for d in reading.digits})
    assert rows[0] == 0 and rows == list(range(len(rows))) and len(rows) < side
    read = [d.digit for d in reading.digits]
    expected = labels[:len(rows)].ravel()
    for digit in (1, 7):
        assert read.count(digit) >= 0.8 * np.count_nonzero(expected[:len(read)] == digit)
