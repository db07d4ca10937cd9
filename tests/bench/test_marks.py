"""Pages of non-digit marks (issue #17): reproducible, decodable, each kind drawing what it says;
`--marks` on the command line; and what the real engine makes of them."""
import copy
import dataclasses

import numpy as np
import pytest

from handwriting.bench.__main__ import parse_args
from handwriting.bench.marks import confident_digits
from handwriting.engine import calibration
from handwriting.engine.decoding import decode
from handwriting.pages import marks


@pytest.mark.parametrize("kind", marks.KINDS)
def test_a_kind_seed_and_index_always_give_the_same_page(kind):
    page = marks.generate(kind, 3, 0)
    assert marks.generate(kind, 3, 0) == page
    assert marks.generate(kind, 4, 0).image_bytes != page.image_bytes
    assert page.kind == kind and page.meta["marks"] == kind


@pytest.mark.parametrize("kind", marks.KINDS)
def test_every_page_decodes_at_its_size_with_something_on_it(kind):
    for index in range(3):
        page = marks.generate(kind, 5, index)
        decoded = decode(page.image_bytes)
        assert [decoded.width, decoded.height] == page.meta["size"]
        grey = decoded.image.mean(axis=2)
        assert np.percentile(grey, 99.9) - grey.min() > 20, "a page with nothing on it tests nothing"


def test_a_shadow_page_holds_no_ink_but_a_darker_part():
    page = marks.generate("shadow", 0, 1)
    grey = decode(page.image_bytes).image.mean(axis=2)
    assert page.meta["output"] == "jpeg"
    assert np.percentile(grey, 5) < np.percentile(grey, 95) - 30


def test_letters_are_drawn_from_shapes_that_are_no_digit():
    page = marks.generate("letters", 0, 2)
    assert page.meta["words"] and all(set(word) <= set(marks.LETTERS) for word in page.meta["words"])
    assert not set(marks.LETTERS) & set("0123456789lIoOsSzZbgq")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        marks.generate("doodle", 0, 0)


def test_the_command_line_takes_marks_with_seeds_and_refuses_seeds_alone():
    args = parse_args(["--marks", "--seeds", "0,2", "--n", "5"])
    assert (args.mode, args.seeds, args.n) == ("marks", [0, 2], 5)
    with pytest.raises(SystemExit):
        parse_args(["--seeds", "0,2"])


def test_the_context_of_the_page_keeps_most_non_digit_marks_from_being_shown_as_digits(recognizer):
    """Scribbles, lone strokes and letter-like words at a seed nothing was fitted on: the engine as
    shipped shows a digit at 0.5 or more on far fewer of them than the same engine reporting the
    model's own probabilities (measured 5 of 60 against 59 of 60; 19 of 60 before the page's doubt
    was weighed)."""
    plain = copy.copy(recognizer)
    plain.calibration = calibration.Calibration()
    pages = [marks.generate(kind, 3, index).image_bytes for kind in ("scribble", "strokes", "letters") for index in range(20)]
    shown = sum(bool(confident_digits(recognizer.read(page))) for page in pages)
    raw = sum(bool(confident_digits(plain.read(page))) for page in pages)
    assert shown <= len(pages) // 6 and shown <= raw // 4, (shown, raw)


def test_what_the_digit_model_makes_of_the_line_readers_digits_keeps_smudges_and_shadows_from_being_digits(recognizer):
    """Where the line reader, reading a page whole, replaced the cut search's reading, its digits are
    weighed by what the digit model makes of each crop (calibration.whole_features): on smudges,
    shadows and blots at a seed nothing was fitted on, measured 3 of 60 pages shown a digit against
    12 of 60 with the line reader's probability alone."""
    alone = copy.copy(recognizer)
    alone.calibration = dataclasses.replace(recognizer.calibration, whole=())
    assert recognizer.calibration.whole, "models/digit_cnn.json states no whole weights: run handwriting.training.calibrate"
    pages = [marks.generate(kind, 3, index).image_bytes for kind in ("smudge", "shadow", "blobs") for index in range(20)]
    shown = sum(bool(confident_digits(recognizer.read(page))) for page in pages)
    unweighed = sum(bool(confident_digits(alone.read(page))) for page in pages)
    assert shown < unweighed * 2 // 3, (shown, unweighed)


def test_digits_of_pages_the_line_reader_was_not_asked_about_are_weighed_by_their_page(recognizer):
    """A page of more lines than the line reader confirms (strokes and blots scattered over many
    short lines) has its digits weighed by their crops and their page (calibration.alone_features):
    on such pages at a seed nothing was fitted on, measured 3 of 60 shown a digit against 8 of 60
    with the model's probabilities alone."""
    unweighed = copy.copy(recognizer)
    unweighed.calibration = dataclasses.replace(recognizer.calibration, alone=())
    assert recognizer.calibration.alone, "models/digit_cnn.json states no alone weights: run handwriting.training.calibrate"
    pages = [marks.generate(kind, 3, index).image_bytes for kind in ("strokes", "blobs") for index in range(30)]
    shown = sum(bool(confident_digits(recognizer.read(page))) for page in pages)
    raw = sum(bool(confident_digits(unweighed.read(page))) for page in pages)
    assert shown <= raw // 2, (shown, raw)
