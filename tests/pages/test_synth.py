"""The benchmark generator: reproducible, decodable, and its true boxes match what it promises."""
import io

import pytest
from PIL import Image

from handwriting.pages import synth
from handwriting.engine.decoding import decode

COUNT = {"photo": 2}  # a 12-MP photo takes seconds to make
DIGITS = {"clean": (3, 8), "canvas": (1, 6), "paper": (3, 8), "touching": (2, 4), "photo": (2, 8), "single": (1, 1)}


@pytest.fixture(scope="module")
def samples(mnist):
    return {
        kind: [synth.generate(kind, mnist.x_test, mnist.y_test, seed=7, index=i) for i in range(COUNT.get(kind, 6))]
        for kind in synth.KINDS
    }


@pytest.mark.parametrize("kind", synth.KINDS)
def test_a_seed_and_index_always_give_the_same_sample(mnist, samples, kind):
    again = synth.generate(kind, mnist.x_test, mnist.y_test, seed=7, index=0)
    assert again == samples[kind][0]
    assert synth.generate(kind, mnist.x_test, mnist.y_test, seed=8, index=0).data != again.data


@pytest.mark.parametrize("kind", synth.KINDS)
def test_every_sample_decodes_with_one_box_per_digit_inside_the_image(samples, kind):
    for sample in samples[kind]:
        image = decode(sample.data)
        digits = sample.text.replace("\n", "")
        assert digits.isdigit() and len(sample.boxes) == len(digits)
        for x, y, w, h in sample.boxes:
            assert w > 0 and h > 0
            assert 0 <= x and x + w <= image.width and 0 <= y and y + h <= image.height


@pytest.mark.parametrize("kind", sorted(DIGITS))
def test_single_line_kinds_hold_the_stated_number_of_digits(samples, kind):
    low, high = DIGITS[kind]
    for sample in samples[kind]:
        assert "\n" not in sample.text and low <= len(sample.text) <= high


def test_fixed_size_kinds_have_their_size_and_format(samples):
    for sample in samples["photo"]:
        assert Image.open(io.BytesIO(sample.data)).format == "JPEG"
        assert decode(sample.data).image.shape == (3000, 4000, 3)
    for sample in samples["single"]:
        assert decode(sample.data).image.shape == (synth.SINGLE_SIZE, synth.SINGLE_SIZE, 3)
    assert all(Image.open(io.BytesIO(s.data)).format == "JPEG" for s in samples["paper"])


def test_canvas_comes_both_opaque_and_transparent(samples):
    transparent = [Image.open(io.BytesIO(s.data)).getextrema()[3][0] == 0 for s in samples["canvas"]]
    assert any(transparent) and not all(transparent)


def test_the_tallest_digit_has_the_stated_height(samples):
    """Some digits are wider than tall, so only the tallest of a number shows the writing size."""
    for kind, low, high in (("clean", 36, 125), ("photo", 70, 270), ("single", 90, 260)):
        for sample in samples[kind]:
            assert low <= max(h for _, _, _, h in sample.boxes) <= high


def test_clean_digits_are_separated_and_touching_ones_touch(samples):
    for sample in samples["clean"]:
        for left, right in zip(sample.boxes, sample.boxes[1:]):
            assert left[0] + left[2] < right[0]
    for sample in samples["touching"]:
        for left, right in zip(sample.boxes, sample.boxes[1:]):
            assert left[0] + left[2] >= right[0]


def test_multiline_lines_are_stacked_without_overlap(samples):
    for sample in samples["multiline"]:
        lines = sample.text.split("\n")
        assert 2 <= len(lines) <= 3 and all(2 <= len(line) <= 6 for line in lines)
        boxes, spans = list(sample.boxes), []
        for line in lines:
            row, boxes = boxes[: len(line)], boxes[len(line):]
            spans.append((min(y for _, y, _, _ in row), max(y + h for _, y, _, h in row)))
        assert all(upper[1] < lower[0] for upper, lower in zip(spans, spans[1:]))


def test_number_image_is_six_digits_in_1200_by_400(mnist):
    sample = synth.number_image(mnist.x_test, mnist.y_test)
    assert decode(sample.data).image.shape == (400, 1200, 3)
    assert len(sample.text) == 6 and len(sample.boxes) == 6
