"""Stress benchmark (issue #15): digit strings composed from MNIST and ARDIS IV *test* digits under
named, randomised conditions of size, pen, paper, light, layout, polarity and turn, none of which the
engine was tuned on.

Scoring rule, the same as handwriting.bench: `expected` holds digits only, one text line per line of
writing, joined by "\\n". Numbers that share a line are concatenated left to right with nothing between
them, as Reading.digits_text writes them. A reading is right when its digits_text equals `expected`;
digit accuracy ignores line breaks. Rules, boxes, underlines, stray marks and text from the back of the
sheet are drawn but never expected. A second score, "as written", holds Reading.text to `written`, the
numbers with their decimal points, commas and minus signs, apart by a space on a line, for the
conditions of AS_WRITTEN, where that differs from the digits; $ and € are drawn but never expected.

Each sample is a pure function of (condition, seed, index) and the source digits. Pixels are RGB
float32 in 0-255 until encoded.
"""
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import camera, layouts, paper
from .layouts import RUNS  # public: the runs that the touching layout writes

ORDINARY_HEIGHT = (28, 90)  # px: a number photographed or drawn on a canvas
SMALL_HEIGHT = (10, 24)  # px: a far-away number, a low-dpi scan of a form
LARGE_HEIGHT = (150, 400)  # px: a number filling a phone photo
MARGIN = (0.4, 2.5)  # digit heights of paper around the writing
FILLING_MARGIN = (0.05, 0.3)  # digit heights: a number photographed close up fills the frame
PAGE_SIDE = (300, 2000)  # px, the sides of an ordinary upload
LARGE_PAGE_SIDE = (300, 2500)  # px, large digits need a larger page


class Sample(NamedTuple):
    image_bytes: bytes  # PNG, or JPEG where the condition is a photograph
    expected: str  # digits only; lines joined by "\n"; numbers on one line concatenated
    condition: str
    meta: dict  # JSON-ready: digit height, pen, boxes, and what the condition drew
    written: str  # as written: separators . , - kept, numbers on one line apart by a space


class Pen(NamedTuple):
    width: tuple | None  # ((fraction of height), (px)) ranges, summed; None: the writer's own stroke
    inks: tuple  # names in paper.INKS
    grain: float  # share of the ink that paper tooth takes away (pencil, chalk)
    over: bool = False  # light ink laid over a dark ground, instead of dark ink absorbing light


_BALLPOINT = ((0.03, 0.06), (1.0, 1.5))
PENS = {
    "natural": Pen(None, ("black", "blue"), 0.0),
    "hairline": Pen(((0.0, 0.0), (1.0, 1.8)), ("black", "blue"), 0.0),
    "ballpoint_blue": Pen(_BALLPOINT, ("blue",), 0.15),
    "ballpoint_black": Pen(_BALLPOINT, ("black",), 0.15),
    "pencil": Pen(_BALLPOINT, ("graphite",), 0.6),
    "felt": Pen(((0.07, 0.11), (1.0, 2.0)), ("black", "blue", "green", "red"), 0.0),
    "marker": Pen(((0.12, 0.2), (2.0, 3.0)), ("black", "blue", "green"), 0.0),
    "red": Pen(_BALLPOINT, ("red",), 0.1),
    "faint": Pen(None, ("faint",), 0.0),
    "chalk": Pen(((0.06, 0.1), (1.0, 2.0)), ("chalk",), 0.5, over=True),
    "white": Pen(None, ("white",), 0.0, over=True),
}
EVERYDAY_PENS = ("natural", "ballpoint_black", "ballpoint_blue", "felt")


class _Spec(NamedTuple):
    height: tuple = ORDINARY_HEIGHT
    pens: tuple = EVERYDAY_PENS
    paper: str = "white"
    layout: str = "single"
    effects: tuple = ()
    output: str = "png"  # png, photo (JPEG 85-95), jpeg (30-95) or rgba
    margin: tuple = MARGIN
    turn: int = 0  # degrees clockwise; a turned page is the size_ordinary page of the same seed


_PHOTO = {"output": "photo"}
_SPECS = {
    "size_small": _Spec(height=SMALL_HEIGHT),
    "size_ordinary": _Spec(),
    "size_large": _Spec(height=LARGE_HEIGHT, pens=("marker",)),
    "size_large_ruled": _Spec(height=LARGE_HEIGHT, pens=("marker",), paper="ruled_large"),
    "size_filling": _Spec(height=LARGE_HEIGHT, pens=("marker",), margin=FILLING_MARGIN, effects=("noise",), **_PHOTO),
    **{f"pen_{name}": _Spec(pens=(name,)) for name in
       ("hairline", "ballpoint_blue", "ballpoint_black", "pencil", "felt", "marker", "red")},
    **{f"paper_{name}": _Spec(paper=name) for name in
       ("plain", "ruled_narrow", "ruled_wide", "grid", "coloured", "textured", "guilloche", "showthrough")},
    "paper_form_box": _Spec(paper="form_box", margin=(0.8, 2.5)),
    "paper_underline": _Spec(paper="underline", margin=(0.6, 2.5)),
    **{f"light_{name}": _Spec(effects=(name,), **_PHOTO) for name in
       ("gradient", "shadow_edge", "glare", "vignette", "defocus", "motion_blur", "noise", "perspective", "rotation",
        "on_table")},
    "light_low_contrast": _Spec(pens=("faint",), paper="plain", **_PHOTO),
    # Lit from one side in dim light: the sensor's noise over the shade, pencil and faint ink nearest it.
    "light_dim_side": _Spec(pens=("natural", "ballpoint_blue", "pencil", "faint"), effects=("gradient", "noise"), **_PHOTO),
    "light_jpeg": _Spec(output="jpeg"),
    "layout_single": _Spec(margin=(0.5, 6.0)),
    **{f"layout_{name}": _Spec(layout=name) for name in
       ("lines_close", "staggered", "column", "two_numbers", "separators", "touching", "overlapping", "strays")},
    "polarity_chalkboard": _Spec(pens=("chalk",), paper="board", **_PHOTO),
    "polarity_white_on_black": _Spec(pens=("white",), paper="black"),
    "polarity_dim_board": _Spec(pens=("chalk", "white"), paper="black", effects=("noise",), **_PHOTO),
    "polarity_transparent": _Spec(pens=("natural", "ballpoint_black", "felt", "marker", "white"), output="rgba"),
    **{f"turned{angle}": _Spec(turn=angle) for angle in (90, 180, 270)},
}
FAMILIES = {
    family: tuple(name for name in _SPECS if name.startswith(prefix))
    for family, prefix in (("size", "size_"), ("pens", "pen_"), ("paper", "paper_"), ("light", "light_"),
                           ("layout", "layout_"), ("polarity", "polarity_"), ("turned", "turned"))
}
CONDITIONS = tuple(name for names in FAMILIES.values() for name in names)
TURNED = FAMILIES["turned"]  # generated and reported apart: issue #15 judges them on trust, not here
AS_WRITTEN = ("layout_two_numbers", "layout_separators")  # scored as written too: more than digits to read


def conditions_for(family):
    """The conditions of one family, for tests and reports that group them."""
    return FAMILIES[family]


@dataclass(frozen=True)
class Digits:
    """Source digits (N, 28, 28) uint8, light ink on black, their labels, and which population
    (index into names) each comes from, so that one number is written by one kind of writer."""
    images: np.ndarray
    labels: np.ndarray
    population: np.ndarray
    names: tuple

    def pick(self, rng, label, population):
        choices = np.flatnonzero((self.labels == label) & (self.population == population))
        return self.images[choices[rng.integers(len(choices))]]


def _test_split(path):
    with np.load(path) as data:
        images, labels = data["x_test"], data["y_test"]
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"{path}: x_test must be (N, 28, 28) with one label each")
    return images.astype(np.uint8), labels.astype(np.uint8)


def load_digits(mnist_path, ardis_path=None):
    """Only TEST splits: the model trains on MNIST's training split, and ARDIS's is kept for training."""
    parts = [_test_split(mnist_path)] + ([_test_split(ardis_path)] if ardis_path else [])
    names = ("mnist", "ardis_iv")[:len(parts)]
    population = np.concatenate([np.full(len(labels), i, np.uint8) for i, (_, labels) in enumerate(parts)])
    return Digits(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), population, names)


def _render(rng, spec, digits):
    """The page of one sample: its pixels (RGB, or RGBA for a transparent canvas) and what was drawn."""
    height = rng.uniform(*spec.height)
    pen_name = str(rng.choice(spec.pens))
    pen = PENS[pen_name]
    width = None if pen.width is None else rng.uniform(*pen.width[0]) * height + rng.uniform(*pen.width[1])
    side = LARGE_PAGE_SIDE if height > ORDINARY_HEIGHT[1] else PAGE_SIDE
    writer = layouts.Writer(rng, digits, height, width, int(rng.integers(len(digits.names))), side[1])
    layout = layouts.LAYOUTS[spec.layout](writer)
    page = paper.assemble(rng, layout, spec.margin, side, height, width)
    colour = paper.colour(rng, paper.INKS[str(rng.choice(pen.inks))])
    page.meta.update(layout.meta or {}, expected="\n".join(layout.texts), numbers=layout.numbers or layout.texts,
                     as_written="\n".join(layout.written or layout.texts),
                     height=height, pen=pen_name, pen_width=width, ink_rgb=colour,
                     population=digits.names[writer.population])
    if spec.output == "rgba":
        return paper.rgba(rng, page, colour), page
    rgb = paper.PAPERS[spec.paper](rng, page)
    paper.composite(rng, rgb, page, pen, colour)
    for effect in spec.effects:
        rgb = camera.EFFECTS[effect](rng, rgb, page)
    return rgb, page


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def generate(condition, digits, seed, index):
    """Sample `index` of `condition` at `seed`. The stream is seeded by the condition's name (crc32),
    so that adding or reordering conditions never changes another condition's images."""
    if condition not in _SPECS:
        raise ValueError(f"unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}")
    turn = _SPECS[condition].turn
    source = "size_ordinary" if turn else condition
    spec = _SPECS[source]
    rng = np.random.default_rng([seed, zlib.crc32(source.encode()), index])
    pixels, page = _render(rng, spec, digits)
    if turn:
        pixels = camera.turn(pixels, page, turn)
    data = camera.encode(rng, pixels, spec.output, page.meta)
    meta = _jsonable({**page.meta, "boxes": page.lines, "size": list(pixels.shape[1::-1])})
    return Sample(data, meta.pop("expected"), condition, meta, meta.pop("as_written"))
