"""Bytes to an upright RGB array, or a typed refusal that the API maps to a 4xx status."""
import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from handwriting import config
from handwriting.engine.limits import TooComplex

warnings.simplefilter("ignore", Image.DecompressionBombWarning)

FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "PPM")
_FOREIGN = ((b"%PDF", "PDF"), (b"<svg", "SVG"), (b"<?xml", "SVG/XML"), (b"GIF8", "GIF"), (b"8BPS", "PSD"),
            (b"\x00\x00\x01\x00", "ICO"), (b"%!PS", "PostScript"), (b"\xff\x4f\xff\x51", "JPEG 2000"))


class DecodeError(Exception):
    """Base of every refusal; `code` is stable and machine-readable, the message is for people."""

    code = "unreadable_image"


class EmptyImage(DecodeError):
    code = "empty_file"


class NotAnImage(DecodeError):
    code = "not_an_image"


class UnsupportedFormat(DecodeError):
    code = "unsupported_type"


class CorruptImage(DecodeError):
    code = "corrupt_image"


class TooManyPixels(DecodeError):
    code = "too_many_pixels"


class TooManyBytes(DecodeError):
    code = "too_many_bytes"


@dataclass(frozen=True)
class Decoded:
    image: np.ndarray  # (H, W, 3) uint8, upright, transparency flattened
    width: int  # of the upright original, before any reduced decode
    height: int

    @property
    def scale(self):
        """Original pixels per array pixel (1.0 unless a large JPEG was decoded reduced)."""
        return self.width / self.image.shape[1]


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
_BAND_BYTES = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}
BLEND_PIXELS = 1 << 20  # transparency is flattened this many pixels at a time, in float32
LUMINANCE_SAMPLE = 1 << 20  # the ink's mean luminance is read on about this many pixels


def _looks_like_image(data):
    """The signature of a format we read: a file that has one but will not open is corrupt."""
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _foreign_format(data):
    head = data[:512].lstrip().lower()
    for magic, name in _FOREIGN:
        if head.startswith(magic.lower()) and name != "GIF":
            return name
    if b"<svg" in head:
        return "SVG"
    return None


def _as_mode(image, mode):
    """`image` in `mode`; Pillow's convert copies an image already in it, megabytes for a photo."""
    return image if image.mode == mode else image.convert(mode)


def _to_rgb(image):
    """Any Pillow mode to RGB, with transparent areas set to contrast with the strokes; never more
    than one float32 copy of BLEND_PIXELS pixels at a time."""
    if image.mode in ("I;16", "I;16B", "I;16L"):
        return np.repeat((np.asarray(image) >> 8).astype(np.uint8)[..., None], 3, axis=2)
    if image.mode in ("I", "F"):
        values = np.array(image, dtype=np.float32)
        top = 65535.0 if values.max(initial=0) > 255 else 255.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return np.asarray(_as_mode(image, "RGB"))
    rgba = np.asarray(_as_mode(image, "RGBA"))
    if rgba[..., 3].min() > 252:  # opaque within 1 %: OpenCV drops the alpha 30 times faster than a strided copy
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
    step = max(1, int(np.sqrt(rgba.shape[0] * rgba.shape[1] / LUMINANCE_SAMPLE)))
    sample = rgba[::step, ::step].reshape(-1, 4)
    opaque = sample[sample[:, 3] > 127, :3].astype(np.float32)
    luminance = opaque @ np.array([0.299, 0.587, 0.114], np.float32) if len(opaque) else np.zeros(1)
    background = 255.0 if luminance.mean() < 128 else 0.0
    rgb = np.empty((*rgba.shape[:2], 3), np.uint8)
    rows = max(1, BLEND_PIXELS // rgba.shape[1])
    for top in range(0, rgba.shape[0], rows):
        part = rgba[top: top + rows].astype(np.float32)
        alpha = part[..., 3:4] / 255.0
        rgb[top: top + rows] = (part[..., :3] * alpha + background * (1.0 - alpha)).round()
    return rgb


def decoded_bytes(image):
    """The bytes of the decoded pixels (pixels x bands x bytes per band), at least RGB's 3 per
    pixel: what reading the image costs in memory, whatever the file's size."""
    per_pixel = len(image.getbands()) * _BAND_BYTES.get(image.mode, 1)
    return image.size[0] * image.size[1] * max(3, per_pixel)


def _gif_blocks(data, limit):
    """The extension sub-blocks before a GIF's first frame, counted up to `limit` + 1: Pillow joins
    comments by copying, so a million of them cost seconds, while a real GIF has a handful."""
    flags = data[10] if len(data) > 10 else 0
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    blocks = 0
    while at < len(data) and data[at] == 0x21 and blocks <= limit:
        at += 2  # introducer and label, then sub-blocks until an empty one
        while at < len(data) and data[at] and blocks <= limit:
            at += data[at] + 1
            blocks += 1
        at += 1
        blocks += 1
    return blocks


def _parser_work(data, settings):
    """Refuse, from the bytes alone, what would keep the parser busy far longer than its pixels
    suggest: JPEG scans (a marker that entropy-coded data cannot contain) and GIF blocks."""
    if data.startswith(b"\xff\xd8\xff") and data.count(b"\xff\xda") > settings.max_jpeg_scans:
        raise TooComplex(f"the JPEG has more than {settings.max_jpeg_scans} scans")
    if data.startswith(b"GIF8") and _gif_blocks(data, settings.max_gif_blocks) > settings.max_gif_blocks:
        raise TooComplex(f"the GIF has more than {settings.max_gif_blocks:,} extension blocks before its image")


def _decoder_work(image, settings):
    """Refuse, once the header is read, a run-length BMP too big for Pillow's decoder in Python."""
    pixels = image.size[0] * image.size[1]
    if image.tile and image.tile[0][0] == "bmp_rle" and pixels > settings.max_rle_pixels:
        raise TooComplex(f"a run-length BMP of {pixels:,} pixels is over the limit of {settings.max_rle_pixels:,}")


def decode(data, max_pixels=None, reduce_to=None, settings=None):
    """Decode image bytes, refusing more than `max_pixels` (default: the settings'), more decoded
    bytes than the settings allow, and files whose parsing costs more than their pixels (raises
    limits.TooComplex). `reduce_to` lets a large JPEG decode at a fraction of its size, as long as
    both sides stay at least that many pixels, which costs nothing for reading."""
    settings = settings or config.settings()
    max_pixels = settings.max_pixels if max_pixels is None else max_pixels
    if not data:
        raise EmptyImage("the file is empty")
    foreign = _foreign_format(data)
    if foreign:
        raise UnsupportedFormat(f"{foreign} is not supported; send JPEG, PNG, WebP, BMP, TIFF or GIF")
    _parser_work(data, settings)
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise TooManyPixels(f"the image has more than {max_pixels:,} pixels") from None
    except UnidentifiedImageError:
        if _looks_like_image(data):
            raise CorruptImage("the image is truncated or corrupt") from None
        raise NotAnImage("the file is not an image") from None
    except Exception:
        raise CorruptImage("the image cannot be decoded") from None
    if image.format not in FORMATS:
        raise UnsupportedFormat(f"{image.format} is not supported; send JPEG, PNG, WebP, BMP, TIFF or GIF")
    width, height = image.size
    if width * height > max_pixels:
        raise TooManyPixels(f"the image has {width * height:,} pixels, over the limit of {max_pixels:,}")
    if width < 1 or height < 1:
        raise CorruptImage("the image has no pixels")
    _decoder_work(image, settings)
    try:
        if reduce_to and image.format in ("JPEG", "MPO") and max(image.size) > 2 * reduce_to:
            image.draft("RGB", (reduce_to, reduce_to))
    except Exception:
        raise CorruptImage("the image is truncated or corrupt") from None
    if decoded_bytes(image) > settings.max_decoded_bytes:
        raise TooManyBytes(
            f"the image decodes to {decoded_bytes(image):,} bytes, over the limit of {settings.max_decoded_bytes:,}; "
            "send it as 8-bit RGB or at fewer pixels"
        )
    try:
        reduction = width / image.size[0]  # 1, 2, 4 or 8 after a reduced JPEG decode
        image.seek(0)
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # in place: else a copy, turned or not
        rgb = _to_rgb(image)
    except Image.DecompressionBombError:
        raise TooManyPixels(f"the image has more than {max_pixels:,} pixels") from None
    except Exception:
        raise CorruptImage("the image is truncated or corrupt") from None
    upright_width, upright_height = round(rgb.shape[1] * reduction), round(rgb.shape[0] * reduction)
    return Decoded(np.ascontiguousarray(rgb), upright_width, upright_height)
