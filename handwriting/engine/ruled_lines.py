"""Ruled and grid lines: found in a binary ink mask and erased, with the strokes that crossed them
bridged over the gap.

A ruled line is short straight runs that chain, with small gaps and a little slant, across much of
the page; it is thin, and one straight line through it is covered along most of its length.
"""
import cv2
import numpy as np

SPAN_DRAWING = 0.8  # in a drawing a line crosses at least this share of the width ...
SPAN_PHOTO = 0.3  # ... in a photo, where a sheet may fill only part of it, this share
SPAN_VERTICAL = 0.6  # a vertical line (a margin) crosses at least this share of the height
RUN_SHARE = 60  # a straight run is at least a sixtieth of the page ...
RUN_MIN = 9  # ... and at least this many pixels
REACH_SHARE = 15  # runs chain across gaps of up to a fifteenth of the page ...
REACH_MIN = 15  # ... and of at least this many pixels
CHAIN_ACROSS = 5  # runs chain when they lie within this many pixels across the line
DRAWING_LINES = 2  # in a drawing a single long bar is a digit's: ruled paper has this many or more
REFITS = 2  # times a line is refitted to the runs it covers, so that it follows where it fades
EDGE = 2  # pixels added to a line's measured thickness for its anti-aliased edges
GROW = 2  # pixels added across a line when its ink is gathered, past its thickness
VOTE_PIXELS = 2000  # a line's slope and offset are voted on by about this many of its pixels
VOTE_BIN = 3  # pixels of offset that vote together
TOLERANCE_MIN = 3.0  # pixels on a line lie within this distance of it ...
TOLERANCE_SLOPE = 0.01  # ... or this share of its length, for a line that curves a little
COVERAGE = 0.6  # share of its length that a line's pixels must cover
BARS = 4  # the bars of digits at one height chain into this many pieces or fewer ...
BAR_SHARE = 0.5  # ... none as long as this share of the chain (a rule fading away breaks into more)
BAND_REACH = 20  # pixels either side of a line counted to measure its thickness
THIN_MIN = 7.0  # a ruled line is at most this many pixels thick ...
THIN_SHARE = 0.006  # ... or this share of the page: the band at a sheet's edge is as wide as a digit
SLENDER = 40  # ... and runs this many times its thickness (a digit's stroke or bar: about ten) ...
ACROSS = 0.95  # ... or, horizontal, crosses this share of the picture, as the rule of a cropped field does
# RULE_CLEAR was chosen on the tuning pages of held-out digits at seed 1 and the ORAND-CAR-A training
# amounts: at the median (50) three pages of marker digits on ruled paper read nothing, the rules they
# cross kept as ink and the whole page dropped as one edge; 25 and 40 read them and changed no other page.
RULE_CLEAR = 25  # percentile of thickness along a rule across the picture: a quarter of it runs clear of strokes
BRIDGE = 4  # pixels added to a line's thickness to bridge the strokes that crossed it
CHAIN_MISSES = 2  # straight bands of a chain that are not lines (strokes) set aside before it is given up
SLOPES = np.linspace(-0.2, 0.2, 41)  # slopes voted on: up to about 11 degrees off the axis


def find_lines(mask, flat):
    """The ink of ruled and grid lines in a binary mask. In a drawing a single long bar is a digit's,
    so ruled paper there needs DRAWING_LINES lines or more, and vertical lines are looked for only
    once horizontal ones were found (squared paper): alone, long vertical strokes are more likely
    1s than a margin. Where a grid's lines cross, the ink is thick both ways, as a stroke's is:
    it is line ink when it lies on lines of both directions and holds no square as thick as
    they are, as a stroke does."""
    height, width = mask.shape
    lines = np.zeros_like(mask)
    along_lines = {}  # direction: the mask's ink along its lines, crossings included
    thinnest = None  # the thickness of the thinnest line found
    directions = [(True, width, SPAN_DRAWING if flat else SPAN_PHOTO),
                  (False, height, SPAN_DRAWING if flat else SPAN_VERTICAL)]
    for horizontal, extent, span in directions:
        if flat and not horizontal and not lines.any():
            break
        run = max(RUN_MIN, extent // RUN_SHARE)
        straight = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, run) if horizontal else (run, 1), np.uint8))
        if not straight.any():
            continue
        fits, (ys, xs) = _fits(straight, horizontal, extent, span)
        if not fits or (flat and len(fits) < DRAWING_LINES):
            continue
        along, across = (xs, ys) if horizontal else (ys, xs)
        along_lines[horizontal] = np.zeros_like(mask)
        for thickness, chosen in _by_thickness(fits, along, across, extent).items():
            found = np.zeros(mask.shape, bool)
            found[ys[chosen], xs[chosen]] = True
            grown, ink = _line_ink(mask, found, thickness, horizontal, run)
            thinnest = min(thinnest or thickness, thickness)
            along_lines[horizontal] = cv2.bitwise_or(along_lines[horizontal], grown)
            lines = cv2.bitwise_or(lines, ink)
    if len(along_lines) == 2:
        solid = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((thinnest, thinnest), np.uint8))
        crossings = cv2.bitwise_and(cv2.bitwise_and(along_lines[True], along_lines[False]), cv2.bitwise_not(solid))
        lines = cv2.bitwise_or(lines, crossings)
    return lines


def _fits(straight, horizontal, extent, span):
    """The lines that the straight runs chain into, each as (polynomial, tolerance), and the runs'
    pixels (ys, xs) once they were needed."""
    reach = max(REACH_MIN, extent // REACH_SHARE)
    long_enough = span * extent + reach - 1
    chain = (CHAIN_ACROSS, reach) if horizontal else (reach, CHAIN_ACROSS)
    chained = cv2.dilate(straight, np.ones(chain, np.uint8))
    # A chain spans no more columns (rows) than all chains cover together: in most images none is
    # long enough, and then nothing needs labelling.
    if np.count_nonzero(chained.any(axis=0 if horizontal else 1)) < long_enough:
        return [], (None, None)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(chained, connectivity=8)
    side = stats[:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT]
    candidates = np.flatnonzero(side >= long_enough)
    ys, xs = np.nonzero(straight)
    owner = labels[ys, xs]
    along, across = (xs, ys) if horizontal else (ys, xs)
    fits = []
    for i in candidates[candidates > 0]:
        fits += _chain_fits(along[owner == i], across[owner == i], extent, long_enough, horizontal)
    return fits, (ys, xs)


def _chain_fits(along, across, extent, long_enough, horizontal):
    """The lines of one chain. Strokes between two close rules chain them into one, and the thick
    strokes a line carries can outvote it: each straight band voted for is set aside once fitted,
    line or not (up to CHAIN_MISSES that are not), and the rest is fitted again while it still
    spans far enough."""
    fits, misses = [], 0
    while along.size and np.ptp(along) + 1 >= long_enough and misses <= CHAIN_MISSES:
        voted = _line_fit(along, across, extent, horizontal)
        if voted is None:
            break
        fit, tolerance, is_line = voted
        if is_line:
            fits.append((fit, tolerance))
        else:
            misses += 1
        rest = np.abs(across - np.polyval(fit, along)) > tolerance
        along, across = along[rest], across[rest]
    return fits


def _by_thickness(fits, along, across, extent):
    """{thickness: which straight pixels lie on lines that thick}. A ruled line runs across the
    whole page: where it fades under uneven light its pieces are too short to chain, but they lie
    on the line found where it is darker; refitted to them, the line stays on them however far
    they are. Lines are measured one by one: under shadow or ink one may be thicker than the rest."""
    by_thickness = {}
    for fit, tolerance in fits:
        for _ in range(REFITS):
            on_line = np.abs(across - np.polyval(fit, along)) <= tolerance
            fit = np.polyfit(along[on_line], across[on_line], 1)
        on_line = np.abs(across - np.polyval(fit, along)) <= tolerance
        # Measured on the band the line crosses, rows across it, not on the whole page.
        offset = across[on_line].min()
        band = np.zeros((across[on_line].max() - offset + 1, extent), bool)
        band[across[on_line] - offset, along[on_line]] = True
        thickness = _run_length(band) + EDGE
        by_thickness[thickness] = by_thickness.get(thickness, False) | on_line
    return by_thickness


def _line_ink(mask, found, thickness, horizontal, run):
    """The mask's ink along the lines through the `found` pixels (short pieces between strokes
    too, and across their thickness), and of it the lines' own ink: not where a stroke crosses or
    lies on a line, as the ink there is thicker than the line."""
    kernel = (thickness + GROW, 2 * run + 1) if horizontal else (2 * run + 1, thickness + GROW)
    grown = cv2.bitwise_and(cv2.dilate(found.astype(np.uint8) * 255, np.ones(kernel, np.uint8)), mask)
    # Beyond the picture is no ink: a line along its border is as thin as it looks.
    thick = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((thickness, 1) if horizontal else (1, thickness), np.uint8),
                             borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return grown, cv2.bitwise_and(grown, cv2.bitwise_not(thick))


def _run_length(pixels):
    """Mean length of the vertical runs of a boolean image: the thickness of horizontal lines."""
    starts = np.count_nonzero(pixels[0]) + np.count_nonzero(pixels[1:] & ~pixels[:-1])
    return max(1, round(np.count_nonzero(pixels) / max(starts, 1)))


def _line_fit(along, across, extent, horizontal):
    """The straight band most pixels of a chain of runs agree on (their coordinates along and
    across the direction searched), as (polynomial, how far from it its pixels lie, whether it is a
    ruled line), or None when they cannot vote. The band is the slope and offset of a small Hough
    vote, as the thick strokes of digits a line crosses or carries can outnumber its own pixels.
    It is a ruled line when it is covered along most of the chain's length (bars of digits that
    merely line up cover too little, or a few short pieces of it, short of crossing the picture),
    thin (the band along the edge of a sheet is too thick) and long for its thickness (a digit's
    stroke, in a crop as tall as the digits, is not)."""
    if along.size < 2:
        return None
    step = max(1, along.size // VOTE_PIXELS)
    a, c = along[::step].astype(np.float64), across[::step].astype(np.float64)
    offsets = np.round((c[None, :] - SLOPES[:, None] * a[None, :]) / VOTE_BIN).astype(np.int64)
    offsets -= offsets.min()
    votes = [np.bincount(row) for row in offsets]
    best = int(np.argmax([v.max() for v in votes]))
    near = offsets[best] == np.argmax(votes[best])
    if np.ptp(a[near]) == 0:
        return None
    fit = np.polyfit(a[near], c[near], 1)
    distance = np.abs(across - np.polyval(fit, along))
    tolerance = max(TOLERANCE_MIN, TOLERANCE_SLOPE * np.ptp(along))
    covered, chain = np.unique(along[distance <= tolerance]), np.ptp(along) + 1
    if len(covered) < COVERAGE * chain:
        return fit, tolerance, False
    pieces = np.diff(np.r_[-1, np.flatnonzero(np.diff(covered) > 1), len(covered) - 1])
    if len(pieces) <= BARS and pieces.max() < BAR_SHARE * chain and chain < ACROSS * extent:
        return fit, tolerance, False
    # Thin, as ruled lines are: the band around a sheet's edge in a photo is as wide as a digit, and
    # in a tight crop a 1 or the bars of digits at one height are long only for the picture's size
    # (a 1 may reach from top to bottom of it; the rule of a cropped field runs along the writing).
    # A rule across the whole picture is measured where it runs clear of the strokes crossing it:
    # marker digits on it may cover most of its length, and there it is as thick as they are.
    counts = np.bincount(along[distance <= BAND_REACH] - along.min())
    length = covered[-1] - covered[0] + 1
    across_all = horizontal and length >= ACROSS * extent
    thickness = float(np.percentile(counts[counts > 0], RULE_CLEAR if across_all else 50))
    slender = thickness * SLENDER <= length or across_all
    return fit, tolerance, slender and thickness <= max(THIN_MIN, THIN_SHARE * extent)


def erase_lines(mask, flat):
    """Remove the ink of ruled lines, then bridge the strokes that crossed them over the gap."""
    lines = find_lines(mask, flat)
    if not lines.any():
        return mask
    kept = cv2.bitwise_and(mask, cv2.bitwise_not(lines))
    # The gap to bridge is one line's thickness (a column crosses many lines: not their sum).
    ink = lines > 0
    size = min(_run_length(ink), _run_length(ink.T)) + BRIDGE
    closed = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return cv2.bitwise_or(kept, cv2.bitwise_and(closed, lines))
