"""Page, paper and ink of the stress benchmark (stress.py): the layout placed on a page, everything drawn
around the digits, and the ink laid on the paper. Pixels are RGB float32 in 0-255 until encoded."""
import colorsys
from dataclasses import dataclass, field

import cv2
import numpy as np

NATURAL_STROKE = 0.1  # a writer's own stroke per height, for marks drawn with that pen

INKS = {  # RGB ranges
    "black": ((10, 50), (10, 50), (15, 60)),
    "blue": ((15, 60), (30, 90), (110, 200)),
    "red": ((160, 215), (15, 60), (25, 70)),
    "green": ((15, 60), (80, 130), (40, 90)),
    "graphite": ((75, 125), (75, 125), (80, 130)),
    "faint": ((191, 217), (191, 217), (191, 217)),  # multiplies paper to 75-85 %: ~20 % darker
    "chalk": ((210, 245), (210, 245), (200, 240)),
    "white": ((235, 255), (235, 255), (235, 255)),
}


@dataclass
class Page:
    ink: np.ndarray  # (H, W) float32 coverage of the writer's ink
    lines: list  # per line of writing, its digits' boxes [x, y, w, h]
    height: float  # the digits' nominal height, px
    width: float  # the pen's width, px (for the writer's own stroke, a typical one)
    meta: dict = field(default_factory=dict)

    def box(self, line=None):
        """(x0, y0, x1, y1) around every digit, or those of one line."""
        boxes = np.array([b for i, ln in enumerate(self.lines) if line in (None, i) for b in ln], float)
        return (*boxes[:, :2].min(0), *(boxes[:, :2] + boxes[:, 2:]).max(0))


def assemble(rng, layout, margin, side, height, width):
    """The layout on a page of a realistic size, with margins of paper around the writing."""
    inks = [g for line in layout.lines for g in line] + list(layout.marks)
    low = np.array([min(g.x for g in inks), min(g.y for g in inks)])
    extent = np.array([max(g.x + g.alpha.shape[1] for g in inks), max(g.y + g.alpha.shape[0] for g in inks)]) - low
    before, after = rng.uniform(*margin, 2) * height, rng.uniform(*margin, 2) * height
    size = np.maximum(extent, np.clip(extent + before + after, *side)).astype(int)
    origin = ((size - extent) * before / (before + after)).astype(int) - low
    ink = np.zeros((size[1], size[0]), np.float32)
    for g in inks:
        x, y = g.x + origin[0], g.y + origin[1]
        region = ink[y:y + g.alpha.shape[0], x:x + g.alpha.shape[1]]
        np.maximum(region, g.alpha, out=region)
    lines = [[[g.x + origin[0], g.y + origin[1], *g.alpha.shape[::-1]] for g in line] for line in layout.lines]
    return Page(ink, lines, height, width or NATURAL_STROKE * height)


def colour(rng, ranges):
    return np.array([rng.uniform(*r) for r in ranges], np.float32)


def _flat(page, rgb):
    return np.broadcast_to(np.asarray(rgb, np.float32), (*page.ink.shape, 3)).copy()


def smooth_field(rng, shape, cell):
    """Smooth noise of about unit spread whose blotches are `cell` px across."""
    small = rng.standard_normal((shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    return cv2.resize(small, shape[::-1], interpolation=cv2.INTER_CUBIC)


def _print(paper, mask, rgb):
    """Printed lines or text (mask: coverage) absorb light like ink."""
    paper *= 1 - mask[..., None] * (1 - np.asarray(rgb, np.float32) / 255)


def _white(rng, page):
    return _flat(page, rng.uniform(235, 255) + rng.uniform(-4, 4, 3))


def _plain(rng, page):
    """Off-white to greyish paper, a little uneven, as a phone sees a sheet."""
    paper = _flat(page, rng.uniform(195, 245) + rng.uniform(-8, 8, 3))
    paper *= (1 + 0.03 * smooth_field(rng, page.ink.shape, max(8, int(page.height * 2))))[..., None]
    return paper


_RULE_INKS = (((150, 200), (170, 215), (215, 245)), ((140, 200), (140, 200), (140, 200)))  # blue, grey


def _rules(rng, page, ys, xs, spacing):
    """Printed rules at rows ys and columns xs, a little thicker where the page is photographed closer."""
    paper, mask = _white(rng, page), np.zeros(page.ink.shape, np.float32)
    thickness = max(1, round(spacing * rng.uniform(0.015, 0.035)))
    for y in ys:
        cv2.line(mask, (0, round(y)), (mask.shape[1], round(y)), 1.0, thickness)
    for x in xs:
        cv2.line(mask, (round(x), 0), (round(x), mask.shape[0]), 1.0, thickness)
    _print(paper, mask, colour(rng, _RULE_INKS[rng.integers(2)]))
    page.meta.update(rules=[round(y) for y in ys], rule_columns=[round(x) for x in xs], rule_spacing=spacing,
                     rule_px=thickness)
    return paper


def _every(start, spacing, end):
    return start + spacing * np.arange(-np.floor(start / spacing), (end - start) / spacing)


def _ruled_across(rng, page, most):
    """Rules closer together than the digits are tall, placed so that exactly 1..most cross the first line."""
    _, top, _, bottom = page.box(0)
    count, part = int(rng.integers(1, most + 1)), rng.uniform(0.1, 0.9)
    spacing = (bottom - top) / (count + part)
    first = top + rng.uniform(part * spacing, spacing)
    page.meta["rules_across"] = count
    return _rules(rng, page, _every(first, spacing, page.ink.shape[0]), [], spacing)


def _ruled_wide(rng, page):
    """Rules wider apart than the digits, the first line written sitting on one."""
    spacing = rng.uniform(1.3, 2.0) * page.height
    base = page.box(0)[3] + rng.uniform(-0.04, 0.04) * page.height
    return _rules(rng, page, _every(base, spacing, page.ink.shape[0]), [], spacing)


def _grid(rng, page):
    spacing = rng.uniform(0.35, 0.9) * page.height
    ys, xs = (_every(rng.uniform(0, spacing), spacing, n) for n in page.ink.shape)
    return _rules(rng, page, ys, xs, spacing)


def _coloured(rng, page):
    """Sticky notes, kraft, pastel and grey card: any hue, at most half saturated."""
    rgb = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.15, 0.55), rng.uniform(0.72, 1.0))
    page.meta["paper_rgb"] = [255 * v for v in rgb]
    return _flat(page, np.array(rgb) * 255)


def _textured(rng, page):
    """Recycled or handmade paper: blotches, grain and fibres."""
    shape = page.ink.shape
    tone = rng.uniform(215, 245) + rng.uniform(5, 15) * smooth_field(rng, shape, max(8, int(page.height)))
    tone += rng.uniform(2, 5) * cv2.GaussianBlur(rng.standard_normal(shape, np.float32), (0, 0), 0.7)
    fibres = np.zeros(shape, np.float32)
    for _ in range(rng.integers(30, 120)):
        start, bend, end = (rng.uniform(0, 1, 2) * shape[::-1] + rng.uniform(-30, 30, 2) * k for k in (0, 1, 2))
        cv2.polylines(fibres, [np.array([start, start + bend, start + end], np.int32)], False,
                      float(rng.uniform(-30, 30)), 1, cv2.LINE_AA)
    return (tone + fibres)[..., None] + rng.uniform(-5, 5, 3).astype(np.float32)


def _guilloche(rng, page):
    """A cheque's security background: families of fine interfering waves in a pale colour."""
    tint = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.05, 0.25), rng.uniform(0.9, 1))
    paper = _flat(page, 255 * np.array(tint))
    h, w = page.ink.shape
    reach = np.hypot(h, w) / 2 + 40
    t = np.arange(-reach, reach, 4.0)
    mask = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(2, 5)):
        angle, period, amplitude = rng.uniform(0, np.pi), rng.uniform(40, 200), rng.uniform(4, 30)
        spacing, drift = rng.uniform(4, 12), rng.uniform(0, 0.2)
        offsets = np.arange(-reach, reach, spacing)[:, None]
        across = offsets + amplitude * np.sin(2 * np.pi * t / period + drift * offsets)
        x = w / 2 + t * np.cos(angle) - across * np.sin(angle)
        y = h / 2 + t * np.sin(angle) + across * np.cos(angle)
        cv2.polylines(mask, list(np.stack([x, y], -1).astype(np.int32)), False, 1.0, 1, cv2.LINE_AA)
    strength = rng.uniform(0.12, 0.35)
    page.meta["guilloche_strength"] = strength
    _print(paper, mask * strength, colour(rng, INKS["blue"] if rng.random() < 0.5 else INKS["green"]))
    return paper


_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789    "))


def _showthrough(rng, page):
    """Writing on the back of the sheet, seen mirrored and blurred through the paper."""
    paper, (h, w) = _white(rng, page), page.ink.shape
    mask = np.zeros((h, w), np.float32)
    size = rng.uniform(0.4, 1.0) * page.height
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX]))
    for y in np.arange(rng.uniform(0.5, 1.5) * size, h + size, rng.uniform(1.3, 2.2) * size):
        text = "".join(rng.choice(_LETTERS, int(w / size * 1.5)))
        cv2.putText(mask, text, (int(rng.uniform(-size, size)), int(y)), font, size / 22, 1.0,
                    max(1, round(size / 12)), cv2.LINE_AA)
    darkness = rng.uniform(0.06, 0.15)
    page.meta["showthrough_darkness"] = darkness
    _print(paper, cv2.GaussianBlur(mask[:, ::-1], (0, 0), rng.uniform(0.05, 0.12) * size) * darkness, (0, 0, 0))
    return paper


def _form_box(rng, page):
    """A printed box around the number, clear of the digits."""
    paper, mask = _white(rng, page), np.zeros(page.ink.shape, np.float32)
    x0, y0, x1, y1 = np.array(page.box()) + rng.uniform(0.15, 0.6, 4) * page.height * [-1, -1, 1, 1]
    thickness = max(1, round(rng.uniform(0.015, 0.04) * page.height))
    cv2.rectangle(mask, (round(x0), round(y0)), (round(x1), round(y1)), 1.0, thickness)
    _print(paper, mask, colour(rng, INKS["black"] if rng.random() < 0.7 else INKS["blue"]))
    page.meta.update(form_box=[round(x0), round(y0), round(x1), round(y1)], form_px=thickness)
    return paper


def _underline(rng, page):
    """The writer underlines the number with the same pen, clear of the digits."""
    x0, _, x1, y1 = page.box()
    start = (round(x0 - rng.uniform(0, 0.3) * page.height), round(y1 + rng.uniform(0.08, 0.3) * page.height))
    end = (round(x1 + rng.uniform(0, 0.4) * page.height), round(y1 + rng.uniform(0.08, 0.3) * page.height))
    stroke = np.zeros_like(page.ink)
    cv2.line(stroke, start, end, 1.0, max(1, round(page.width)), cv2.LINE_AA)
    np.maximum(page.ink, stroke, out=page.ink)
    page.meta["underline"] = [*start, *end]
    return _white(rng, page)


def _board(rng, page):
    """A blackboard or dark green board, hazy with wiped chalk."""
    base = colour(rng, ((30, 60), (50, 80), (40, 65)) if rng.random() < 0.5 else ((35, 70),) * 3)
    haze = np.maximum(smooth_field(rng, page.ink.shape, max(8, int(rng.uniform(0.5, 2) * page.height))), 0)
    return _flat(page, base) + (rng.uniform(8, 25) * haze)[..., None]


PAPERS = {
    "white": _white, "plain": _plain, "ruled_narrow": lambda rng, page: _ruled_across(rng, page, 2),
    "ruled_large": lambda rng, page: _ruled_across(rng, page, 3), "ruled_wide": _ruled_wide, "grid": _grid,
    "coloured": _coloured, "textured": _textured, "guilloche": _guilloche, "showthrough": _showthrough,
    "form_box": _form_box, "underline": _underline, "board": _board,
    "black": lambda rng, page: _flat(page, rng.uniform(0, 15, 3)),
}


def composite(rng, paper, page, pen, colour):
    """Lay the ink on the paper: dark ink absorbs light (multiply), light ink covers (over)."""
    rows, cols = np.flatnonzero(page.ink.any(1)), np.flatnonzero(page.ink.any(0))
    region = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    alpha = page.ink[region]
    if pen.grain:
        grain = cv2.GaussianBlur(rng.random(alpha.shape, np.float32), (0, 0), 0.8)
        alpha = alpha * (1 - pen.grain * (grain - grain.min()) / max(float(np.ptp(grain)), 1e-6))
    under = paper[region]
    if pen.over:
        under += (colour - under) * alpha[..., None]
    else:
        under *= 1 - alpha[..., None] * (1 - colour / 255)


def rgba(rng, page, colour):
    """Strokes alone on a transparent canvas; hidden pixels keep the ink colour or are black."""
    opacity = rng.uniform(0.6, 1.0)
    rgba = np.zeros((*page.ink.shape, 4), np.float32)
    rgba[..., :3] = colour if rng.random() < 0.5 else colour * (page.ink > 0)[..., None]
    rgba[..., 3] = 255 * opacity * page.ink
    page.meta["opacity"] = opacity
    return rgba
