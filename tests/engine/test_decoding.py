"""Decoding: every format a phone, a scanner or a browser sends, built in memory with Pillow, comes
out as an upright RGB array; everything else is refused with a typed error and a stable code."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from handwriting.engine.decoding import (
    CorruptImage, DecodeError, EmptyImage, NotAnImage, TooManyPixels, UnsupportedFormat, decode,
)

RED = (200, 30, 30)
ORIENTATION = 0x0112


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def patch_image(width=60, height=40):
    """White with a red block at rows 10-19, columns 5-14: where it lands shows the decode is right."""
    array = np.full((height, width, 3), 255, np.uint8)
    array[10:20, 5:15] = RED
    return Image.fromarray(array)


def flat(shade, size=(30, 20)):
    return Image.new("RGB", size, (shade, shade, shade))


def bilevel_png(width, height):
    """A valid all-black 1-bit PNG: tiny on disk whatever its size, the classic decompression bomb."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte, then the packed pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def assert_rgb(decoded, width, height):
    assert decoded.image.dtype == np.uint8 and decoded.image.shape == (height, width, 3)
    assert (decoded.width, decoded.height) == (width, height) and decoded.scale == 1.0


@pytest.mark.parametrize("fmt, tolerance", [
    ("JPEG", 40), ("PNG", 0), ("WEBP", 40), ("BMP", 0), ("TIFF", 0), ("GIF", 0),
])
def test_every_supported_format_decodes_to_rgb_with_content_in_place(fmt, tolerance):
    """Lossy formats blur the edge of the block, so its centre and a far corner are compared."""
    decoded = decode(encode(patch_image(), fmt))
    assert_rgb(decoded, 60, 40)
    assert np.abs(decoded.image[15, 10].astype(int) - RED).max() <= tolerance
    assert np.abs(decoded.image[35, 50].astype(int) - 255).max() <= min(tolerance, 10)


@pytest.mark.parametrize("fmt, options", [
    ("GIF", {"duration": 100, "loop": 0}),  # animated GIF
    ("PNG", {}),  # APNG
    ("TIFF", {}),  # multi-page TIFF
])
@pytest.mark.parametrize("first, second", [(10, 250), (250, 10)])
def test_multi_frame_images_give_their_first_frame(fmt, options, first, second):
    data = encode(flat(first), fmt, save_all=True, append_images=[flat(second)], **options)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    decoded = decode(data)
    assert_rgb(decoded, 30, 20)
    assert np.all(decoded.image == first)


def test_palette_png_keeps_its_colours():
    image = patch_image().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    decoded = decode(encode(image, "PNG"))
    assert_rgb(decoded, 60, 40)
    assert tuple(decoded.image[15, 10]) == RED and tuple(decoded.image[35, 50]) == (255, 255, 255)


def test_palette_png_with_a_transparent_background_shows_dark_strokes_on_white():
    """The transparent palette entry is black, as most editors save it: shown as is, the strokes vanish."""
    image = Image.new("P", (30, 20), 0)
    image.putpalette([0, 0, 0, 10, 10, 10] + [0] * 762)
    image.paste(1, (5, 5, 12, 15))
    decoded = decode(encode(image, "PNG", transparency=0))
    assert_rgb(decoded, 30, 20)
    assert np.all(decoded.image[0, 0] == 255) and np.all(decoded.image[10, 8] <= 10)


@pytest.mark.parametrize("value, expected", [(65535, 255), (32768, 128), (255, 1), (0, 0)])
def test_16_bit_greyscale_is_scaled_to_8_bits(value, expected):
    """A 16-bit pixel is read against 65535 whatever the rest of the image holds, so that the
    same level gives the same grey in a bright image and in a dark one."""
    for companion in (65535, 0):
        array = np.array([[value, companion]], np.uint16)
        image = Image.fromarray(array)
        assert image.mode == "I;16"
        decoded = decode(encode(image, "PNG"))
        assert decoded.image.shape == (1, 2, 3)
        assert abs(int(decoded.image[0, 0, 0]) - expected) <= 1, (value, companion, decoded.image[0, 0])
        assert np.all(decoded.image[0, 0] == decoded.image[0, 0, 0])


def test_cmyk_jpeg_comes_out_in_rgb():
    data = encode(patch_image().convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    decoded = decode(data)
    assert_rgb(decoded, 60, 40)
    assert np.abs(decoded.image[15, 10].astype(int) - RED).max() <= 20
    assert np.abs(decoded.image[35, 50].astype(int) - 255).max() <= 10


@pytest.mark.parametrize("ink, paper", [(0, 255), (255, 0)])
def test_grey_with_alpha_shows_strokes_against_a_contrasting_background(ink, paper):
    array = np.zeros((20, 30, 2), np.uint8)
    array[..., 0] = 255 - ink  # the colour under the transparency must not matter
    array[5:15, 5:10] = (ink, 255)
    decoded = decode(encode(Image.fromarray(array, "LA"), "PNG"))
    assert_rgb(decoded, 30, 20)
    assert np.all(decoded.image[10, 7] == ink) and np.all(decoded.image[0, 0] == paper)


@pytest.mark.parametrize("stroke, background", [((20, 20, 30), 255), ((255, 255, 255), 0)])
def test_transparent_canvas_gets_a_background_that_contrasts_with_its_strokes(stroke, background):
    """A browser canvas export: strokes on full transparency, dark pen or white pen. Both must
    stay visible, dark on white or light on black, anti-aliased edges blended toward it."""
    array = np.zeros((30, 40, 4), np.uint8)
    array[10:20, 10:30] = (*stroke, 255)
    array[10:20, 30] = (*stroke, 128)  # a half-covered edge
    decoded = decode(encode(Image.fromarray(array, "RGBA"), "PNG"))
    assert_rgb(decoded, 40, 30)
    assert np.all(decoded.image[0, 0] == background)
    assert np.all(decoded.image[15, 20] == stroke)
    edge = decoded.image[15, 30].astype(int)
    assert np.all(np.abs(edge - (np.array(stroke) + background) / 2) <= 2)


def test_an_opaque_rgba_image_keeps_its_colours_exactly():
    """A canvas exported with an opaque background: alpha is dropped, every colour kept as sent."""
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (30, 40, 4), np.uint8)
    array[..., 3] = rng.integers(253, 256, (30, 40))
    decoded = decode(encode(Image.fromarray(array, "RGBA"), "PNG"))
    assert_rgb(decoded, 40, 30)
    assert np.array_equal(decoded.image, array[..., :3])


def upright_with_marker():
    """40 rows x 60 columns, white, with a black marker near the top-left corner."""
    array = np.full((40, 60, 3), 255, np.uint8)
    array[4:10, 6:14] = 0
    return array


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation, turns", [(6, 1), (8, -1)])
def test_exif_orientation_gives_the_upright_image_and_its_size(fmt, orientation, turns):
    """A phone stores the sensor's pixels and an Orientation tag: 6 means "turn 90 degrees
    clockwise to view", so the stored pixels are the upright ones turned the other way (8 the
    reverse). The decoded image and its reported size must be the upright ones."""
    upright = upright_with_marker()
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright, turns)))
    assert stored.size == (40, 60)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    decoded = decode(encode(stored, fmt, exif=exif.tobytes()))
    assert_rgb(decoded, 60, 40)
    ys, xs = np.nonzero(decoded.image[..., 0] < 128)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == pytest.approx((4, 9, 6, 13), abs=1)


def test_large_jpeg_decodes_reduced_but_reports_the_original_size():
    array = np.full((2400, 3000, 3), 255, np.uint8)
    array[600:1200, 1500:2100] = 0
    data = encode(Image.fromarray(array), "JPEG", quality=80)
    decoded = decode(data, reduce_to=600)
    assert (decoded.width, decoded.height) == (3000, 2400)
    assert decoded.scale > 1
    height, width = decoded.image.shape[:2]
    assert min(height, width) >= 600 and width < 3000
    assert width * decoded.scale == pytest.approx(3000) and height * decoded.scale == pytest.approx(2400)
    ys, xs = np.nonzero(decoded.image[..., 0] < 128)
    box = np.array([ys.min(), ys.max() + 1, xs.min(), xs.max() + 1]) * decoded.scale
    assert box == pytest.approx([600, 1200, 1500, 2100], abs=2 * decoded.scale)
    assert decode(data).image.shape == (2400, 3000, 3)


def refusal(data, expected, code, **options):
    with pytest.raises(expected) as caught:
        decode(data, **options)
    assert isinstance(caught.value, DecodeError)
    assert caught.value.code == code
    assert str(caught.value)  # a message for people, besides the code for machines


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'
SVG_XML = b'<?xml version="1.0" encoding="UTF-8"?>\n' + SVG
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize("data, expected, code", [
    (b"", EmptyImage, "empty_file"),
    (b"12345 is the number\n", NotAnImage, "not_an_image"),
    (b"<!DOCTYPE html>\n<html><body><p>digits</p></body></html>", NotAnImage, "not_an_image"),
    (b'{"digits": [1, 2, 3]}', NotAnImage, "not_an_image"),
    (SVG, UnsupportedFormat, "unsupported_type"),
    (b"  \n" + SVG, UnsupportedFormat, "unsupported_type"),
    (SVG_XML, UnsupportedFormat, "unsupported_type"),
    (PDF, UnsupportedFormat, "unsupported_type"),
], ids=["empty", "text", "html", "json", "svg", "svg-after-blank", "svg-with-xml-declaration", "pdf"])
def test_what_is_not_a_supported_image_is_refused_with_its_code(data, expected, code):
    """The bytes are all the decoder sees: an SVG or PDF named "digits.png" is still refused."""
    refusal(data, expected, code)


def noise_image():
    return Image.fromarray(np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_corrupt(fmt, keep):
    data = encode(noise_image(), fmt)
    refusal(data[: int(len(data) * keep)], CorruptImage, "corrupt_image")


@pytest.mark.parametrize("fmt, keep", [("PNG", 33), ("JPEG", 20)])
def test_a_file_cut_off_in_its_header_is_corrupt_not_foreign(fmt, keep):
    """33 bytes of PNG are its signature and its whole IHDR chunk; 20 of JPEG its start marker and
    its whole JFIF header: recognisably that format, so a broken image, not something else."""
    refusal(encode(noise_image(), fmt)[:keep], CorruptImage, "corrupt_image")


def test_a_few_kilobytes_of_png_over_the_pixel_budget_are_refused():
    """48 million pixels in 6 KB: refused from the header, before any pixel is decoded."""
    data = bilevel_png(8000, 6000)
    assert len(data) < 10_000
    refusal(data, TooManyPixels, "too_many_pixels", max_pixels=40_000_000)


def test_a_decompression_bomb_far_over_any_budget_is_refused():
    data = bilevel_png(30000, 30000)
    assert len(data) < 200_000
    refusal(data, TooManyPixels, "too_many_pixels")


def test_the_pixel_budget_is_inclusive():
    data = encode(patch_image(100, 50), "PNG")
    assert decode(data, max_pixels=5000).image.shape == (50, 100, 3)
    refusal(data, TooManyPixels, "too_many_pixels", max_pixels=4999)
