"""Touching and broken digits: where a blob may be cut, and which cuts to keep.

Two steps around the batched model calls of an image: `plan` lays out, for every line, each
blob read whole and cut at its candidate columns (straight, and leaning with leaning digits), and
each pair of neighbours read as one; `candidates` is the 28x28 crop of every piece, and `choose`
takes the model's probabilities for those crops and keeps, per line, the reading with the best
joint log-probability; a line's first blob that is a sign before its number (no_digit) reads as no
digit, and two neighbours each a tall, sure digit alone are never read as one. A limits.Budget
bounds the crops and the time of the planning.
"""
import math

import cv2
import numpy as np

from handwriting.engine.blobs import SHORTEST_DIGIT, Blob, union
from handwriting.engine.limits import Budget
from handwriting.engine.model_io import NOT_A_DIGIT, digit_probabilities
from handwriting.engine.normalisation import ink_box, to_mnist

MIN_CUT_WIDTH = 0.8  # blobs narrower than this many digit heights are read whole, never cut
MAX_CUTS = 12  # candidate cuts per blob when the caller names none (the settings' max_cuts)
MIN_SLANT = 0.08  # shear (x per y) below which cuts stay straight columns
MAX_SLANT = 0.5  # the most a cut leans, x per y
PROFILE_BLUR = 0.03  # the ink profile is smoothed over this share of the digit height (at least 1 px)
CUT_MARGIN = 0.2  # no cut nearer a blob's side than this share of the digit height
NARROWEST_DIGIT = 0.7  # a blob holds at most its width over this many digit heights of digits
CUT_SPACING = 0.12  # cuts lie at least this share of the digit height apart
PIECE_MIN = 0.12  # a piece between two cuts is at least this share of the digit height wide ...
PIECE_MAX = 1.3  # ... and at most this many digit heights
PIECE_HEIGHT = 0.45  # a cut-out piece stands at least this share of its blob's height ...
PIECE_FLAT = 2  # ... and is at most this many times as wide as it is tall
SPLIT_PENALTY = 0.15  # log-probability a cut must win by, so that a confident whole digit stays whole
SLANT_PENALTY = 0.1  # log-probability leaning cuts must win by over straight ones
WHOLE_CONFIDENT = 0.85  # a blob no wider than one digit and read this surely is never cut
ONE_DIGIT_WIDTH = 1.25  # blobs narrower than this many heights hold one digit, unless unsure
NARROW_PIECE = 0.45  # neighbours narrower than this share of their height may be the sides of a 0 ...
JOIN_NARROW = 0.5  # ... and are read as one across a gap of this share of the digit height
JOIN_GAP = 0.1  # other neighbours are read as one across a gap of this share
JOINED_WIDTH = 1.2  # two neighbours read as one are at most this many times as wide as tall
LEAST_PROBABILITY = 1e-6  # floor of a probability before its log
# PAIR_TALL was chosen on the tuning pages (held-out digits, seeds 1 and 3): of the 134 pairs read as
# one, 0.8-0.85 (with WHOLE_CONFIDENT) keeps 45-49 of the 55 that were two digits apart and splits
# 0-1 of the 79 broken digits; 0.9 keeps 31 apart.
PAIR_TALL = 0.85  # two neighbours each this share of the digit height tall, each a sure digit, are two
# NOT_ONE_DIGIT and PIECE_SURE were chosen on the tuning pages of held-out digits (seeds 1 and 3)
# and ORAND-CAR-A's training amounts: any pair from 0.8-0.95 and 0.6-0.8 takes the same 13 signs,
# whose weaker piece reads 0.22-0.55; a real amount's first two digits, touching, read 0.73 or more.
NOT_ONE_DIGIT = 0.9  # a blob of one digit's width read whole as "not one digit" this surely ...
PIECE_SURE = 0.6  # ... holds no digit when a piece of its best cut is read less surely than this


def plan(lines, height, budget=None, max_cuts=MAX_CUTS):
    """Every way of reading each line of blobs: the cut plans of each blob and the pairs of
    neighbours that may be one broken digit; `height` is the typical digit height. Blobs are
    planned biggest first until `budget` (limits.Budget, default: none) runs out of crops: then a
    blob is read whole, then not at all, and the budget notes "max_crops"; its deadline is checked
    before each blob."""
    budget = budget or Budget(math.inf, math.inf)
    order = sorted((blob for blobs in lines for blob in blobs), key=lambda b: -np.count_nonzero(b.mask))
    plans = {}
    for blob in order:
        budget.check("cutting the touching digits")
        plans[id(blob)] = _Line.plans(blob, height, budget, max_cuts)
    return [_Line([b for b in blobs if plans[id(b)]], plans, height, budget) for blobs in lines]


def candidates(lines):
    """The 28x28 crop of every piece of the planned lines, in the order `choose` reads them."""
    return np.array([piece.crop for piece in _pieces(lines)])


def choose(lines, probabilities):
    """The best reading of each planned line, as [(piece, its probabilities)], given the model's
    probabilities for `candidates(lines)`, row by row."""
    rows = {id(piece): row for piece, row in zip(_pieces(lines), probabilities)}

    def read(piece):
        return rows[id(piece)]

    return [[(piece, read(piece)) for piece in line.best(read)] for line in lines]


def _pieces(lines):
    return [piece for line in lines for piece in line.pieces()]


def cut_candidates(blob, height, max_cuts=MAX_CUTS):
    """Columns where a blob of touching digits may be cut: minima of the ink profile and, for
    overlaps without a minimum, even divisions of the width. Empty for a blob too narrow to hold two."""
    h = max(blob.h, SHORTEST_DIGIT * height)
    if blob.w < MIN_CUT_WIDTH * h:
        return []
    profile = (blob.mask > 0).sum(axis=0).astype(np.float32).reshape(1, -1)
    profile = cv2.GaussianBlur(profile, (0, 0), max(1.0, PROFILE_BLUR * h)).ravel()
    margin = CUT_MARGIN * h
    cuts = [
        x for x in range(1, blob.w - 1)
        if profile[x] <= profile[x - 1] and profile[x] <= profile[x + 1] and margin <= x <= blob.w - margin
    ]
    pieces = min(max(2, round(blob.w / (NARROWEST_DIGIT * h))), max_cuts)  # a hair-thin line is no row of 1,000 digits
    for n in range(2, pieces + 2):
        cuts.extend(round(blob.w * k / n) for k in range(1, n))
    kept = []
    for x in sorted(cuts, key=lambda c: profile[min(max(c, 0), blob.w - 1)]):
        if len(kept) == max_cuts:
            break
        if margin <= x <= blob.w - margin and all(abs(x - k) >= CUT_SPACING * h for k in kept):
            kept.append(x)
    return sorted(kept)


def slant(blob):
    """How far the blob's strokes lean, as x per y: the regression of x on y over its ink, which
    side-by-side digits do not disturb. 0 when they stand nearly upright."""
    moments = cv2.moments(blob.mask, binaryImage=True)
    if moments["mu02"] <= 0:
        return 0.0
    shear = float(np.clip(moments["mu11"] / moments["mu02"], -MAX_SLANT, MAX_SLANT))
    return shear if abs(shear) >= MIN_SLANT else 0.0


def sheared_columns(blob, shear):
    """Each pixel's column once the blob is sheared upright (x - shear * (y - centre), shifted to
    start at 0), and the sheared blob: cuts found on its columns follow the slant of the digits."""
    ys, xs = np.indices(blob.mask.shape, dtype=np.float32)
    centre = (blob.h - 1) / 2
    offset = abs(shear) * centre
    columns = xs - shear * (ys - centre) + offset
    width = int(np.ceil(blob.w + 2 * offset))
    matrix = np.float32([[1, -shear, shear * centre + offset], [0, 1, 0]])
    mask = cv2.warpAffine(blob.mask, matrix, (width, blob.h), flags=cv2.INTER_NEAREST, borderValue=0)
    return columns, Blob(blob.x, blob.y, width, blob.h, mask)


def score(probabilities):
    """Log-probability of a piece's likeliest digit; the "not one digit" class never counts."""
    return math.log(max(float(digit_probabilities(probabilities).max()), LEAST_PROBABILITY))


def no_digit(whole, pieces, not_one=NOT_ONE_DIGIT, sure=PIECE_SURE):
    """Whether a blob holds no digit: the model reads it whole (`whole`: its probabilities) as
    "not one digit" at least `not_one` surely, and a piece of its best cut (`pieces`: theirs) less
    than `sure`ly. A currency sign is cut into a sure 1 and an unsure rest; two touching digits
    are, like a sign, not one digit, but their halves read surely."""
    return (len(pieces) > 1 and float(whole[NOT_A_DIGIT]) >= not_one
            and min(float(digit_probabilities(p).max()) for p in pieces) < sure)


class _Piece:
    """A column range [start, stop) of a blob, cut out as one digit candidate; with `columns`
    (each pixel's column after shearing the blob upright) the cuts follow the digits' slant.
    `uncut`: the whole of its ink, not a piece that a cut made."""

    def __init__(self, blob, start, stop, columns=None, uncut=False):
        if columns is None:
            mask, shift = blob.mask[:, start:stop], start
        else:
            mask, shift = np.where((columns >= start) & (columns < stop), blob.mask, 0).astype(np.uint8), 0
        ink = ink_box(mask)
        self.empty = ink is None
        left, top, w, h = ink or (0, 0, 1, 1)
        self.box = (blob.x + shift + left, blob.y + top, w, h)
        self.uncut = uncut
        self.crop = to_mnist(mask, ink)

    def digit_like(self, height):
        """A cut-out piece must stand most of the blob's height and not lie flat: half a zero or
        a stray line end is not a digit, however surely the model names it."""
        _, _, w, h = self.box
        return not self.empty and h >= PIECE_HEIGHT * height and w <= PIECE_FLAT * h

    def count_score(self, probabilities):
        """The score that decides how many digits a blob holds. Ink read uncut stands for "one
        digit, whichever": a wide 5 that might be a 6 is still one digit, and must not lose to the
        two confident digits its halves look like. A cut piece stands for its likeliest digit, as
        the halves of one digit look like digits themselves."""
        if self.uncut:
            return math.log(max(float(digit_probabilities(probabilities).sum()), LEAST_PROBABILITY))
        return score(probabilities)


class _Plan:
    """A blob read whole, or cut at some of its candidate columns: the path with the best joint
    log-probability wins, each extra cut paying SPLIT_PENALTY. Its pieces are taken from `budget`;
    when they do not fit, a straight plan reads the blob whole and a leaning one has no pieces."""

    def __init__(self, blob, height, cuts, budget, shear=0.0, max_cuts=MAX_CUTS):
        columns, end = None, blob.w
        if shear:
            columns, upright = sheared_columns(blob, shear)
            cuts, end = cut_candidates(upright, height, max_cuts), upright.w
        points = [0, *cuts, end]
        h = max(blob.h, SHORTEST_DIGIT * height)
        last = len(points) - 1
        spans = [
            (i, j) for i in range(last) for j in range(i + 1, last + 1)
            if (i, j) == (0, last) or PIECE_MIN * h <= points[j] - points[i] <= PIECE_MAX * h
        ]
        if not budget.take(len(spans)):
            budget.cut_short.add("max_crops")
            points = [0, end]
            spans = [(0, 1)] if not shear and budget.take(1) else []
        self.penalty = SLANT_PENALTY if shear else 0.0
        self.points = points
        self.keep_whole = blob.w < ONE_DIGIT_WIDTH * h
        self.pieces = []
        self.index = {}
        for i, j in spans:
            whole = (i, j) == (0, len(points) - 1)
            piece = _Piece(blob, points[i], points[j], columns, uncut=whole)
            if whole or piece.digit_like(blob.h):
                self.index[(i, j)] = len(self.pieces)
                self.pieces.append(piece)

    def best(self, read):
        """The best path of pieces through the blob and its score; `read(piece)` is its probabilities."""
        n = len(self.points)
        whole = self.pieces[self.index[(0, n - 1)]] if (0, n - 1) in self.index else None
        if whole is not None and self.keep_whole and digit_probabilities(read(whole)).max() >= WHOLE_CONFIDENT:
            return [whole], whole.count_score(read(whole)) - self.penalty
        best = [-math.inf] * n
        back = [None] * n
        best[0] = 0.0
        for j in range(1, n):
            for i in range(j):
                k = self.index.get((i, j))
                if k is None or best[i] == -math.inf:
                    continue
                piece = self.pieces[k]
                value = best[i] + piece.count_score(read(piece)) - (SPLIT_PENALTY if i > 0 else 0.0)
                if value > best[j]:
                    best[j], back[j] = value, i
        path, j = [], n - 1
        while j > 0 and back[j] is not None:
            path.append(self.pieces[self.index[(back[j], j)]])
            j = back[j]
        return path[::-1], best[n - 1] - self.penalty

    def holds_no_digit(self, read, path):
        """Whether the blob, one digit wide, cut along `path`, holds no digit (no_digit)."""
        whole = self.index.get((0, len(self.points) - 1))
        return self.keep_whole and whole is not None and no_digit(read(self.pieces[whole]), list(map(read, path)))


class _Line:
    """One line of blobs. Next to each blob's own cuts, two neighbours close enough to be the
    pieces of one broken digit (a 4 drawn in two strokes, a 0 cut by a ruled line) are also read
    as one, unless each is a tall, sure digit alone (two_digits); the reading of the line with the
    best total score wins. `plans` holds each blob's plans by id, made by `_Line.plans`."""

    def __init__(self, blobs, plans, height, budget):
        self.plans = [plans[id(blob)] for blob in blobs]
        self.height = height
        self.joined = {}
        for i, (a, b) in enumerate(zip(blobs, blobs[1:])):
            gap = max(a.x, b.x) - min(a.x + a.w, b.x + b.w)
            # Two narrow pieces may be the sides of a 0 whose top and bottom lay on ruled lines.
            narrow = max(a.w, b.w) <= NARROW_PIECE * max(a.h, b.h)
            reach = (JOIN_NARROW if narrow else JOIN_GAP) * height
            joined_w = max(a.x + a.w, b.x + b.w) - min(a.x, b.x)
            joined_h = max(a.y + a.h, b.y + b.h) - min(a.y, b.y)
            if gap <= reach and joined_w <= JOINED_WIDTH * max(joined_h, SHORTEST_DIGIT * height):
                if not budget.take(1):
                    budget.cut_short.add("max_crops")
                    continue
                union_blob = union(a, b)
                self.joined[i] = _Piece(union_blob, 0, union_blob.w)

    @staticmethod
    def plans(blob, height, budget, max_cuts):
        """Straight cuts, and for a blob of leaning digits also cuts that lean with them: the
        better wins. A blob of one digit's width is only ever cut straight, which keeps its cost.
        Empty when not even the whole blob fits the budget."""
        cuts = cut_candidates(blob, height, max_cuts)
        wide = blob.w >= ONE_DIGIT_WIDTH * max(blob.h, SHORTEST_DIGIT * height)
        shear = slant(blob) if cuts and wide else 0.0
        plans = [_Plan(blob, height, cuts, budget, max_cuts=max_cuts)]
        if shear:
            plans.append(_Plan(blob, height, cuts, budget, shear, max_cuts))
        return [plan for plan in plans if plan.pieces]

    def pieces(self):
        own = [piece for plans in self.plans for plan in plans for piece in plan.pieces]
        return own + list(self.joined.values())

    def two_digits(self, first, second, read):
        """Whether two neighbours, each read as one digit (`first`, `second`: their paths), are two
        digits however surely their ink reads as one: each stands PAIR_TALL of the digit height and
        reads WHOLE_CONFIDENT surely. A "1" beside a "5" reads as a 5; a broken digit's pieces are
        shorter than a digit, or read unsurely."""
        return all(len(path) == 1 and path[0].box[3] >= PAIR_TALL * self.height
                   and digit_probabilities(read(path[0])).max() >= WHOLE_CONFIDENT
                   for path in (first, second))

    def best(self, read):
        """The pieces of the line's best reading; `read(piece)` is a piece's probabilities."""
        n = len(self.plans)
        best = [-math.inf] * (n + 1)
        back = [None] * (n + 1)
        best[0] = 0.0
        readings = [max(((plan, *plan.best(read)) for plan in plans), key=lambda found: found[2])
                    for plans in self.plans]
        if n > 1 and readings[0][0].holds_no_digit(read, readings[0][1]):  # a sign before the number
            readings[0] = (readings[0][0], [], 0.0)
        for k in range(1, n + 1):
            # Each blob's own cuts are decided; whether two blobs are one digit is weighed on the
            # digits read, as a joined piece is.
            plan, path, _ = readings[k - 1]
            value = sum(score(read(piece)) for piece in path) - SPLIT_PENALTY * max(len(path) - 1, 0) - plan.penalty
            options = [(best[k - 1] + value - SPLIT_PENALTY * len(path), k - 1, path)]
            if k >= 2 and (k - 2) in self.joined and not self.two_digits(readings[k - 2][1], path, read):
                piece = self.joined[k - 2]
                options.append((best[k - 2] + score(read(piece)) - SPLIT_PENALTY, k - 2, [piece]))
            best[k], *back[k] = max(options, key=lambda option: option[0])
        path, k = [], n
        while k > 0:
            start, pieces = back[k]
            path[:0] = pieces
            k = start
        return path
