"""The reading engine: bytes in, a Reading out. Holds the one piece of state, the loaded model."""
import json
import math
import threading
from pathlib import Path

import numpy as np

from handwriting import config, decoding
from handwriting.normalisation import ink_box, to_mnist
from handwriting.reading import Box, Digit, Reading
from handwriting.segmentation import cut_candidates, segment, sheared_columns, slant, union

SPLIT_PENALTY = 0.15  # log-probability a cut must win by, so that a confident whole digit stays whole
SLANT_PENALTY = 0.1  # log-probability leaning cuts must win by over straight ones
WHOLE_CONFIDENT = 0.85  # a blob no wider than one digit and read this surely is never cut
ONE_DIGIT_WIDTH = 1.25  # blobs narrower than this many heights hold one digit, unless unsure


def limit_threads(threads):
    """Cap TensorFlow's thread pools; only possible before TensorFlow runs its first op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass


class Recognizer:
    """Loads the model once and reads any number of images with one batched call each."""

    def __init__(self, model_path=None, settings=None):
        self.settings = settings or config.settings()
        self.path = Path(model_path or self.settings.model_path)
        limit_threads(self.settings.tf_threads)
        import keras
        import tensorflow as tf

        self.model = keras.models.load_model(self.path, compile=False)
        # The concrete function of any batch size: called directly, it skips tf.function's
        # argument binding, a third of a millisecond per image.
        self._infer = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)],
        ).get_concrete_function()
        meta_path = self.path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        self.meta = meta
        self.name = meta.get("name", self.path.stem)
        self.version = meta.get("date", "unknown")
        self._gradcam = None
        self._gradcam_lock = threading.Lock()

    def classify(self, crops):
        """Probabilities (N, 10) for uint8 crops (N, 28, 28), in one compiled call."""
        if len(crops) == 0:
            return np.zeros((0, 10), np.float32)
        batch = np.asarray(crops, np.float32)[..., None] / 255.0
        return self._infer(batch).numpy()

    def explainer(self):
        """The model's Grad-CAM, built on first use; raises explain.NotExplainable for a model
        without convolutions, so that a caller can refuse before reading anything."""
        from handwriting.explain import GradCam

        with self._gradcam_lock:
            if self._gradcam is None:
                self._gradcam = GradCam(self.model)
        return self._gradcam

    def explain(self, digits):
        """Grad-CAM heatmaps (N, 28, 28) for the digits of a Reading, each for the digit read."""
        return self.explainer()(np.array([d.crop for d in digits]), [d.digit for d in digits])

    def warm(self):
        self.classify(np.zeros((2, 28, 28), np.uint8))

    def read(self, data, min_confidence=0.0):
        """Decode, segment and classify; raises decoding.DecodeError for what is not a usable image."""
        decoded = decoding.decode(data, self.settings.max_pixels, reduce_to=self.settings.working_side)
        return self.read_decoded(decoded, min_confidence)

    def read_decoded(self, decoded, min_confidence=0.0):
        found = segment(decoded.image, self.settings.working_side)
        lines = [_Line(blobs, found.digit_height) for blobs in _cap(found.lines, self.settings.max_digits)]
        pieces = [piece for line in lines for piece in line.pieces()]
        for piece, probabilities in zip(pieces, self.classify(np.array([p.crop for p in pieces]))):
            piece.probabilities = probabilities
        to_original = decoded.scale / found.scale
        digits = [
            digit
            for number, line in enumerate(lines)
            for piece in line.best()
            if (digit := _digit(piece, number, to_original, decoded.width, decoded.height)).probability
            >= self.settings.reject_below
        ]
        return Reading(tuple(digits), decoded.width, decoded.height).filtered(min_confidence)


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
        self.start, self.stop = start, stop
        self.uncut = uncut
        self.crop = to_mnist(mask, ink)
        self.probabilities = None

    def digit_like(self, height):
        """A cut-out piece must stand most of the blob's height and not lie flat: half a zero or
        a stray line end is not a digit, however surely the model names it."""
        _, _, w, h = self.box
        return not self.empty and h >= 0.45 * height and w <= 2 * h

    @property
    def score(self):
        """Log-probability of its likeliest digit; the "not one digit" class never counts."""
        return math.log(max(float(self.probabilities[:10].max()), 1e-6))

    @property
    def count_score(self):
        """The score that decides how many digits a blob holds. Ink read uncut stands for "one
        digit, whichever": a wide 5 that might be a 6 is still one digit, and must not lose to the
        two confident digits its halves look like. A cut piece stands for its likeliest digit, as
        the halves of one digit look like digits themselves."""
        return math.log(max(float(self.probabilities[:10].sum()), 1e-6)) if self.uncut else self.score


class _Plan:
    """A blob read whole, or cut at some of its candidate columns: the path with the best joint
    log-probability wins, each extra cut paying SPLIT_PENALTY."""

    def __init__(self, blob, height, cuts, shear=0.0):
        columns, end = None, blob.w
        if shear:
            columns, upright = sheared_columns(blob, shear)
            cuts, end = cut_candidates(upright, height), upright.w
        points = [0, *cuts, end]
        h = max(blob.h, 0.6 * height)
        self.penalty = SLANT_PENALTY if shear else 0.0
        self.points = points
        self.keep_whole = blob.w < ONE_DIGIT_WIDTH * h
        self.pieces = []
        self.index = {}
        for i, start in enumerate(points):
            for j in range(i + 1, len(points)):
                width = points[j] - start
                whole = i == 0 and j == len(points) - 1
                if whole or 0.12 * h <= width <= 1.3 * h:
                    piece = _Piece(blob, start, points[j], columns, uncut=whole)
                    if whole or piece.digit_like(blob.h):
                        self.index[(i, j)] = len(self.pieces)
                        self.pieces.append(piece)

    def best(self):
        """The best path of pieces through the blob and its score."""
        n = len(self.points)
        whole = self.pieces[self.index[(0, n - 1)]] if (0, n - 1) in self.index else None
        if whole is not None and self.keep_whole and whole.probabilities[:10].max() >= WHOLE_CONFIDENT:
            return [whole], whole.count_score - self.penalty
        score = [-math.inf] * n
        back = [None] * n
        score[0] = 0.0
        for j in range(1, n):
            for i in range(j):
                k = self.index.get((i, j))
                if k is None or score[i] == -math.inf:
                    continue
                value = score[i] + self.pieces[k].count_score - (SPLIT_PENALTY if i > 0 else 0.0)
                if value > score[j]:
                    score[j], back[j] = value, i
        path, j = [], n - 1
        while j > 0 and back[j] is not None:
            path.append(self.pieces[self.index[(back[j], j)]])
            j = back[j]
        return path[::-1], score[n - 1] - self.penalty


class _Line:
    """One line of blobs. Next to each blob's own cuts, two neighbours close enough to be the
    pieces of one broken digit (a 4 drawn in two strokes, a 0 cut by a ruled line) are also read
    as one; the reading of the line with the best total score wins."""

    def __init__(self, blobs, height):
        self.plans = [self._plans(blob, height) for blob in blobs]
        self.joined = {}
        for i, (a, b) in enumerate(zip(blobs, blobs[1:])):
            gap = max(a.x, b.x) - min(a.x + a.w, b.x + b.w)
            # Two narrow pieces may be the sides of a 0 whose top and bottom lay on ruled lines.
            narrow = max(a.w, b.w) <= 0.45 * max(a.h, b.h)
            reach = (0.5 if narrow else 0.1) * height
            joined_w = max(a.x + a.w, b.x + b.w) - min(a.x, b.x)
            joined_h = max(a.y + a.h, b.y + b.h) - min(a.y, b.y)
            if gap <= reach and joined_w <= 1.2 * max(joined_h, 0.6 * height):
                union_blob = union(a, b)
                self.joined[i] = _Piece(union_blob, 0, union_blob.w)

    @staticmethod
    def _plans(blob, height):
        """Straight cuts, and for a blob of leaning digits also cuts that lean with them: the
        better wins. A blob of one digit's width is only ever cut straight, which keeps its cost."""
        cuts = cut_candidates(blob, height)
        wide = blob.w >= ONE_DIGIT_WIDTH * max(blob.h, 0.6 * height)
        shear = slant(blob) if cuts and wide else 0.0
        return [_Plan(blob, height, cuts)] + ([_Plan(blob, height, cuts, shear)] if shear else [])

    def pieces(self):
        own = [piece for plans in self.plans for plan in plans for piece in plan.pieces]
        return own + list(self.joined.values())

    def best(self):
        n = len(self.plans)
        score = [-math.inf] * (n + 1)
        back = [None] * (n + 1)
        score[0] = 0.0
        readings = [max(((plan, *plan.best()) for plan in plans), key=lambda read: read[2]) for plans in self.plans]
        for k in range(1, n + 1):
            # Each blob's own cuts are decided; whether two blobs are one digit is weighed on the
            # digits read, as a joined piece is.
            plan, path, _ = readings[k - 1]
            value = sum(piece.score for piece in path) - SPLIT_PENALTY * (len(path) - 1) - plan.penalty
            options = [(score[k - 1] + value - SPLIT_PENALTY * len(path), k - 1, path)]
            if k >= 2 and (k - 2) in self.joined:
                piece = self.joined[k - 2]
                options.append((score[k - 2] + piece.score - SPLIT_PENALTY, k - 2, [piece]))
            score[k], *back[k] = max(options, key=lambda option: option[0])
        path, k = [], n
        while k > 0:
            start, pieces = back[k]
            path[:0] = pieces
            k = start
        return path


def _cap(lines, limit):
    """Keep at most `limit` blobs, the biggest, so a page of noise costs bounded time."""
    blobs = [b for line in lines for b in line]
    if len(blobs) <= limit:
        return lines
    keep = {id(b) for b in sorted(blobs, key=lambda b: -np.count_nonzero(b.mask))[:limit]}
    return [kept for line in lines if (kept := [b for b in line if id(b) in keep])]


def _digit(piece, line, to_original, width, height):
    """The Digit of a read piece, its box in the upright original and inside it: a strip shrunk to
    one working row still scales its rows by the width's factor."""
    probabilities = piece.probabilities[:10]
    ranked = np.argsort(probabilities)[::-1]
    x, y, w, h = piece.box
    left, top = min(round(x * to_original), width - 1), min(round(y * to_original), height - 1)
    right = min(max(round((x + w) * to_original), left + 1), width)
    bottom = min(max(round((y + h) * to_original), top + 1), height)
    box = Box(int(left), int(top), int(right - left), int(bottom - top))
    alternatives = tuple((int(d), float(probabilities[d])) for d in ranked[1:4])
    return Digit(int(ranked[0]), float(probabilities[ranked[0]]), alternatives, box, line, piece.crop)


