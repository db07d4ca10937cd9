"""The reading engine: bytes in, a Reading out. Holds the one piece of state, the loaded model."""
import math
import threading
from pathlib import Path

import numpy as np

from handwriting import config
from handwriting.engine import calibration, cutting, decoding, model_io, runtime, whole_lines
from handwriting.engine.limits import Budget
from handwriting.engine.reading import Box, Digit, Reading
from handwriting.engine.reading_order import keep_first
from handwriting.engine.segmentation import segment
from handwriting.engine.sequence import LineReader


class Recognizer:
    """Loads the model once and reads any number of images, each within the settings' limits."""

    def __init__(self, model_path=None, settings=None, lines=None):
        """`lines`: a LineReader already loaded, shared by every model a server holds; by default the
        settings' line model is loaded, when its file exists."""
        self.settings = settings or config.settings()
        self.path = Path(model_path or self.settings.model_path)
        self.model = runtime.load_model(self.path, self.settings.inference_threads)
        self._infer = self.model.predict
        self.meta = model_io.metadata(self.path)
        self.name = self.meta.get("name", self.path.stem)
        self.version = self.meta.get("date", "unknown")
        self.calibration = calibration.Calibration.of(self.meta)
        self._gradcam = None
        self._gradcam_lock = threading.Lock()
        line_model = Path(self.settings.line_model_path)
        self.lines = lines or (LineReader(line_model, self.settings.inference_threads) if line_model.is_file() else None)

    def classify(self, crops, budget=None):
        """The model's probabilities (N, 11) for uint8 crops (N, 28, 28), in compiled calls of at
        most classify_chunk crops, whose activations stay bounded; `budget`'s deadline is checked
        before each."""
        chunk = max(1, self.settings.classify_chunk)
        parts = [np.zeros((0, len(model_io.CLASSES)), np.float32)]
        for start in range(0, len(crops), chunk):
            if budget is not None:
                budget.check("classifying the crops")
            parts.append(self._infer(model_io.to_batch(crops[start: start + chunk])))
        return np.concatenate(parts)

    def explainer(self):
        """The model's Grad-CAM, built on first use; raises explain.NotExplainable for a model
        without convolutions, so that a caller can refuse before reading anything."""
        from handwriting.engine.explain import GradCam

        with self._gradcam_lock:
            if self._gradcam is None:
                self._gradcam = GradCam(self.path, self.settings.inference_threads,
                                        self.model.metadata.get(model_io.NOT_EXPLAINABLE))
        return self._gradcam

    def explain(self, digits):
        """Grad-CAM heatmaps (N, 28, 28) for the digits of a Reading, each for the digit read."""
        return self.explainer()(np.array([d.crop for d in digits]), [d.digit for d in digits])

    def warm(self):
        self.classify(np.zeros((2, *model_io.INPUT_SHAPE[:2]), np.uint8))

    def budget(self, seconds=math.inf):
        """What one read may take: `seconds` from now (the service passes time_budget_s; the
        command line and the benchmarks have no deadline) and the settings' max_crops."""
        return Budget(seconds, self.settings.max_crops)

    def read(self, data, min_confidence=0.0, seconds=math.inf):
        """Decode, segment and classify within `seconds`; raises decoding.DecodeError for what is
        not a usable image, limits.TooComplex for what would take longer."""
        budget = self.budget(seconds)
        decoded = decoding.decode(data, self.settings.max_pixels, self.settings.working_side, self.settings)
        return self.read_decoded(decoded, min_confidence, budget)

    def read_decoded(self, decoded, min_confidence=0.0, budget=None):
        """Segment, cut and classify a decoded image, its deadline checked between the steps."""
        settings = self.settings
        budget = budget or self.budget()
        budget.check("decoding")
        found = segment(decoded.image, settings.working_side, settings.max_marks)
        if found.marks_at_limit:
            budget.cut_short.add("max_marks")
        budget.check("finding the digits")
        kept = keep_first(found.lines, settings.max_digits)
        if sum(map(len, kept)) < sum(map(len, found.lines)):
            budget.cut_short.add("max_digits")
        lines = cutting.plan(kept, found.digit_height, budget, settings.max_cuts)
        chosen = cutting.choose(lines, self.classify(cutting.candidates(lines), budget))
        to_original = decoded.scale / found.scale
        # The cut search, reject_below and the line reader's rule were tuned on the model's own
        # probabilities: they decide on those, and only what a reading reports is calibrated.
        read = [
            (number, piece, probabilities)
            for number, line in enumerate(chosen)
            for piece, probabilities in line
            if model_io.digit_probabilities(probabilities).max() >= settings.reject_below
        ]
        digits = [
            _digit(piece, self.calibration.digit(probabilities), number, to_original, decoded.width, decoded.height)
            for number, piece, probabilities in read
        ]
        if self.lines is not None and whole_lines.unsure(digits, [model_io.digit_probabilities(p).max() for *_, p in read]):
            budget.check("reading the line whole")
            digits = self.read_whole(found.dark, decoded, digits)
        separators = found.separators_in(to_original, decoded.width, decoded.height)
        return Reading(tuple(digits), decoded.width, decoded.height, tuple(sorted(budget.cut_short)), separators,
                       settings.doubtful_below).filtered(min_confidence)

    def read_whole(self, grey, decoded, digits):
        """The line reader's reading of the strip of `grey` (the segmented grey, ink dark) around
        `digits`, or of the whole image, when it is sure enough; else `digits` as the cut search
        read them."""
        to_grey = grey.shape[0] / decoded.height
        boxes = whole_lines.strips(grey, digits, to_grey)
        texts = self.lines.read([grey[top:bottom, left:right] for left, top, right, bottom in boxes])
        chosen = whole_lines.best(texts, boxes)
        return list(digits) if chosen is None else list(whole_lines.as_digits(*chosen, grey, to_grey))


def _digit(piece, probabilities, line, to_original, width, height):
    """The Digit of a read piece, its box in the upright original and inside it: a strip shrunk to
    one working row still scales its rows by the width's factor."""
    probabilities = model_io.digit_probabilities(probabilities)
    ranked = np.argsort(probabilities)[::-1]
    x, y, w, h = piece.box
    left, top = min(round(x * to_original), width - 1), min(round(y * to_original), height - 1)
    right = min(max(round((x + w) * to_original), left + 1), width)
    bottom = min(max(round((y + h) * to_original), top + 1), height)
    box = Box(int(left), int(top), int(right - left), int(bottom - top))
    alternatives = tuple((int(d), float(probabilities[d])) for d in ranked[1:4])
    return Digit(int(ranked[0]), float(probabilities[ranked[0]]), alternatives, box, line, piece.crop)
