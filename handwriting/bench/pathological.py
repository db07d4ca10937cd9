"""The small files that once cost a worker a minute of CPU or gigabytes of memory (issue #14), built
here from a few lines of code each, so that tests and the load benchmark send them without binary
fixtures. Each is a valid image (or as valid as a hostile one gets) of a few KB to a few MB."""
import io
import struct

import numpy as np
from PIL import Image

MEGA = 40_000_000  # the default pixel limit: the biggest image the service still opens
MEGA_SIDE = (6400, 6250)  # MEGA pixels as a page


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def hairlines():
    """150 one-pixel vertical lines, 8 px apart, across a 1200 px page: once 240 dilations with a
    143-px kernel."""
    page = np.full((1200, 1200), 255, np.uint8)
    page[:, [8 * i + 4 for i in range(150)]] = 0
    return _png(page)


def dot_grid():
    """Dots 8 px apart over a 1200 px page."""
    page = np.full((1200, 1200), 255, np.uint8)
    page[4::8, 4::8] = 0
    page[5::8, 4::8] = 0
    return _png(page)


def combs():
    """Rows of combs with leaning teeth: wide blobs of leaning "digits", each cut at the most
    candidate columns, straight and leaning, every pair of cuts a crop."""
    page = np.full((1200, 1200), 255, np.uint8)
    for top in range(20, 1160, 60):
        for left in range(10, 1100, 290):
            page[top + 40: top + 44, left: left + 270] = 0  # the back that joins the teeth
            for x in range(left, left + 260, 9):
                for dy in range(40):
                    page[top + dy, x + (40 - dy) // 3: x + (40 - dy) // 3 + 2] = 0
    return _png(page)


def transparent_rgba():
    """MEGA pixels of half-transparent RGBA: once 2.25 GB in float conversions."""
    rgba = np.zeros((*MEGA_SIDE[::-1], 4), np.uint8)
    rgba[..., 3] = 128
    return _png(rgba)


def float_tiff():
    """MEGA pixels of 32-bit float, deflated."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros(MEGA_SIDE[::-1], np.float32)).save(buffer, "TIFF", compression="tiff_adobe_deflate")
    return buffer.getvalue()


def strip():
    """One row of MEGA pixels."""
    row = np.full((1, MEGA), 255, np.uint8)
    row[0, ::97] = 0
    return _png(row)


def sixteen_bit():
    """MEGA pixels of 16-bit grey."""
    return _png(np.full(MEGA_SIDE[::-1], 40_000, np.uint16))


def many_scans(extra=4000):
    """A small progressive JPEG whose first scan is sent again `extra` times: every scan is a pass
    of the decoder."""
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 200).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    start = data.index(b"\xff\xda")
    end = data.index(b"\xff", start + 2)
    while data[end + 1] in (0x00, *range(0xD0, 0xD8)):  # stuffed bytes and restart markers are scan data
        end = data.index(b"\xff", end + 2)
    return data[:end] + data[start:end] * extra + data[end:]


def gif_comments(count=1_000_000):
    """A 1x1 GIF preceded by `count` empty comment extensions."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + b"\x21\xfe\x00" * count + image + b"\x3b"


def rle_bmp(size=MEGA_SIDE):
    """An 8-bit run-length-encoded BMP of MEGA pixels: each row runs of 255 pixels."""
    width, height = size
    row = b"".join(bytes((min(255, width - x), x // 255 % 2)) for x in range(0, width, 255)) + b"\x00\x00"
    pixels = row * height + b"\x00\x01"
    palette = b"".join(bytes((v, v, v, 0)) for v in (255, 0)) + bytes(4 * 254)
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


CASES = {
    "hairlines": hairlines, "dot grid": dot_grid, "combs": combs, "transparent RGBA": transparent_rgba,
    "float TIFF": float_tiff, "1-row strip": strip, "16-bit PNG": sixteen_bit, "JPEG scans": many_scans,
    "GIF comments": gif_comments, "RLE BMP": rle_bmp,
}
