"""The requests of the load test: a seeded pool of valid uploads (canvas drawings, multi-digit
PNGs, 12-MP photo JPEGs from handwriting.pages.synth) and hostile ones, each with the status and
code the API contract names for it, and the order they are sent in."""
import base64
import json
import zlib
from typing import NamedTuple

import numpy as np

from handwriting import config
from handwriting.bench.common import multipart

WEIGHTS = {"canvas": 0.35, "number": 0.35, "photo": 0.05, "hostile": 0.25}  # share of each group in the mix
URL = "/api/digit_recognize"


class Case(NamedTuple):
    """One request and the answer the contract names for it."""

    name: str
    group: str  # a key of WEIGHTS
    method: str
    path: str
    body: bytes | None
    content_type: str | None
    status: int
    code: str | None = None  # the error code of a refusal


def _png_chunk(kind, data):
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_bomb(side=30_000):
    """A valid 1-bit black PNG of side x side pixels that is about side**2 / 8000 bytes: 900 MP, 110 KB."""
    packer = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # filter byte 0, then the bits of one row
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = side.to_bytes(4, "big") * 2 + bytes((1, 0, 0, 0, 0))  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _upload(name, group, filename, data, status=200, code=None):
    body, content_type = multipart("file", filename, data)
    return Case(name, group, "POST", URL, body, content_type, status, code)


def _json(name, group, payload, status=200, code=None):
    return Case(name, group, "POST", URL, json.dumps(payload).encode(), "application/json", status, code)


def _data_url(data):
    return "data:image/png;base64," + base64.b64encode(data).decode()


def hostile_cases(mnist, seed=0):
    """Requests the API must refuse, each with its contracted status and code."""
    from handwriting.pages import synth

    valid_png = synth.generate("clean", mnist.x_test, mnist.y_test, seed, 0).data
    over_limit = config.settings().max_upload_bytes + 1  # the server's own limit, from the same environment
    noise = np.random.default_rng(seed).integers(0, 256, over_limit, dtype=np.uint8).tobytes()
    return [
        _upload("empty file", "hostile", "empty.png", b"", 400, "empty_file"),
        _upload("text named .png", "hostile", "notes.png", b"these are not pixels\n" * 50, 400, "not_an_image"),
        _upload("truncated PNG", "hostile", "cut.png", valid_png[: len(valid_png) // 2], 400, "corrupt_image"),
        _upload("SVG named .png", "hostile", "d.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', 415, "unsupported_type"),
        _upload("PNG bomb 30000x30000", "hostile", "bomb.png", png_bomb(), 422, "too_many_pixels"),
        _upload("upload over the limit", "hostile", "big.png", noise, 413, "too_large"),
        Case("multipart without file", "hostile", "POST", URL, *multipart("image", "d.png", valid_png), 400, "missing_file"),
        _json("JSON without image", "hostile", {"min_confidence": 0.5}, 400, "invalid_json"),
        _json("bad base64", "hostile", {"image": "data:image/png;base64,@@@@"}, 400, "bad_base64"),
        _json("bad option", "hostile", {"image": _data_url(valid_png), "min_confidence": 2}, 400, "invalid_option"),
        Case("GET on the POST endpoint", "hostile", "GET", URL, None, None, 405, "method_not_allowed"),
        Case("unknown path", "hostile", "GET", "/api/nothing", None, None, 404, "not_found"),
    ]


def valid_cases(mnist, seed=0):
    """The readable part of the mix, from MNIST test digits: canvas drawings sent as the page sends
    them (a JSON data URL), multi-digit PNGs and 12-MP photo JPEGs as multipart uploads."""
    from handwriting.pages import synth

    def sample(kind, index):
        return synth.generate(kind, mnist.x_test, mnist.y_test, seed, index)

    canvas = [_json(f"canvas {i}", "canvas", {"image": _data_url(sample("canvas", i).data)}) for i in range(6)]
    numbers = [
        _upload(f"{kind} {i}", "number", f"{kind}-{i}.png", sample(kind, i).data)
        for kind in ("clean", "multiline", "touching") for i in range(3)
    ]
    photos = [_upload(f"photo {i}", "photo", f"IMG_{i:04d}.jpg", sample("photo", i).data) for i in range(2)]
    return canvas + numbers + photos


def schedule(cases, count, rng):
    """`count` cases in random order, every case at least once when count allows, the rest drawn so
    that each group takes its WEIGHTS share."""
    groups = {group: [c for c in cases if c.group == group] for group in WEIGHTS}
    groups = {group: members for group, members in groups.items() if members}
    shares = np.array([WEIGHTS[group] for group in groups])
    picks = rng.choice(len(groups), max(0, count - len(cases)), p=shares / shares.sum())
    members = list(groups.values())
    drawn = [members[g][rng.integers(len(members[g]))] for g in picks]
    plan = (list(cases) + drawn)[:count]
    return [plan[i] for i in rng.permutation(len(plan))]
