"""The reading engine: bytes in, a Reading out. Holds the one piece of state, the loaded model."""
import threading
from pathlib import Path

import numpy as np

from handwriting import config
from handwriting.engine import cutting, decoding, model_io
from handwriting.engine.blobs import keep_biggest
from handwriting.engine.reading import Box, Digit, Reading
from handwriting.engine.segmentation import segment


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
        import tensorflow as tf

        self.model = model_io.load(self.path)
        # The concrete function of any batch size: called directly, it skips tf.function's
        # argument binding, a third of a millisecond per image.
        self._infer = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec([None, *model_io.INPUT_SHAPE], tf.float32)],
        ).get_concrete_function()
        self.meta = model_io.metadata(self.path)
        self.name = self.meta.get("name", self.path.stem)
        self.version = self.meta.get("date", "unknown")
        self._gradcam = None
        self._gradcam_lock = threading.Lock()

    def classify(self, crops):
        """The model's probabilities (N, 11) for uint8 crops (N, 28, 28), in one compiled call."""
        if len(crops) == 0:
            return np.zeros((0, len(model_io.CLASSES)), np.float32)
        return self._infer(model_io.to_batch(crops)).numpy()

    def explainer(self):
        """The model's Grad-CAM, built on first use; raises explain.NotExplainable for a model
        without convolutions, so that a caller can refuse before reading anything."""
        from handwriting.engine.explain import GradCam

        with self._gradcam_lock:
            if self._gradcam is None:
                self._gradcam = GradCam(self.model)
        return self._gradcam

    def explain(self, digits):
        """Grad-CAM heatmaps (N, 28, 28) for the digits of a Reading, each for the digit read."""
        return self.explainer()(np.array([d.crop for d in digits]), [d.digit for d in digits])

    def warm(self):
        self.classify(np.zeros((2, *model_io.INPUT_SHAPE[:2]), np.uint8))

    def read(self, data, min_confidence=0.0):
        """Decode, segment and classify; raises decoding.DecodeError for what is not a usable image."""
        decoded = decoding.decode(data, self.settings.max_pixels, reduce_to=self.settings.working_side)
        return self.read_decoded(decoded, min_confidence)

    def read_decoded(self, decoded, min_confidence=0.0):
        """Segment, cut and classify a decoded image: every candidate crop in one model call."""
        settings = self.settings
        found = segment(decoded.image, settings.working_side, settings.max_marks)
        lines = cutting.plan(keep_biggest(found.lines, settings.max_digits), found.digit_height)
        chosen = cutting.choose(lines, self.classify(cutting.candidates(lines)))
        to_original = decoded.scale / found.scale
        digits = [
            digit
            for number, line in enumerate(chosen)
            for piece, probabilities in line
            if (digit := _digit(piece, probabilities, number, to_original, decoded.width, decoded.height)).probability
            >= settings.reject_below
        ]
        return Reading(tuple(digits), decoded.width, decoded.height).filtered(min_confidence)


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
