"""Layouts of the stress benchmark (stress.py): where each digit, separator and stray mark of a sample
goes, relative to the first line's baseline, and which text each line of writing holds."""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .glyphs import SYMBOL_DROP, glyph, stray, symbol
from .paper import NATURAL_STROKE

READ_NOT = "$€"  # separators drawn that no reading is expected to write

DIGITS_PER_NUMBER = (1, 8)  # the string lengths, from one digit to a cheque amount
GAP = (0.1, 0.6)  # digit widths of paper between neighbouring digits' ink
MIN_GAP_PX = 2  # below this, small digits would touch by rounding alone
DIGIT_WIDTH = 0.6  # a handwritten digit's usual width per height, the unit of gaps
BASELINE_JITTER = 0.04  # one writer's digits differ this much in baseline, per height
STAGGER = 0.4  # the staggered baselines: +-40 % of the digit height
OVERLAP = (0.05, 0.2)  # of the narrower digit's width, shared beyond touching: crossing, still legible


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
    written: list | None = None  # per line, its numbers as written (separators kept, apart by a space)


@dataclass
class Writer:
    """What every layout needs: the digits, the pen, the size and the kind of writer."""
    rng: np.random.Generator
    digits: object  # stress.Digits
    height: float
    width: float | None
    population: int
    side: int

    def text(self, low=DIGITS_PER_NUMBER[0], high=DIGITS_PER_NUMBER[1]):
        """Random digits, as many as fit the page side."""
        high = max(low, min(high, int(0.8 * self.side / self.height)))
        return "".join(map(str, self.rng.integers(0, 10, self.rng.integers(low, high + 1))))

    def glyphs(self, text):
        return [glyph(self.rng, self.digits.pick(self.rng, int(c), self.population), self.height, self.width)
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
    return _Layout([w.row(w.glyphs(first + second), gaps)], [first + second], numbers=[first, second],
                   written=[f"{first} {second}"])


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
    pen = w.width or NATURAL_STROKE * w.height
    digits = iter(w.glyphs(text))
    glyphs = [next(digits) if c.isdigit() else symbol(w.rng, c, w.height, pen) for c in items]
    drops = [(w.rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) if c.isdigit() else SYMBOL_DROP[c]) * w.height
             for c in items]
    gaps = [w.gaps(1)[0] if a.isdigit() and b.isdigit() else w.rng.uniform(0.05, 0.25) * w.height
            for a, b in zip(items, items[1:])]
    placed = w.row(glyphs, gaps, drops)
    return _Layout([[p for p, c in zip(placed, items) if c.isdigit()]], [text],
                   marks=[p for p, c in zip(placed, items) if not c.isdigit()], meta={"written": "".join(items)},
                   written=["".join(c for c in items if c not in READ_NOT)])


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


def _strays(w):
    text = w.text()
    line = w.line(text)
    x0, y0 = min(g.x for g in line), min(g.y for g in line)
    x1, y1 = max(g.x + g.alpha.shape[1] for g in line), max(g.y + g.alpha.shape[0] for g in line)
    marks, kinds = [], []
    for _ in range(w.rng.integers(1, 5)):
        kind, mark = stray(w.rng, w.height, w.width or NATURAL_STROKE * w.height)
        away = w.rng.uniform(0.15, 1.0) * w.height
        side = w.rng.integers(4)  # outside the number's box, so that no digit is covered
        beside = (x0 - away - mark.shape[1], x1 + away)
        x = w.rng.uniform(x0 - w.height, x1 + w.height) if side < 2 else beside[side - 2]
        y = (y0 - away - mark.shape[0], y1 + away)[side] if side < 2 else w.rng.uniform(y0 - mark.shape[0], y1)
        marks.append(_Ink(mark, int(x), int(y)))
        kinds.append(kind)
    return _Layout([line], [text], marks=marks, meta={"strays": kinds})


LAYOUTS = {"single": _single, "lines_close": _lines_close, "staggered": _staggered, "column": _column,
            "two_numbers": _two_numbers, "separators": _separators, "touching": _touching,
            "overlapping": _overlapping, "strays": _strays}
