"""Stress benchmark (issue #15): digit strings composed from MNIST and ARDIS IV *test* digits under
named, randomised conditions of size, pen, paper, light, layout, polarity and turn, none of which the
engine was tuned on.

Scoring rule, the same as handwriting.bench: `expected` holds digits only, one text line per line of
writing, joined by "\\n". Numbers that share a line are concatenated left to right with nothing between
them, because Reading.text has no separator (meta["numbers"] keeps them apart). A reading is right when
its text equals `expected`; digit accuracy ignores line breaks. Separators (. , - $ €), rules, boxes,
underlines, stray marks and text from the back of the sheet are drawn but never expected.

Each sample is a pure function of (condition, seed, index) and the source digits. Pixels are RGB
float32 in 0-255 until encoded.
"""
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from . import stress_paper as paper

ORDINARY_HEIGHT = (28, 90)  # px: a number photographed or drawn on a canvas
SMALL_HEIGHT = (10, 24)  # px: a far-away number, a low-dpi scan of a form
LARGE_HEIGHT = (150, 400)  # px: a number filling a phone photo
DIGITS_PER_NUMBER = (1, 8)  # the string lengths, from one digit to a cheque amount
GAP = (0.1, 0.6)  # digit widths of paper between neighbouring digits' ink
MIN_GAP_PX = 2  # below this, small digits would touch by rounding alone
DIGIT_WIDTH = 0.6  # a handwritten digit's usual width per height, the unit of gaps
HEIGHT_JITTER = 0.08  # one writer's digits differ this much in size
BASELINE_JITTER = 0.04  # and in baseline, as a fraction of the height
SLANT = 0.2  # most shear (x per y) of one digit
TILT_DEG = 5.0  # most rotation of one digit
MARGIN = (0.4, 2.5)  # digit heights of paper around the writing
PAGE_SIDE = (300, 2000)  # px, the sides of an ordinary upload
LARGE_PAGE_SIDE = (300, 2500)  # px, large digits need a larger page
INK_LEVEL = 40  # source pixels above this are ink when finding a digit's box
SKELETON_HEIGHT = 64  # px at which a digit is thinned; the distance field then scales smoothly
EDGE_LEVELS = 170  # grey levels per source px across an MNIST stroke edge, to keep edges ~1 px
STAGGER = 0.4  # the staggered baselines: +-40 % of the digit height
OVERLAP = (0.05, 0.2)  # of the narrower digit's width, shared beyond touching: crossing, still legible


class Sample(NamedTuple):
    image_bytes: bytes  # PNG, or JPEG where the condition is a photograph
    expected: str  # digits only; lines joined by "\n"; numbers on one line concatenated
    condition: str
    meta: dict  # JSON-ready: digit height, pen, boxes, and what the condition drew


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
    **{f"pen_{name}": _Spec(pens=(name,)) for name in
       ("hairline", "ballpoint_blue", "ballpoint_black", "pencil", "felt", "marker", "red")},
    **{f"paper_{name}": _Spec(paper=name) for name in
       ("plain", "ruled_narrow", "ruled_wide", "grid", "coloured", "textured", "guilloche", "showthrough")},
    "paper_form_box": _Spec(paper="form_box", margin=(0.8, 2.5)),
    "paper_underline": _Spec(paper="underline", margin=(0.6, 2.5)),
    **{f"light_{name}": _Spec(effects=(name,), **_PHOTO) for name in
       ("gradient", "shadow_edge", "glare", "vignette", "defocus", "motion_blur", "noise", "perspective", "rotation")},
    "light_low_contrast": _Spec(pens=("faint",), paper="plain", **_PHOTO),
    "light_jpeg": _Spec(output="jpeg"),
    "layout_single": _Spec(margin=(0.5, 6.0)),
    **{f"layout_{name}": _Spec(layout=name) for name in
       ("lines_close", "staggered", "column", "two_numbers", "separators", "touching", "overlapping", "strays")},
    "polarity_chalkboard": _Spec(pens=("chalk",), paper="board", **_PHOTO),
    "polarity_white_on_black": _Spec(pens=("white",), paper="black"),
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


# ---- digits -------------------------------------------------------------------------------------------

def _thin(mask):
    """Zhang-Suen thinning: the centre line of the strokes, for a pen of any width to retrace."""
    img = np.pad(mask, 1).astype(np.uint8)
    while True:
        removed = 0
        for first in (True, False):
            c = img[1:-1, 1:-1]
            n, ne, e, se = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:]
            s, sw, w, nw = img[2:, 1:-1], img[2:, :-2], img[1:-1, :-2], img[:-2, :-2]
            ring = (n, ne, e, se, s, sw, w, nw, n)
            count = sum(ring[:8])
            turns = sum((a == 0) & (b == 1) for a, b in zip(ring, ring[1:]))
            gate = ((n & e & s) == 0) & ((e & s & w) == 0) if first else ((n & e & w) == 0) & ((n & s & w) == 0)
            drop = (c == 1) & (count >= 2) & (count <= 6) & (turns == 1) & gate
            c[drop] = 0
            removed += int(drop.sum())
        if not removed:
            return img[1:-1, 1:-1].astype(bool)


def _glyph(rng, source, height, width):
    """One digit's ink coverage, `height` px tall: the writer's own stroke smoothly upscaled when width
    is None, else a pen of that width retracing the stroke's centre line; slanted and tilted a little."""
    ys, xs = np.nonzero(source > INK_LEVEL)
    grey = np.pad(source[ys.min():ys.max() + 1, xs.min():xs.max() + 1], 2).astype(np.float32)
    factor = 1.0
    if width is not None:
        factor = SKELETON_HEIGHT / (np.ptp(ys) + 1)
        big = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC) > 128
        skeleton = _thin(big) if big.any() else big
        grey = cv2.distanceTransform((~skeleton).astype(np.uint8), cv2.DIST_L2, 5)
    scale = height * rng.uniform(1 - HEIGHT_JITTER, 1 + HEIGHT_JITTER) / ((np.ptp(ys) + 1) * factor)
    theta = np.deg2rad(rng.uniform(-TILT_DEG, TILT_DEG))
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    matrix = turn @ np.array([[1.0, rng.uniform(-SLANT, SLANT)], [0.0, 1.0]]) * scale
    corners = np.array([[0, 0], [grey.shape[1], 0], [0, grey.shape[0]], grey.shape[::-1]], float) @ matrix.T
    pad = 2 + (width or 0)
    low, size = corners.min(0) - pad, np.ceil(np.ptp(corners, 0) + 2 * pad).astype(int)
    affine = np.hstack([matrix, -low[:, None]])
    if width is None:
        warped = cv2.warpAffine(grey, affine, tuple(size), flags=cv2.INTER_CUBIC)
        ramp = np.clip(EDGE_LEVELS / scale, 10, 200)
        t = np.clip((warped - 128) / ramp + 0.5, 0, 1)
        alpha = t * t * (3 - 2 * t)
    else:
        warped = cv2.warpAffine(grey, affine, tuple(size), flags=cv2.INTER_LINEAR, borderValue=1e4)
        alpha = np.clip(width / 2 + 0.5 - warped * scale, 0, 1)
    return _crop(alpha.astype(np.float32))


def _crop(alpha, level=0.02):
    rows, cols = np.flatnonzero((alpha > level).any(1)), np.flatnonzero((alpha > level).any(0))
    return alpha[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _symbol(rng, kind, height, width):
    """A separator drawn with the same pen: decimal point or comma, minus sign, dollar or euro sign."""
    w = max(1, round(width))
    canvas = np.zeros((int(2 * height) + 4 * w, int(2 * height) + 4 * w), np.uint8)
    c = (canvas.shape[1] // 2, canvas.shape[0] // 2)
    if kind in ".,":
        cv2.circle(canvas, c, max(w, round(0.04 * height)), 255, -1, cv2.LINE_AA)
        if kind == ",":
            cv2.line(canvas, c, (c[0] - round(0.08 * height), c[1] + round(0.2 * height)), 255, w, cv2.LINE_AA)
    elif kind == "-":
        half = round(rng.uniform(0.15, 0.25) * height)
        cv2.line(canvas, (c[0] - half, c[1]), (c[0] + half, c[1]), 255, w, cv2.LINE_AA)
    elif kind == "$":
        cv2.putText(canvas, "$", (c[0] - round(0.3 * height), c[1] + round(0.45 * height)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.9 * height / 22, 255, w, cv2.LINE_AA)
    else:
        axes = (round(0.3 * height), round(0.45 * height))
        cv2.ellipse(canvas, c, axes, 0, 45, 315, 255, w, cv2.LINE_AA)
        for dy in (-0.08, 0.08):
            y = c[1] + round(dy * height)
            cv2.line(canvas, (c[0] - round(0.45 * height), y), (c[0] + round(0.1 * height), y), 255, w, cv2.LINE_AA)
    return _crop(canvas.astype(np.float32) / 255)


_SYMBOL_DROP = {".": 0.0, ",": 0.15, "-": -0.45, "$": 0.1, "€": 0.0}  # bottom below the baseline, heights


# ---- layouts -------------------------------------------------------------------------------------------

class _Ink(NamedTuple):
    alpha: np.ndarray
    x: int
    y: int


class _Layout(NamedTuple):
    lines: list  # per line of writing, its digits as _Ink, left to right
    texts: list  # per line, its digits as text
    marks: tuple = ()  # other ink: separators, stray marks
    numbers: tuple = ()  # the numbers as written, when a line holds more than one
    meta: dict | None = None  # what this layout did, for tests and reports


@dataclass
class _Writer:
    """What every layout needs: the digits, the pen, the size and the kind of writer."""
    rng: np.random.Generator
    digits: Digits
    height: float
    width: float | None
    population: int
    side: int

    def text(self, low=DIGITS_PER_NUMBER[0], high=DIGITS_PER_NUMBER[1]):
        """Random digits, as many as fit the page side."""
        high = max(low, min(high, int(0.8 * self.side / self.height)))
        return "".join(map(str, self.rng.integers(0, 10, self.rng.integers(low, high + 1))))

    def glyphs(self, text):
        return [_glyph(self.rng, self.digits.pick(self.rng, int(c), self.population), self.height, self.width)
                for c in text]

    def gaps(self, count):
        return np.maximum(self.rng.uniform(*GAP, count) * DIGIT_WIDTH * self.height, MIN_GAP_PX)

    def row(self, glyphs, gaps, drops=None, x=0, baseline=0):
        """Glyphs left to right on a baseline; a negative gap makes two touch, overlapping by -gap px
        where their ink comes closest, not where their boxes do."""
        if drops is None:
            drops = self.rng.uniform(-BASELINE_JITTER, BASELINE_JITTER, len(glyphs)) * self.height
        placed = []
        for i, alpha in enumerate(glyphs):
            y = int(round(baseline + drops[i])) - alpha.shape[0]
            if placed:
                x = _next_x(placed[-1], alpha, y, gaps[i - 1])
            placed.append(_Ink(alpha, int(round(x)), y))
        return placed

    def line(self, text, **where):
        return self.row(self.glyphs(text), self.gaps(len(text) - 1), **where)


def _next_x(prev, alpha, y, gap):
    beside = prev.x + prev.alpha.shape[1] + gap
    top, bottom = max(prev.y, y), min(prev.y + prev.alpha.shape[0], y + alpha.shape[0])
    if gap >= 0 or bottom <= top:
        return beside
    left_ink, right_ink = prev.alpha[top - prev.y:bottom - prev.y] > 0.5, alpha[top - y:bottom - y] > 0.5
    both = left_ink.any(1) & right_ink.any(1)
    if not both.any():
        return beside
    right = left_ink.shape[1] - 1 - np.argmax(left_ink[:, ::-1], 1)
    return prev.x + int(np.max((right - np.argmax(right_ink, 1))[both])) + gap


def _single(w):
    text = w.text()
    return _Layout([w.line(text)], [text])


def _lines_close(w):
    texts, lines, baseline = [], [], 0.0
    for _ in range(w.rng.integers(2, 5)):
        texts.append(w.text())
        lines.append(w.line(texts[-1], x=w.rng.uniform(-0.5, 0.5) * w.height, baseline=baseline))
        baseline += w.height * (1 + w.rng.uniform(0.12, 0.4))  # lines 0.12-0.4 heights apart
    return _Layout(lines, texts)


def _staggered(w):
    text = w.text(3)
    drops = w.rng.uniform(-STAGGER, STAGGER, len(text)) * w.height
    return _Layout([w.row(w.glyphs(text), w.gaps(len(text) - 1), drops)], [text], meta={"drops": drops})


def _column(w):
    text = w.text(2, 6)
    lines, baseline = [], 0.0
    for digit, alpha in zip(text, w.glyphs(text)):
        x = -alpha.shape[1] / 2 + w.rng.uniform(-0.2, 0.2) * w.height
        lines.append(w.row([alpha], [], x=x, baseline=baseline))
        baseline += w.height * (1 + w.rng.uniform(0.15, 0.5))
    return _Layout(lines, list(text))


def _two_numbers(w):
    first, second = w.text(1, 6), w.text(1, 6)
    gaps = w.gaps(len(first) + len(second) - 1)
    gaps[len(first) - 1] = w.rng.uniform(1.5, 4.0) * w.height  # a wide gap, the case
    return _Layout([w.row(w.glyphs(first + second), gaps)], [first + second], numbers=[first, second])


def _amount(rng, text):
    """The number as written: digits with a sign or currency before, a decimal mark, thousands marks."""
    point, group = (".", ",") if rng.random() < 0.5 else (",", ".")
    cut = len(text) - int(rng.integers(1, 3)) if len(text) >= 3 and rng.random() < 0.7 else len(text)
    whole = list(text[:cut])
    if cut > 3 and rng.random() < 0.5:
        for at in range(cut - 3, 0, -3):
            whole.insert(at, group)
    items = whole + ([point, *text[cut:]] if cut < len(text) else [])
    prefix = str(rng.choice(["", "-", "$", "€"] if cut < len(text) else ["-", "$", "€"]))
    return ([prefix] if prefix else []) + items


def _separators(w):
    text = w.text(2)
    items = _amount(w.rng, text)
    pen = w.width or paper.NATURAL_STROKE * w.height
    digits = iter(w.glyphs(text))
    glyphs = [next(digits) if c.isdigit() else _symbol(w.rng, c, w.height, pen) for c in items]
    drops = [(w.rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) if c.isdigit() else _SYMBOL_DROP[c]) * w.height
             for c in items]
    gaps = [w.gaps(1)[0] if a.isdigit() and b.isdigit() else w.rng.uniform(0.05, 0.25) * w.height
            for a, b in zip(items, items[1:])]
    placed = w.row(glyphs, gaps, drops)
    return _Layout([[p for p, c in zip(placed, items) if c.isdigit()]], [text],
                   marks=[p for p, c in zip(placed, items) if not c.isdigit()], meta={"written": "".join(items)})


RUNS = ("00", "000", "0000", "10", "100", "1000", "200", "500")  # runs people write without lifting


def _touching(w):
    run = str(w.rng.choice(RUNS))
    before = w.text(0, 8 - len(run)) if w.rng.random() < 0.7 else ""
    text = before + run + (w.text(0, 8 - len(before + run)) if w.rng.random() < 0.4 else "")
    gaps = w.gaps(len(text) - 1)
    start = len(before)
    gaps[start:start + len(run) - 1] = -1 - w.rng.uniform(0, 0.06 * w.height, len(run) - 1)
    return _Layout([w.row(w.glyphs(text), gaps)], [text], meta={"touching": [start, start + len(run)]})


def _overlapping(w):
    text = w.text(2)
    glyphs = w.glyphs(text)
    gaps, pairs = w.gaps(len(text) - 1), w.rng.random(len(text) - 1) < 0.6
    pairs[w.rng.integers(len(pairs))] = True
    narrower = np.minimum([g.shape[1] for g in glyphs[:-1]], [g.shape[1] for g in glyphs[1:]])
    gaps[pairs] = -1 - w.rng.uniform(*OVERLAP, pairs.sum()) * narrower[pairs]
    return _Layout([w.row(glyphs, gaps)], [text], meta={"overlapping": np.flatnonzero(pairs)})


def _stray(rng, height, width):
    """A dot, a short dash or a faint smudge, the marks people leave near a number."""
    kind = rng.choice(["dot", "dash", "smudge"])
    if kind == "dot":
        r = max(1, round(rng.uniform(0.03, 0.08) * height))
        mark = np.zeros((2 * r + 3, 2 * r + 3), np.float32)
        cv2.circle(mark, (r + 1, r + 1), r, 1.0, -1, cv2.LINE_AA)
    elif kind == "dash":
        length, angle = rng.uniform(0.1, 0.35) * height, rng.uniform(0, np.pi)
        dx, dy = length * np.cos(angle) / 2, length * np.sin(angle) / 2
        side = int(length + 2 * width) + 4
        mark = np.zeros((side, side), np.float32)
        c = side / 2
        ends = (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy))
        cv2.line(mark, *ends, 1.0, max(1, round(width)), cv2.LINE_AA)
    else:
        side = max(4, round(rng.uniform(0.3, 0.8) * height))
        blob = cv2.resize(rng.random((4, 4)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
        ramp = np.hanning(side).astype(np.float32)
        mark = np.clip(blob, 0, 1) * np.outer(ramp, ramp) * rng.uniform(0.15, 0.45)
    return str(kind), _crop(mark)


def _strays(w):
    text = w.text()
    line = w.line(text)
    x0, y0 = min(g.x for g in line), min(g.y for g in line)
    x1, y1 = max(g.x + g.alpha.shape[1] for g in line), max(g.y + g.alpha.shape[0] for g in line)
    marks, kinds = [], []
    for _ in range(w.rng.integers(1, 5)):
        kind, mark = _stray(w.rng, w.height, w.width or paper.NATURAL_STROKE * w.height)
        away = w.rng.uniform(0.15, 1.0) * w.height
        side = w.rng.integers(4)  # outside the number's box, so that no digit is covered
        beside = (x0 - away - mark.shape[1], x1 + away)
        x = w.rng.uniform(x0 - w.height, x1 + w.height) if side < 2 else beside[side - 2]
        y = (y0 - away - mark.shape[0], y1 + away)[side] if side < 2 else w.rng.uniform(y0 - mark.shape[0], y1)
        marks.append(_Ink(mark, int(x), int(y)))
        kinds.append(kind)
    return _Layout([line], [text], marks=marks, meta={"strays": kinds})


_LAYOUTS = {"single": _single, "lines_close": _lines_close, "staggered": _staggered, "column": _column,
            "two_numbers": _two_numbers, "separators": _separators, "touching": _touching,
            "overlapping": _overlapping, "strays": _strays}



# ---- the sample ----------------------------------------------------------------------------------------

def _render(rng, spec, digits):
    """The page of one sample: its pixels (RGB, or RGBA for a transparent canvas) and what was drawn."""
    height = rng.uniform(*spec.height)
    pen_name = str(rng.choice(spec.pens))
    pen = PENS[pen_name]
    width = None if pen.width is None else rng.uniform(*pen.width[0]) * height + rng.uniform(*pen.width[1])
    side = LARGE_PAGE_SIDE if height > ORDINARY_HEIGHT[1] else PAGE_SIDE
    writer = _Writer(rng, digits, height, width, int(rng.integers(len(digits.names))), side[1])
    layout = _LAYOUTS[spec.layout](writer)
    page = paper.assemble(rng, layout, spec.margin, side, height, width)
    colour = paper.colour(rng, paper.INKS[str(rng.choice(pen.inks))])
    page.meta.update(layout.meta or {}, expected="\n".join(layout.texts), numbers=layout.numbers or layout.texts,
                     height=height, pen=pen_name, pen_width=width, ink_rgb=colour,
                     population=digits.names[writer.population])
    if spec.output == "rgba":
        return paper.rgba(rng, page, colour), page
    rgb = paper.PAPERS[spec.paper](rng, page)
    paper.composite(rng, rgb, page, pen, colour)
    for effect in spec.effects:
        rgb = paper.EFFECTS[effect](rng, rgb, page)
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
        pixels = paper.turn(pixels, page, turn)
    data = paper.encode(rng, pixels, spec.output, page.meta)
    meta = _jsonable({**page.meta, "boxes": page.lines, "size": list(pixels.shape[1::-1])})
    return Sample(data, meta.pop("expected"), condition, meta)
