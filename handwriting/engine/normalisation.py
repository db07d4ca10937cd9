"""Turn one digit's ink mask into a 28x28 image that looks like MNIST.

MNIST digits are white on black, their longest side is 20 px, their centre of mass sits at the
centre of the 28x28 field, and their strokes are about 2.4 px wide once binarised.
"""
import cv2
import numpy as np

from handwriting.engine.model_io import INPUT_SHAPE

SIZE = INPUT_SHAPE[0]  # the model's field
BOX = 20  # MNIST fits every digit's longest side in this many pixels
STROKE = 2.4  # median MNIST stroke width at BOX scale (2 * area / perimeter of the >127 mask)
STROKE_TOLERANCE = 0.3  # strokes within this share of MNIST's width are left as they are
THIN_KEEP = 0.3  # thinning that leaves less than this share of the ink is not done
STRONG_INK = 90  # percentile of a crop's ink that becomes MNIST's white core
PAD = 0.1  # border added around the ink, as a share of its longest side, before the strokes change
STROKE_SIDE = 4 * BOX  # a bigger crop is shrunk to this longest side before its strokes change: the
# kernel, and so the cost, of the stroke adjustment stays bounded (at most 2 * STROKE px wide)


def stroke_width(mask):
    """Mean stroke width in pixels: twice the area over the perimeter, exact for long thin strokes."""
    area = float(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * area / max(perimeter, 1.0)


def _adjust_stroke(mask, longest):
    """Thicken or thin the strokes so that they will be MNIST-wide at BOX scale."""
    target = STROKE * longest / BOX
    width = stroke_width(mask)
    radius = int(round((target - width) / 2))
    if width == 0 or abs(target - width) < STROKE_TOLERANCE * target or radius == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(radius) + 1, 2 * abs(radius) + 1))
    if radius > 0:
        return cv2.dilate(mask, kernel)
    thinned = cv2.erode(mask, kernel)
    return thinned if np.count_nonzero(thinned) > THIN_KEEP * np.count_nonzero(mask) else mask


def _levelled(crop):
    """The strong ink becomes MNIST's white core, however faint the pen; weaker edges stay grey."""
    level = float(np.percentile(crop[crop > 0], STRONG_INK))
    return np.clip(crop * (255.0 / level), 0, 255)


def ink_box(mask):
    """(x, y, width, height) of the ink in a 2-D uint8 mask, or None when there is none; OpenCV's
    bounding rectangle is several times faster than np.nonzero on the hot path."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask))
    return (x, y, w, h) if w and h else None


def to_mnist(mask, box=...):
    """An ink mask (any size, ink > 0, its value the ink's strength) to a 28x28 uint8 image in
    MNIST's convention; `box` is the mask's ink_box when the caller has it already."""
    box = ink_box(mask) if box is ... else box
    if box is None:
        return np.zeros((SIZE, SIZE), np.uint8)
    x, y, width, height = box
    crop = _levelled(mask[y: y + height, x: x + width].astype(np.float32))
    longest = max(height, width)
    if longest > STROKE_SIDE:
        shrink = STROKE_SIDE / longest
        size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
        # Again after shrinking: a stroke thinner than a shrunk pixel is averaged with its background.
        crop = _levelled(cv2.resize(crop, size, interpolation=cv2.INTER_AREA))
        longest = max(crop.shape)
    crop = crop.astype(np.uint8)
    pad = int(np.ceil(longest * PAD)) + 1
    crop = _adjust_stroke(cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0), longest)
    x, y, width, height = ink_box(crop)
    crop = crop[y: y + height, x: x + width]
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return centre(small)


def centre(digit):
    """Place a digit in the 28x28 field with its centre of mass at the middle, kept inside the field."""
    height, width = digit.shape
    total = float(digit.sum())
    cy = float(digit.sum(axis=1) @ np.arange(height)) / total if total else height / 2
    cx = float(digit.sum(axis=0) @ np.arange(width)) / total if total else width / 2
    dx = np.clip(SIZE / 2 - cx, 0, SIZE - width) if width <= SIZE else 0
    dy = np.clip(SIZE / 2 - cy, 0, SIZE - height) if height <= SIZE else 0
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(digit, shift, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderValue=0)
