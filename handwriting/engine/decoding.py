"""Bytes to an upright RGB array, or a typed refusal that the API maps to a 4xx status."""
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from handwriting import config

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


def _to_rgb(image):
    """Any Pillow mode to RGB, with transparent areas set to contrast with the strokes."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        sixteen = image.mode.startswith("I;16") or values.max(initial=0) > 255
        top = 65535.0 if sixteen else 255.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return np.asarray(image.convert("RGB"))
    rgba = np.asarray(image.convert("RGBA"))
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    if alpha.min() > 0.99:
        return rgba[..., :3].copy()
    opaque = alpha[..., 0] > 0.5
    luminance = rgb[opaque] @ np.array([0.299, 0.587, 0.114], np.float32) if opaque.any() else np.zeros(1)
    background = 255.0 if luminance.mean() < 128 else 0.0
    return (rgb * alpha + background * (1.0 - alpha)).round().astype(np.uint8)


def decode(data, max_pixels=None, reduce_to=None):
    """Decode image bytes, refusing more than `max_pixels` (default: the settings'). `reduce_to`
    lets a large JPEG decode at a fraction of its size, as long as both sides stay at least that
    many pixels, which costs nothing for reading."""
    max_pixels = config.settings().max_pixels if max_pixels is None else max_pixels
    if not data:
        raise EmptyImage("the file is empty")
    foreign = _foreign_format(data)
    if foreign:
        raise UnsupportedFormat(f"{foreign} is not supported; send JPEG, PNG, WebP, BMP, TIFF or GIF")
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
    try:
        if reduce_to and image.format in ("JPEG", "MPO") and max(image.size) > 2 * reduce_to:
            image.draft("RGB", (reduce_to, reduce_to))
        reduction = width / image.size[0]  # 1, 2, 4 or 8 after a reduced JPEG decode
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
        rgb = _to_rgb(image)
    except Image.DecompressionBombError:
        raise TooManyPixels(f"the image has more than {max_pixels:,} pixels") from None
    except Exception:
        raise CorruptImage("the image is truncated or corrupt") from None
    upright_width, upright_height = round(rgb.shape[1] * reduction), round(rgb.shape[0] * reduction)
    return Decoded(np.ascontiguousarray(rgb), upright_width, upright_height)
