"""Where the ink is: polarity, the paper's light, per-pixel ink contrast and the binary ink mask.

A grey working image comes in; `dark_ink` turns it so that ink is darker than its ground,
`ink_contrast` divides out uneven light, and `binarise` keeps strong ink with the weak ink attached
to it, once ruled lines are erased from the weak ink.
"""
import cv2
import numpy as np

from handwriting.engine.blobs import cut_by_border
from handwriting.engine.ruled_lines import erase_lines

SAMPLE_PIXELS = 100_000  # a percentile of this many evenly strided pixels is as good as one of all
FLAT_SHARE = 0.2  # a drawing or clean scan has at least this share of its pixels at one exact value ...
EVEN_SIDE = 120  # ... and is evenly lit: looked at no larger than this, where strokes are a few pixels wide ...
EVEN_WINDOW = 2  # ... its median over half the image (a marker digit filling a canvas leaves it) ...
UNEVEN_SHARE = 0.1  # ... differs from the background value by DRAWING_INK on under this share of it

# Polarity of a drawing: ink is what differs from the background value by more than this.
DRAWING_INK = 32
# Polarity of a photo: ink on paper, unless the chalk-on-a-board tests below all say otherwise.
LIGHT_PAPER = 100  # a median at least this bright is paper under the ink
DETAIL_SPREAD = 0.25  # pixels this share of the 1-99 % range off the median are detail ...
DETAIL_MIN = 8.0  # ... or at least this many grey levels off it
LIGHT_DETAIL = 3  # mostly lighter detail: over this many times as much as darker detail
POLARITY_SIDE = 600  # detail and thin strokes are looked for with the image no larger than this ...
QUIET_WINDOW = 3  # ... under a median this wide: sensor noise is single specks, a stroke there is wider
SHEET_FILL = 0.85  # a sheet fills more of its convex hull than this, its writing included; a digit far less ...
LIGHT_MARK_SHARE = 0.001  # ... counting light regions of at least this share of the image, not specks
STROKE_WINDOW = 15  # top-hat and black-hat window, px: wider than a stroke at POLARITY_SIDE
STROKE_CONTRAST = 20.0  # a thin stroke stands at least this many grey levels off its ground
LIGHT_STROKES = 2  # light strokes outnumber dark ones by more than this factor on a board
GROUND_SHARE = 8  # the ground around strokes is averaged over an eighth of the image ...
GROUND_MIN = 3  # ... and over at least this many pixels

# Illumination of a photo: the paper's light is the ink closed away at a reduced size.
BACKGROUND_SHRINK = 4  # the light varies slowly, so it is estimated at a quarter of the size
BACKGROUND_SHARE = 12  # the closing window is a twelfth of the image's longest side ...
BACKGROUND_MIN = 5  # ... and at least this many reduced pixels (odd) ...
STROKE_CLOSED = 1.5  # ... and this many times the widest stroke: a bold digit filling the frame closes away whole
STROKE_PERCENTILE = 99  # the widest stroke is this percentile of the strokes' inscribed widths: a speck sets none ...
STROKE_DARK = 0.5  # ... counting dark regions this much darker than the paper on average: a marker's, not a blotch
PAPER_FLOOR = 0.5  # contrast is taken against at least half the median paper, so shadows stay bounded
TABLE_DARKNESS = 0.3  # a region darker than this share of the paper is table or floor, not paper in shadow ...
TABLE_AREA = 0.02  # ... when it covers this share of the photo and reaches its border

# Hysteresis: strong ink seeds, weak ink joins when connected to it.
MAD_TO_SIGMA = 1.4826  # the median absolute deviation of normal noise, as its standard deviation
NOISE_SHARE = 0.05  # noise is measured only when this share of pixels is lighter than the paper
STRONGEST = 99.9  # percentile of the contrast taken as the image's strongest ink
HIGH_OF_STRONGEST = 0.45  # strong ink is at least this share of the strongest ...
HIGH_MIN = 0.12  # ... and at least this contrast ...
HIGH_NOISE = 6  # ... and this many noise deviations
LOW_OF_HIGH = 0.5  # weak ink is at least this share of the strong threshold ...
LOW_MIN = 0.06  # ... and at least this contrast ...
LOW_NOISE = 3  # ... and this many noise deviations ...
PATTERN_PERCENTILE = 90  # ... and above what all but a tenth of the paper reaches away from the strong ink
PATTERN_MARGIN = 1.0  # (times that): a print covering more of it than ink ever does is background
# SHADE was chosen on the tuning pages (3,451, and 200 of chalk on a board whose JPEG keeps it one grey
# around its wiped haze, which was read as ink): at 0.06 and 0.09 the board's read 158 -> 170 of 200 and
# no other page changed; at 0.03 two guilloche pages lost a digit; at 0.12 the board's read 168 and one
# more page of marks yielded a digit.
SHADE = LOW_MIN  # shading broader than a stroke, this far below a drawing's paper, would pass as weak ink


def sample(image, size=SAMPLE_PIXELS):
    """An evenly strided subset of the pixels: enough for a percentile, far cheaper than all."""
    step = max(1, int(np.sqrt(image.size / size)))
    return image[::step, ::step].ravel()


def _reduced(grey, side):
    """`grey` no larger than `side` on its longest side, averaged down; as it is when it fits."""
    scale = min(1.0, side / max(grey.shape))
    if scale == 1.0:
        return grey
    size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def is_flat(grey):
    """A drawing or a clean scan, where FLAT_SHARE or more of the pixels share one exact value,
    rather than a photograph under uneven light. White paper in a photo can be saturated to one
    value too; a shadow across it is then a large smooth region off that value, which a median
    wider than the strokes keeps while it removes the strokes."""
    pixels = sample(grey)
    counts = np.bincount(pixels, minlength=256)
    if counts.max() < FLAT_SHARE * pixels.size:
        return False
    small = _reduced(grey, EVEN_SIDE)
    window = max(3, max(small.shape) // EVEN_WINDOW | 1)
    level = cv2.medianBlur(small, window).astype(np.int16)
    return bool(np.mean(np.abs(level - int(counts.argmax())) > DRAWING_INK) < UNEVEN_SHARE)


def dark_ink(grey, flat):
    """The image with ink darker than the background. A drawing's background is its most common
    value, so the ink is on the side of it that lies farther off: a dense print pattern (a cheque's
    guilloche) can be more common than the paper it is printed on, which then lies on the near side.
    A photo is of ink on paper unless it is mostly dark, mostly lighter detail, and its thin strokes
    (top-hats) are light too and lie on dark ground, as chalk on a board does, or, strokes too bold
    for top-hats, its light regions leave much of their hulls dark: a bright sheet on a darker
    table must not flip it, although its corners and the paper between small dark strokes are
    light detail as well. Detail and strokes are looked for with the sensor's noise taken away:
    a short number covers less than a hundredth of a board, and the noise's specks are the rest of
    its lightest and darkest pixels."""
    pixels = sample(grey)
    if flat:
        off = pixels.astype(np.int16) - int(np.bincount(pixels, minlength=256).argmax())
        lighter, darker = off[off > DRAWING_INK], -off[off < -DRAWING_INK]
        return 255 - grey if lighter.size and (not darker.size or lighter.mean() > darker.mean()) else grey
    if np.median(pixels) >= LIGHT_PAPER:
        return grey
    small = cv2.medianBlur(_reduced(grey, POLARITY_SIDE), QUIET_WINDOW)
    pixels = sample(small)
    median = float(np.median(pixels))
    low, high = np.percentile(pixels, (1, 99))
    delta = max(DETAIL_SPREAD * (high - low), DETAIL_MIN)
    if np.count_nonzero(pixels > median + delta) <= LIGHT_DETAIL * np.count_nonzero(pixels < median - delta):
        return grey
    light = _light_strokes_on_dark_ground(small, delta, (low + high) / 2) or _light_marks_unlike_a_sheet(small)
    return 255 - grey if light else grey


def _light_marks_unlike_a_sheet(small):
    """Whether the light regions clear of the border of a mostly dark photo fill their convex hulls
    less than a sheet of paper does: strokes wider than the stroke window, bold light digits, are
    not found by the top-hat, but a digit leaves much of its hull dark, and a sheet lying on a
    table, its writing included, fills nearly all of its own."""
    light = (small > _otsu(small.ravel())).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=8)
    least = LIGHT_MARK_SHARE * small.size
    filled = []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if area < least or cut_by_border(x, y, w, h, small.shape):
            continue
        outline, _ = cv2.findContours((labels[y:y + h, x:x + w] == i).astype(np.uint8), cv2.RETR_EXTERNAL,
                                      cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.contourArea(cv2.convexHull(np.vstack(outline)))
        filled.append(area / max(hull, 1.0))
    return bool(filled) and float(np.mean(filled)) < SHEET_FILL


def _light_strokes_on_dark_ground(small, delta, middle):
    """Whether the thin strokes of a mostly dark photo, reduced and quieted, are light ones, on
    ground darker than `middle`. A stroke counts only where it stands off the ground around it,
    measured apart from the strokes: a black-hat also finds the board inside a light digit's loops
    and between its strokes, which is no darker than the board around it."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (STROKE_WINDOW, STROKE_WINDOW))
    strong = max(delta, STROKE_CONTRAST)
    dark = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, kernel) > strong
    light = cv2.morphologyEx(small, cv2.MORPH_TOPHAT, kernel) > strong
    side = max(GROUND_MIN, max(small.shape) // GROUND_SHARE)
    ground = _ground(small, light | dark, side)
    dark &= small < ground - strong
    light &= small > ground + strong
    if np.count_nonzero(light) <= LIGHT_STROKES * np.count_nonzero(dark):
        return False
    return float(ground[light | dark].mean()) < middle


def _ground(image, strokes, side):
    """The mean of `image` over a `side` window, leaving out the `strokes` and the pixel around them
    (their blurred edges): a bold digit filling the frame has more stroke than ground near its
    strokes, which must not light the ground they lie on. Where the window holds nothing else, the
    plain mean."""
    values = image.astype(np.float32)
    clear = cv2.erode((~strokes).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    total = cv2.blur(values * clear, (side, side))
    weight = cv2.blur(clear, (side, side))
    ground = total / np.maximum(weight, 1e-6)
    empty = weight <= 0
    if empty.any():
        ground[empty] = cv2.blur(values, (side, side))[empty]
    return ground


def _otsu(values):
    threshold, _ = cv2.threshold(values.reshape(-1, 1).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return threshold


def ink_contrast(grey, flat, shade=SHADE):
    """Per-pixel ink strength in [-1, 1] relative to the local paper (below 0: paper lighter than
    its estimate, which measures the noise), for a grey image with dark ink (see dark_ink). The
    paper under uneven light is the strokes closed away at a reduced size; a drawing's paper is its
    one level but under shading `shade` or more below it (_drawing_paper)."""
    pixels = sample(grey)
    g = grey.astype(np.float32)
    factor = BACKGROUND_SHRINK
    small = cv2.resize(g, (max(1, g.shape[1] // factor), max(1, g.shape[0] // factor)), interpolation=cv2.INTER_AREA)
    least = max(BACKGROUND_MIN, int(max(g.shape) / BACKGROUND_SHARE / factor) | 1)
    if flat:
        paper = _drawing_paper(g, pixels, small, least, shade)
        return np.clip((paper - g) / paper, -1, 1)
    k = _window(small, least)
    background, closed = (_full_size(b, g.shape) for b in _closed(small, k))
    paper = float(np.median(background))
    floor = np.maximum(background, max(PAPER_FLOOR * paper, 1.0))
    # Paper lighter than the smoothed estimate only because the smoothing reached a darker
    # neighbour (a shadow, the table) is not lighter than the paper: the noise is measured on it.
    contrast = np.where(g > background, np.minimum(closed - g, 0), background - g) / floor
    return np.clip(contrast, -1, 1) * (1 - _surroundings(small, paper, k, g.shape))


def _drawing_paper(g, pixels, small, least, shade):
    """A drawing's paper, its one level (the median of the light side of Otsu's split), save where
    shading broader than any stroke (a board's wiped chalk, a soft brush) lies `shade` or more below
    it: there the shading closed as a photo's paper is. A closing leaves shading only where a square
    of its window is that dark all through, and a wider window finds fewer: a drawing with no such
    square of the least window, most of them, is spared the strokes' measure and the closing."""
    level = max(float(np.median(pixels[pixels >= _otsu(pixels)])), 1.0)
    shaded = (1 - shade) * level
    if cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (least, least))).min() >= shaded:
        return level
    background, _ = _closed(small, _window(small, least))
    if background.min() >= shaded:
        return level
    background = _full_size(background, g.shape)
    return np.where(background < shaded, np.maximum(background, 1.0), level)


def _window(small, least):
    """The closing window for a reduced image: at least `least`, and wider than its widest stroke, so
    that a bold digit filling the frame closes away whole."""
    return max(least, int(STROKE_CLOSED * widest_stroke(small)) | 1)


def _closed(small, k):
    """The paper's light in a reduced image, its strokes closed away by a k x k window, as
    (background, closing): the closing smoothed, but never above it, for the blur would carry lit
    paper across a shadow's edge."""
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return np.minimum(cv2.blur(closed, (k, k)), closed), closed


def _full_size(reduced, shape):
    return cv2.resize(reduced, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def widest_stroke(grey, darker=STROKE_DARK):
    """The width in pixels of the widest stroke of a grey image with dark ink: twice the distance
    from the dark side of Otsu's split to the light, at its STROKE_PERCENTILE, over the dark regions
    `darker` than the light side's median on average and clear of the image's border. A closing
    narrower than a stroke leaves its middle as paper and only its edges as ink, which noise then
    breaks into specks; only a marker's strokes grow that wide. A region that reaches the border is
    a shadow, a vignette's corner or the table, and a region barely darker than the paper is a
    blotch of uneven paper or light: the closing must take the width of neither. 0 when no dark
    region is such a stroke."""
    dark = (grey <= _otsu(grey.ravel())).astype(np.uint8)
    if dark.all() or not dark.any():
        return 0.0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    mean = np.bincount(labels.ravel(), weights=grey.ravel(), minlength=count) / np.maximum(stats[:, 4], 1)
    paper = float(np.median(grey[dark == 0]))
    kept = [mean[i] <= (1 - darker) * paper and not cut_by_border(*stats[i, :4], dark.shape) for i in range(1, count)]
    strokes = np.array([False, *kept])[labels].astype(np.uint8)
    if not strokes.any():
        return 0.0
    inside = cv2.distanceTransform(strokes, cv2.DIST_L2, 3)
    return 2.0 * float(np.percentile(inside[strokes > 0], STROKE_PERCENTILE))


def _surroundings(small, paper, k, shape):
    """1 over the table or floor around the sheet: large regions much darker than the
    paper that reach the border of the photo, grown by a closing window to cover their edge."""
    dark = (cv2.blur(small, (k, k)) < TABLE_DARKNESS * paper).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    h, w = dark.shape
    keep = np.zeros(count, np.uint8)
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area > TABLE_AREA * h * w and cut_by_border(x, y, bw, bh, dark.shape):
            keep[i] = 1
    region = cv2.dilate(keep[labels], cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.resize(region, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(np.float32)


def thresholds(contrast, flat):
    """The hysteresis thresholds (low, high) of a contrast image: strong ink is well above the
    strongest ink's share and the noise; weak ink above the noise and above a printed pattern (a
    cheque's guilloche, squared paper) that covers much of the paper away from the strong ink.
    A drawing or clean scan has no noise: where its paper is lighter than its estimate, a print
    pattern took the estimate's place, and taken for noise it would put strong ink above the ink."""
    pixels = sample(contrast)
    # Ink only darkens: the spread of the paper lighter than its estimate is the noise alone.
    lighter = pixels[pixels < 0]
    measured = not flat and lighter.size > NOISE_SHARE * pixels.size
    noise = MAD_TO_SIGMA * float(np.median(-lighter)) if measured else 0.0
    strongest = float(np.percentile(pixels, STRONGEST))
    high = max(HIGH_OF_STRONGEST * strongest, HIGH_MIN, HIGH_NOISE * noise)
    paper = pixels[pixels <= high]
    pattern = float(np.percentile(paper, PATTERN_PERCENTILE)) if paper.size else 0.0
    low = min(max(LOW_OF_HIGH * high, LOW_MIN, LOW_NOISE * noise, PATTERN_MARGIN * pattern), high)
    return low, high


def binarise(contrast, flat):
    """Hysteresis threshold: strong ink seeds, weak ink attached to it; keeps thin pencil strokes
    without keeping the faint text that shows through from the back of the page. Ruled lines are
    erased from the weak ink first, so that a line touching a digit cannot carry its ink along."""
    low, high = thresholds(contrast, flat)
    weak = erase_lines((contrast > low).astype(np.uint8) * 255, flat)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[np.unique(labels[contrast > high])] = True
    seeded[0] = False
    return (seeded.astype(np.uint8) * 255)[labels]
