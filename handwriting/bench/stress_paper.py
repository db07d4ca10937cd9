"""Paper, ink and camera of the stress benchmark (stress.py): everything drawn around the digits and
everything that happens to the picture after the writing. Pixels are RGB float32 in 0-255 until encoded."""
import colorsys
from dataclasses import dataclass, field

import cv2
import numpy as np

NATURAL_STROKE = 0.1  # a writer's own stroke per height, for marks drawn with that pen
PERSPECTIVE_DEG = (5.0, 15.0)  # tilt of the sheet towards the camera, about one axis
PERSPECTIVE_FOCAL = 1.2  # focal length per image side: a phone camera's ~50 degree view
ROTATION_DEG = (2.0, 10.0)  # turn of the sheet in the photo
JPEG_QUALITY = (30, 95)  # the range, from chat-app recompression to a good camera
PHOTO_QUALITY = (85, 95)  # a phone camera's own JPEG

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


# ---- page and paper ------------------------------------------------------------------------------------

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


def _field(rng, shape, cell):
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
    paper *= (1 + 0.03 * _field(rng, page.ink.shape, max(8, int(page.height * 2))))[..., None]
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
    tone = rng.uniform(215, 245) + rng.uniform(5, 15) * _field(rng, shape, max(8, int(page.height)))
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
    haze = np.maximum(_field(rng, page.ink.shape, max(8, int(rng.uniform(0.5, 2) * page.height))), 0)
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


# ---- light and camera ----------------------------------------------------------------------------------

def _grid_xy(rgb):
    h, w = rgb.shape[:2]
    return np.arange(w, dtype=np.float32)[None], np.arange(h, dtype=np.float32)[:, None]


def _gradient(rng, rgb, page):
    """Light falling off across the page, to 45-70 % at the dark side."""
    x, y = _grid_xy(rgb)
    angle, low = rng.uniform(0, 2 * np.pi), rng.uniform(0.45, 0.7)
    t = np.cos(angle) * x + np.sin(angle) * y
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    page.meta["light_low"] = low
    return rgb * (low + (1 - low) * t)[..., None]


def _shadow_edge(rng, rgb, page):
    """A hard shadow (a hand, a phone) whose edge runs through the digits' box; the side that the
    edge's normal (cos angle, sin angle) points to is darkened to `depth`."""
    x, y = _grid_xy(rgb)
    x0, y0, x1, y1 = page.box()
    point, angle = (rng.uniform(x0, x1), rng.uniform(y0, y1)), rng.uniform(0, np.pi)
    depth, softness = rng.uniform(0.35, 0.6), rng.uniform(0.5, 3.0)
    side = ((x - point[0]) * np.cos(angle) + (y - point[1]) * np.sin(angle)) / softness
    page.meta["shadow"] = {"point": point, "angle": angle, "depth": depth}
    return rgb * (1 - (1 - depth) / (1 + np.exp(np.clip(-side, -30, 30))))[..., None]


def _glare(rng, rgb, page):
    """A reflection over part of the digits, leaving them at least ~30 % darker than the glare."""
    x, y = _grid_xy(rgb)
    x0, y0, x1, y1 = page.box()
    cx, cy, sx, sy = rng.uniform(x0, x1), rng.uniform(y0, y1), *rng.uniform(0.4, 1.5, 2) * page.height
    strength = rng.uniform(0.35, 0.65)
    spot = strength * np.exp(-0.5 * ((x - cx) / sx) ** 2) * np.exp(-0.5 * ((y - cy) / sy) ** 2)
    page.meta["glare"] = {"centre": [cx, cy], "strength": strength}
    return rgb + (255 - rgb) * spot[..., None]


def _vignette(rng, rgb, page):
    """A lens darkening the corners to 40-70 %."""
    x, y = _grid_xy(rgb)
    h, w = rgb.shape[:2]
    depth = rng.uniform(0.3, 0.6)
    page.meta["vignette"] = depth
    return rgb * (1 - depth * (((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2) / 2)[..., None]


def _defocus(rng, rgb, page):
    """A disk blur 4-10 % of the digit height in radius: focus on the table, not the note."""
    radius = max(1.5, rng.uniform(0.04, 0.1) * page.height)
    side = 2 * int(np.ceil(radius)) + 1
    kernel = np.zeros((side, side), np.float32)
    cv2.circle(kernel, (side // 2, side // 2), int(round(radius)), 1.0, -1, cv2.LINE_AA)
    page.meta["blur_px"] = radius
    return cv2.filter2D(_bytes(rgb), -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT).astype(np.float32)


def _motion_blur(rng, rgb, page):
    """A shaken hand: a straight smear 5-15 % of the digit height long."""
    length, angle = max(3.0, rng.uniform(0.05, 0.15) * page.height), rng.uniform(0, np.pi)
    side = int(np.ceil(length)) | 1
    kernel, c = np.zeros((side, side), np.float32), side // 2
    dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    page.meta.update(blur_px=length, blur_angle_deg=np.rad2deg(angle))
    return cv2.filter2D(_bytes(rgb), -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT).astype(np.float32)


def _noise(rng, rgb, page):
    sigma = rng.uniform(6, 20)  # grey levels: a small sensor in dim light
    page.meta["noise_sigma"] = sigma
    return rgb + sigma * rng.standard_normal(rgb.shape, np.float32)


def _warp(rgb, page, matrix, size):
    """Warp the picture and the digit boxes with one 3x3 matrix; the paper continues past the edges."""
    out = cv2.warpPerspective(rgb, matrix, tuple(int(v) for v in size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    for line in page.lines:
        for box in line:
            x, y, w, h = box
            corners = np.array([[[x, y], [x + w, y], [x, y + h], [x + w, y + h]]], np.float32)
            moved = cv2.perspectiveTransform(corners, matrix)[0]
            low, high = moved.min(0), moved.max(0)
            box[:] = [*low.round().astype(int), *(high - low).round().astype(int)]
    return out


def _perspective(rng, rgb, page):
    """The sheet tilted 5-15 degrees towards the camera about one axis, up to 15 about the other."""
    h, w = rgb.shape[:2]
    tilt = np.deg2rad([rng.choice([-1, 1]) * rng.uniform(*PERSPECTIVE_DEG), rng.uniform(-15, 15)])
    rng.shuffle(tilt)
    cx, sx, cy, sy = np.cos(tilt[0]), np.sin(tilt[0]), np.cos(tilt[1]), np.sin(tilt[1])
    rotation = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]) @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    focal = PERSPECTIVE_FOCAL * max(h, w)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    points = np.c_[src - [w / 2, h / 2], np.zeros(4)] @ rotation.T + [0, 0, focal]
    dst = focal * points[:, :2] / points[:, 2:]
    dst = (dst - dst.min(0)) * max(h, w) / (dst.max(0) - dst.min(0)).max()
    page.meta["tilt_deg"] = np.rad2deg(tilt)
    return _warp(rgb, page, cv2.getPerspectiveTransform(src, dst.astype(np.float32)), np.ceil(dst.max(0)))


def _rotation(rng, rgb, page):
    h, w = rgb.shape[:2]
    angle = rng.choice([-1, 1]) * rng.uniform(*ROTATION_DEG)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = np.array([w * c + h * s, w * s + h * c])
    matrix[:, 2] += size / 2 - [w / 2, h / 2]
    page.meta["rotation_deg"] = angle
    return _warp(rgb, page, np.vstack([matrix, [0, 0, 1]]), np.ceil(size))


EFFECTS = {"gradient": _gradient, "shadow_edge": _shadow_edge, "glare": _glare, "vignette": _vignette,
            "defocus": _defocus, "motion_blur": _motion_blur, "noise": _noise, "perspective": _perspective,
            "rotation": _rotation}

def turn(rgb, page, degrees):
    """The page turned clockwise with no EXIF to undo it, its boxes with it."""
    h, w = rgb.shape[:2]
    matrix = {90: [[0, -1, h], [1, 0, 0]], 180: [[-1, 0, w], [0, -1, h]], 270: [[0, 1, 0], [-1, 0, w]]}[degrees]
    turned = np.ascontiguousarray(np.rot90(rgb, -degrees // 90))
    _warp(np.zeros((1, 1, 3), np.float32), page, np.vstack([matrix, [0, 0, 1]]).astype(float), (1, 1))
    page.meta["turn_deg"] = degrees
    return turned


def _bytes(pixels):
    """Rounded and saturated to uint8 in one pass; also what makes large kernels fast in filter2D."""
    return cv2.add(pixels, 0.0, dtype=cv2.CV_8U)


def encode(rng, pixels, output, meta):
    image = _bytes(pixels)
    if output == "rgba":
        return cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA))[1].tobytes()
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if output == "png":
        return cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    quality = int(rng.integers(*(JPEG_QUALITY if output == "jpeg" else PHOTO_QUALITY)) + 1)
    meta["jpeg_quality"] = quality
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
