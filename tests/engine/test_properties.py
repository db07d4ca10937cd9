"""Property-based tests of decode -> segment -> read, issue #5. For any bytes the decoder answers
or refuses with a DecodeError; for any pixels the engine answers a Reading that holds together
(boxes inside the image, probabilities in [0, 1], lines numbered 0..k, digits_text made of the
digits shown and text of every digit found, the body valid against the API's own schema), in a
time bounded by the number of pixels."""
import io
import json
import time

import cv2
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from jsonschema import Draft202012Validator
from PIL import Image

from handwriting.engine import decoding
from handwriting.web import openapi

BASE_S, PER_MEGAPIXEL_S = 5.0, 10.0  # generous: a read of 1 MP takes well under a second unloaded
SCHEMAS = openapi.document(1, 1)["components"]["schemas"]
RECOGNITION = Draft202012Validator({**SCHEMAS["Recognition"], "components": {"schemas": SCHEMAS}})
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ")
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")


def time_limit(pixels):
    return BASE_S + PER_MEGAPIXEL_S * pixels / 1e6


def timed_read(recognizer, decoded):
    started = time.perf_counter()
    reading = recognizer.read_decoded(decoded)
    elapsed = time.perf_counter() - started
    pixels = decoded.image.shape[0] * decoded.image.shape[1]
    assert elapsed < time_limit(pixels), f"{elapsed:.1f} s for {decoded.image.shape}"
    return reading


def check_reading(reading, width, height):
    """Every invariant a Reading promises, for an image of width x height upright pixels: one read
    turned a quarter (its orientation) has the turned image's sides, and its boxes lie in those."""
    if reading.orientation in (90, 270):
        width, height = height, width
    assert (reading.width, reading.height) == (width, height)
    lines = [digit.line for digit in reading.found]
    assert lines == sorted(lines), "digits are in reading order, line by line"
    assert sorted(set(lines)) == list(range(len(set(lines)))), f"lines numbered 0..k consecutively: {lines}"
    for digit in reading.digits:
        assert 0 <= digit.digit <= 9 and 0.0 <= digit.probability <= 1.0
        box = digit.box
        assert box.x >= 0 and box.y >= 0 and box.width >= 1 and box.height >= 1
        assert box.x + box.width <= width and box.y + box.height <= height, (box, width, height)
        ranked = [digit.probability] + [p for _, p in digit.alternatives]
        assert all(0.0 <= p <= 1.0 for p in ranked) and ranked == sorted(ranked, reverse=True)
        assert digit.digit not in [d for d, _ in digit.alternatives]
        assert digit.crop.shape == (28, 28) and digit.crop.dtype == np.uint8
    shown = [digit.line for digit in reading.digits]
    text_lines = reading.digits_text.split("\n") if reading.digits else []
    assert [len(line) for line in text_lines] == [shown.count(k) for k in sorted(set(shown))]
    assert "".join(text_lines) == "".join(str(digit.digit) for digit in reading.digits)
    written = [c for c in reading.text if c.isdigit() or c == "?"]
    assert written == [str(d.digit) if d in reading.digits else "?" for d in reading.found]
    assert reading.text.count("\n") == max(len(set(lines)) - 1, 0)
    body = json.loads(json.dumps({"success": True, **reading.to_dict(), "model": {"name": "m", "version": "v"}, "elapsed_ms": 0}))
    errors = [error.message for error in RECOGNITION.iter_errors(body)]
    assert not errors, errors


def encode(image, fmt):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt)
    return buffer.getvalue()


# ---- any bytes ---------------------------------------------------------------------------------


def _mutated(data, seed):
    """A valid file with a few bytes changed, a piece cut out or its tail cut off."""
    rng = np.random.default_rng(seed)
    data = bytearray(data)
    kind = rng.integers(3)
    if kind == 0:
        for index in rng.integers(0, len(data), int(rng.integers(1, 8))):
            data[index] = int(rng.integers(256))
    elif kind == 1:
        start = int(rng.integers(len(data)))
        del data[start: start + int(rng.integers(1, 64))]
    else:
        del data[int(rng.integers(1, len(data))):]
    return bytes(data)


small_images = st.builds(
    lambda h, w, seed, fmt: encode(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8), fmt),
    st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1), st.sampled_from(FORMATS),
)
any_bytes = st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda magic, tail: magic + tail, st.sampled_from(SIGNATURES), st.binary(max_size=2048)),
    st.builds(_mutated, small_images, st.integers(0, 2**32 - 1)),
)


@settings(max_examples=300, deadline=None)
@given(data=any_bytes)
def test_any_bytes_decode_or_raise_a_decode_error(recognizer, data):
    try:
        decoded = decoding.decode(data, recognizer.settings.max_pixels, reduce_to=recognizer.settings.working_side)
    except decoding.DecodeError as error:
        assert error.code in openapi.ERROR_CODES and str(error)
        return
    image = decoded.image
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 and image.flags.c_contiguous
    assert decoded.width >= 1 and decoded.height >= 1
    check_reading(timed_read(recognizer, decoded), decoded.width, decoded.height)


# ---- any pixels --------------------------------------------------------------------------------


def _strokes(rng, height, width):
    """Up to 30 random lines and arcs on a plain background, of random thickness and contrast."""
    background = rng.integers(0, 256, 3)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = background
    ink = np.where(background > 127, rng.integers(0, 100, 3), rng.integers(156, 256, 3))
    for _ in range(int(rng.integers(1, 31))):
        a, b = (int(rng.integers(0, width)), int(rng.integers(0, height))), (int(rng.integers(0, width)), int(rng.integers(0, height)))
        thickness = int(rng.integers(1, max(2, min(height, width) // 8) + 1))
        if rng.random() < 0.5:
            cv2.line(image, a, b, ink.tolist(), thickness)
        else:
            axes = (int(rng.integers(1, width + 1)), int(rng.integers(1, height + 1)))
            cv2.ellipse(image, a, axes, float(rng.uniform(0, 360)), 0, float(rng.uniform(30, 360)), ink.tolist(), thickness)
    return image


def pixels(kind, height, width, seed):
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "constant":
        return np.broadcast_to(rng.integers(0, 256, 3).astype(np.uint8), (height, width, 3)).copy()
    if kind == "strokes":
        return _strokes(rng, height, width)
    return np.clip(_strokes(rng, height, width) + rng.normal(0, 25, (height, width, 1)), 0, 255).astype(np.uint8)


shapes = st.one_of(
    st.tuples(st.integers(1, 3), st.integers(1, 600)),  # 1xN
    st.tuples(st.integers(1, 600), st.integers(1, 3)),  # Nx1
    st.tuples(st.integers(1, 16), st.integers(1, 16)),  # tiny
    st.tuples(st.integers(1, 600), st.integers(1, 600)),
    st.tuples(st.integers(1, 12), st.integers(1201, 30_000)),  # strips the engine shrinks to its working side
)


@settings(max_examples=80, deadline=None)
@given(
    shape=shapes,
    kind=st.sampled_from(["noise", "constant", "strokes", "noisy strokes"]),
    seed=st.integers(0, 2**32 - 1),
    through=st.sampled_from([None, "PNG", "JPEG"]),
    min_confidence=st.floats(0, 1),
)
@example(shape=(600, 600), kind="noise", seed=0, through="PNG", min_confidence=0.5)
@example(shape=(8, 200_000), kind="strokes", seed=0, through=None, min_confidence=0.0)
@example(shape=(1, 1201), kind="noisy strokes", seed=0, through=None, min_confidence=0.0)  # was a cv2.error
@example(shape=(1, 1800), kind="strokes", seed=0, through=None, min_confidence=0.0)  # was a box 2 px tall
def test_any_pixels_give_a_consistent_reading_in_bounded_time(recognizer, shape, kind, seed, through, min_confidence):
    height, width = shape
    image = pixels(kind, height, width, seed)
    if through:  # also the whole way from bytes, which must decode: these are valid images
        decoded = decoding.decode(encode(image, through), recognizer.settings.max_pixels, recognizer.settings.working_side)
        assert (decoded.width, decoded.height) == (width, height)
    else:
        decoded = decoding.Decoded(image, width, height)
    reading = timed_read(recognizer, decoded)
    check_reading(reading, width, height)
    strict = reading.filtered(min_confidence)
    check_reading(strict, width, height)
    assert all(round(digit.probability, 4) >= min_confidence for digit in strict.digits)
    assert len(strict.digits) + strict.hidden == len(reading.found)
    assert len(strict.digits) == sum(round(digit.probability, 4) >= min_confidence for digit in reading.digits)


@pytest.mark.slow
def test_many_small_marks_cost_bounded_time(recognizer):
    """A 1200 x 1200 grid of 10,000 dots is a few KB of PNG; every dot is a candidate mark."""
    image = np.full((1200, 1200, 3), 255, np.uint8)
    for y in range(0, 1192, 12):
        for x in range(0, 1192, 12):
            image[y: y + 8, x: x + 8] = 0
    data = encode(image, "PNG")
    assert len(data) < 20_000
    decoded = decoding.decode(data)
    check_reading(timed_read(recognizer, decoded), 1200, 1200)


def test_hair_thin_lines_cost_bounded_time(recognizer):
    """Four hair-thin lines nearly as long as the image is wide: a PNG of a few hundred bytes whose
    every column was once tried as a cut between digits, for minutes of work."""
    image = np.full((40, 1200, 3), 255, np.uint8)
    image[5:37:8, 100:1050] = 0
    data = encode(image, "PNG")
    assert len(data) < 1000
    check_reading(timed_read(recognizer, decoding.decode(data)), 1200, 40)
