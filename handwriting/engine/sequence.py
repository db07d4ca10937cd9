"""A second reader for whole lines: a small CRNN with CTC reads a strip of digits without cutting it.

Runs of touching digits, digits over a security background and separators joined to digits defeat
a reader that must cut ink into digits first. The line reader sees the strip whole, as cheque-amount
readers do, and says where along the strip each digit it read lies.
"""
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from handwriting.engine import calibration, model_io, runtime

HEIGHT, WIDTH = 32, 160  # the model's input; longer lines are squeezed to WIDTH
STEPS = WIDTH // 4  # CTC time steps: the model halves the width twice
BLANK = 0  # CTC's "no character here"; class k + 1 is digit k
MIN_INK_SPAN = 16.0  # grey levels: a strip whose ink is closer to its paper than this holds no ink


class LineText(NamedTuple):
    text: str
    spans: tuple  # (left, right) of each digit along the strip, in its own pixels
    probabilities: tuple  # each digit's probability at the step that emitted it, calibrated


def to_input(grey):
    """A grey strip, dark ink on lighter paper, as the model's (HEIGHT, WIDTH) input: ink light,
    paper at zero, scaled by the strip's own ink and paper levels; and the width it fills."""
    height, width = grey.shape
    filled = min(WIDTH, max(1, round(width * HEIGHT / height)))
    small = cv2.resize(grey, (filled, HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float32)
    ink = 255.0 - small
    paper, strong = np.percentile(ink, 50), np.percentile(ink, 99.5)
    out = np.zeros((HEIGHT, WIDTH), np.float32)
    out[:, :filled] = np.clip((ink - paper) / max(strong - paper, MIN_INK_SPAN), 0.0, 1.0)
    return out, filled


def decode(probabilities, filled, width, temperature=1.0):
    """Greedy CTC decoding of (STEPS, 11) probabilities; each digit's span mapped back onto a
    strip `width` pixels wide of which the input filled `filled` columns. The text and spans come
    from the model's own probabilities; each digit's probability is calibrated by `temperature`
    (calibration.scale), on which whole_lines.SURE was chosen."""
    best = probabilities.argmax(-1)
    reported = calibration.scale(probabilities, temperature)
    to_strip = (WIDTH / STEPS) * width / filled
    text, spans, chosen = [], [], []
    previous = BLANK
    for step, label in enumerate(best):
        if label != BLANK and label != previous:
            text.append(str(label - 1))
            spans.append((step * to_strip, (step + 1) * to_strip))
            chosen.append(float(reported[step, label]))
        elif label != BLANK and spans:
            spans[-1] = (spans[-1][0], (step + 1) * to_strip)
            chosen[-1] = max(chosen[-1], float(reported[step, label]))
        previous = label
    return LineText("".join(text), tuple(spans), tuple(chosen))


class LineReader:
    """The line model, loaded once, and its one batched call."""

    def __init__(self, path, threads=1):
        """`path`: the line model's `.keras` file, whose exported artifact answers probabilities."""
        self.path = Path(path)
        self.model = runtime.load_model(self.path, threads)
        self.temperature = calibration.Calibration.of(model_io.metadata(self.path)).temperature

    def read(self, strips):
        """LineText for each grey strip (dark ink on light paper), all in one call."""
        if not strips:
            return []
        inputs, filled = zip(*(to_input(strip) for strip in strips))
        probabilities = self.model.predict(np.stack(inputs)[..., None])
        return [decode(p, f, strip.shape[1], self.temperature) for p, f, strip in zip(probabilities, filled, strips)]
