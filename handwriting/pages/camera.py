"""Light and camera of the stress benchmark (stress.py): what happens to the picture of the page after
the writing, its turn and its encoding. Pixels are RGB float32 in 0-255 until encoded."""
import cv2
import numpy as np

from . import paper

PERSPECTIVE_DEG = (5.0, 15.0)  # tilt of the sheet towards the camera, about one axis
PERSPECTIVE_FOCAL = 1.2  # focal length per image side: a phone camera's ~50 degree view
ROTATION_DEG = (2.0, 10.0)  # turn of the sheet in the photo
TABLE_MARGIN = (0.0, 0.25)  # table seen beside each side of the sheet, per the sheet's longest side
TABLE_TURN_DEG = 8.0  # the sheet lies turned up to this much on the table
TABLE_LEVEL = (0.3, 0.8)  # the table's brightness per the paper's: dark wood to a light desk ...
TABLE_TINT = (0.8, 1.0)  # ... each colour channel of it this share of that, for wood and coloured desks ...
TABLE_GRAIN = 0.06  # ... varying by about this share across it: grain and uneven light
SHADOW_OFFSET = (0.004, 0.02)  # the shadow the sheet casts shows this share of its side beyond it ...
SHADOW_DEPTH = (0.3, 0.6)  # ... darkening the table by this share
TABLE_PHOTO_SIDE = 2500  # px: a photo of sheet and table larger than this is framed down to it
JPEG_QUALITY = (30, 95)  # the range, from chat-app recompression to a good camera
PHOTO_QUALITY = (85, 95)  # a phone camera's own JPEG


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


def _on_table(rng, rgb, page):
    """The sheet lying turned a little on a darker, uneven table, with the soft shadow it casts
    along two of its sides: a sheet's edge, its shadow and the table are in the photo, never ink."""
    h, w = rgb.shape[:2]
    left, top, right, bottom = rng.uniform(*TABLE_MARGIN, 4) * max(h, w)
    zoom = min(1.0, TABLE_PHOTO_SIDE / max(w + left + right, h + top + bottom))
    size = (round((w + left + right) * zoom), round((h + top + bottom) * zoom))
    angle = rng.uniform(-TABLE_TURN_DEG, TABLE_TURN_DEG)
    matrix = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    matrix[:2, 2] += [left, top]
    matrix = np.diag([zoom, zoom, 1.0]) @ matrix
    sheet = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size, flags=cv2.INTER_LINEAR)
    offset = rng.uniform(*SHADOW_OFFSET, 2) * max(size) * rng.choice([-1, 1], 2)
    cast = cv2.warpAffine(sheet, np.float32([[1, 0, offset[0]], [0, 1, offset[1]]]), size)
    cast = cv2.GaussianBlur(cast, (0, 0), float(np.abs(offset).max()))
    sheet_rgb = np.median(rgb[:: max(1, h // 64), :: max(1, w // 64)].reshape(-1, 3), axis=0)
    level, depth = rng.uniform(*TABLE_LEVEL), rng.uniform(*SHADOW_DEPTH)
    grain = 1 + TABLE_GRAIN * paper.smooth_field(rng, size[::-1], max(8, int(page.height)))
    ground = (sheet_rgb * level * rng.uniform(*TABLE_TINT, 3))[None, None] * (grain * (1 - depth * cast))[..., None]
    photo = _warp(rgb, page, matrix, size)
    page.meta["table"] = {"margins": [left, top, right, bottom], "zoom": zoom, "turn_deg": angle, "level": level,
                          "shadow_offset": list(offset), "shadow_depth": depth}
    return photo * sheet[..., None] + ground * (1 - sheet[..., None])


EFFECTS = {"gradient": _gradient, "shadow_edge": _shadow_edge, "glare": _glare, "vignette": _vignette,
            "defocus": _defocus, "motion_blur": _motion_blur, "noise": _noise, "perspective": _perspective,
            "rotation": _rotation, "on_table": _on_table}


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


def png(image):
    """A grey uint8 image as the bytes of a PNG file, as an upload would carry it."""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot PNG-encode an image of shape {image.shape}")
    return encoded.tobytes()
