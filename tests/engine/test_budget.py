"""The bounds of one read (issue #14) on small generated inputs: what the decoder refuses before it
decodes, the crops and the deadline of a Budget, and a hair-thin stroke normalised at a bounded
scale. The same files through the real server are in tests/web/test_limits.py."""
import dataclasses
import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from handwriting import config
from handwriting.bench import pathological
from handwriting.engine import cutting, decoding
from handwriting.engine.blobs import Blob
from handwriting.engine.limits import Budget, TooComplex
from handwriting.engine.normalisation import to_mnist


def settings(**changes):
    return dataclasses.replace(config.settings(), **changes)


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_decoded_bytes_are_counted_from_the_header_not_the_file():
    rgba = np.zeros((100, 100, 4), np.uint8)  # a few hundred bytes of PNG, 40,000 decoded
    with pytest.raises(decoding.TooManyBytes):
        decoding.decode(png(rgba), settings=settings(max_decoded_bytes=39_999))
    assert decoding.decode(png(rgba), settings=settings(max_decoded_bytes=40_000)).image.shape == (100, 100, 3)


def test_sixteen_bits_count_twice_and_grey_at_least_as_rgb():
    assert decoding.decoded_bytes(Image.new("I;16", (10, 10))) == 300  # 2 bytes a pixel, RGB's 3 at least
    assert decoding.decoded_bytes(Image.new("F", (10, 10))) == 400
    assert decoding.decoded_bytes(Image.new("L", (10, 10))) == 300


@pytest.mark.parametrize("data, limit", [
    (pathological.many_scans(100), {"max_jpeg_scans": 64}),
    (pathological.gif_comments(5000), {"max_gif_blocks": 4096}),
    (pathological.rle_bmp((300, 300)), {"max_rle_pixels": 89_999}),
])
def test_parser_work_over_its_limit_is_too_complex(data, limit):
    with pytest.raises(TooComplex):
        decoding.decode(data, settings=settings(**limit))


def test_the_same_files_under_their_limits_decode():
    assert decoding.decode(pathological.gif_comments(10)).image.shape == (1, 1, 3)
    assert decoding.decode(pathological.rle_bmp((300, 300))).image.shape == (300, 300, 3)


def test_half_transparent_pixels_are_flattened_in_chunks_as_before():
    """Row by row through BLEND_PIXELS, the same as one float conversion of the whole."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (300, 5000, 4), dtype=np.uint8)
    got = decoding.decode(png(rgba)).image
    alpha = rgba[..., 3:4] / 255.0
    background = 0.0 if (rgba[rgba[..., 3] > 127][:, :3] @ [0.299, 0.587, 0.114]).mean() >= 128 else 255.0
    want = (rgba[..., :3] * alpha + background * (1 - alpha)).round()
    assert np.abs(got.astype(int) - want).max() <= 1


def test_a_budget_hands_out_crops_until_none_are_left():
    budget = Budget(math.inf, 10)
    assert budget.take(6) and not budget.take(5) and budget.take(4) and not budget.take(1)


def test_a_spent_budget_is_too_complex():
    with pytest.raises(TooComplex, match="cutting"):
        Budget(-1.0, 10).check("cutting")


def test_cut_plans_that_do_not_fit_read_the_blob_whole():
    mask = np.zeros((40, 200), np.uint8)
    for x in range(0, 200, 20):
        mask[:, x: x + 4] = 255
    blob = Blob(0, 0, 200, 40, mask)
    budget = Budget(math.inf, 1)
    lines = cutting.plan([[blob]], 40, budget)
    assert len(cutting.candidates(lines)) == 1 and budget.cut_short == {"max_crops"}
    assert len(cutting.candidates(cutting.plan([[blob]], 40))) > 1  # unbounded, it is cut


def test_a_blob_that_does_not_fit_at_all_is_left_out():
    blob = Blob(0, 0, 20, 40, np.full((40, 20), 255, np.uint8))
    lines = cutting.plan([[blob]], 40, Budget(math.inf, 0))
    assert cutting.candidates(lines).shape[0] == 0


def test_a_hair_thin_stroke_the_height_of_a_page_becomes_an_mnist_wide_stroke():
    """Shrunk to 80 px before its strokes change, it no longer needs a kernel 143 px wide."""
    mask = np.zeros((1200, 1200), np.uint8)
    cv2.circle(mask, (600, 600), 590, 255, 1)
    digit = to_mnist(mask)
    row = (digit[14] > 127).astype(int)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], row, [0]])))
    widths = edges[1::2] - edges[::2]
    assert len(widths) == 2 and 1 <= widths.min() and widths.max() <= 4, widths
