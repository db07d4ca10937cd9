"""What the engine answers: the digits it read, in reading order, with where they are, grouped into
the numbers they write (numbers.py), and the JSON the API and the command line give of it."""
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from handwriting import config
from handwriting.engine import numbers as grouping

PRECISION = 4  # decimals of a probability in the JSON; min_confidence compares what a client sees
NO_DIGITS = "No digits found. Try darker, larger digits on a plain background."
_CUT_SHORT = {  # a message per limit a read ran into, by the setting's name (Reading.limits)
    "max_marks": "the image has more marks than max_marks; only the first in reading order were read",
    "max_digits": "the image has more digit candidates than max_digits; only the first in reading order were read",
    "max_crops": "touching digits needed more crops than max_crops; some marks were read whole or not at all",
}


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @classmethod
    def scaled(cls, x, y, w, h, factor, width, height):
        """The box (x, y, w, h) of a reduced image, `factor` times larger, within width x height and
        at least one pixel each way."""
        left, top = min(round(x * factor), width - 1), min(round(y * factor), height - 1)
        right = min(max(round((x + w) * factor), left + 1), width)
        bottom = min(max(round((y + h) * factor), top + 1), height)
        return cls(int(left), int(top), int(right - left), int(bottom - top))

    @property
    def centre(self):
        return self.x + self.width / 2, self.y + self.height / 2

    def overlap(self, other):
        """Pixels the two boxes share: 0 for boxes that only touch or lie apart."""
        wide = min(self.x + self.width, other.x + other.width) - max(self.x, other.x)
        tall = min(self.y + self.height, other.y + other.height) - max(self.y, other.y)
        return max(0, wide) * max(0, tall)

    def to_dict(self):
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Digit:
    digit: int
    probability: float
    alternatives: tuple  # ((digit, probability), ...) the next most likely, best first
    box: Box  # in pixels of the upright original image
    line: int  # 0-based line index, top to bottom
    crop: np.ndarray = field(repr=False, compare=False)  # the 28x28 uint8 model input

    def to_dict(self):
        return {
            "digit": self.digit,
            "probability": round(self.probability, PRECISION),
            "alternatives": [{"digit": d, "probability": round(p, PRECISION)} for d, p in self.alternatives],
            "box": self.box.to_dict(),
            "line": self.line,
        }


@dataclass(frozen=True)
class Separator:
    kind: str  # "." or "," (decimal or thousands), or "-" (a minus sign)
    box: Box  # in pixels of the upright original image


@dataclass(frozen=True)
class Reading:
    """`found` holds every digit read, in reading order; those below `min_confidence` are hidden:
    `digits` leaves them out, and the numbers' text shows "?" in their place."""

    found: tuple
    width: int
    height: int
    limits: tuple = ()  # the settings whose bound left marks or cuts unread, e.g. ("max_crops",)
    separators: tuple = ()  # Separator, in any order
    doubtful_below: float = field(default_factory=lambda: config.settings().doubtful_below)
    min_confidence: float = 0.0
    orientation: int = 0  # degrees clockwise the image was turned before it was read
    # How the digits' probabilities make the chance the whole reading is right, as the reader's
    # calibration fitted it on whole readings (calibration.reading_confidence): their product,
    # raised to `power` and capped at `ceiling`.
    power: float = 1.0
    ceiling: float = 1.0

    def _shown(self, digit):
        return round(digit.probability, PRECISION) >= self.min_confidence

    @property
    def digits(self):
        """The digits shown: found, and not below min_confidence."""
        return tuple(d for d in self.found if self._shown(d))

    @property
    def hidden(self):
        """How many digits were found but are below min_confidence."""
        return sum(not self._shown(d) for d in self.found)

    @cached_property
    def numbers(self):
        """numbers.Number of the digits found and the separators, in reading order."""
        hidden = [i for i, d in enumerate(self.found) if not self._shown(d)]
        return grouping.group(self.found, self.separators, hidden)

    @property
    def text(self):
        """The numbers as written, those of one line apart by a space, lines by "\\n"."""
        return _lines(((n.line, n.text) for n in self.numbers), " ")

    @property
    def digits_text(self):
        """The digits shown and nothing else, lines by "\\n"."""
        return _lines(((d.line, str(d.digit)) for d in self.digits), "")

    @property
    def confidence(self):
        """The chance that the whole reading is right: the product of every found digit's
        probability, raised to `power` and capped at `ceiling`; 0 with no digit, which is nothing
        to trust."""
        if not self.found:
            return 0.0
        return float(self.ceiling * np.prod([d.probability for d in self.found]) ** self.power)

    @property
    def message(self):
        """What a person should know about the reading, or None: nothing found, digits hidden, limits hit."""
        parts = []
        hidden, found = self.hidden, len(self.found)
        if not found:
            parts.append(NO_DIGITS)
        elif hidden == found == 1:
            parts.append(f"1 digit was found but it is below min_confidence {self.min_confidence:g}")
        elif hidden == found:
            parts.append(f"{found} digits were found but all are below min_confidence {self.min_confidence:g}")
        elif hidden:
            parts.append(f"{hidden} of the {found} digits found {'is' if hidden == 1 else 'are'} below "
                         f"min_confidence {self.min_confidence:g}; \"?\" stands for {'it' if hidden == 1 else 'each'} in text")
        parts += [_CUT_SHORT.get(limit, f"the {limit} limit left part of the image unread") for limit in self.limits]
        return "; ".join(parts) or None

    def filtered(self, min_confidence):
        """The same reading with the digits below min_confidence hidden, and its lines numbered 0, 1, ..."""
        renumber = {line: i for i, line in enumerate(sorted({d.line for d in self.found}))}
        found = tuple(replace(d, line=renumber[d.line]) for d in self.found)
        return replace(self, found=found, min_confidence=min_confidence)

    def to_dict(self):
        numbers = self.numbers
        number_of = {i: k for k, n in enumerate(numbers) for i in n.digits}
        predictions = [
            {**d.to_dict(), "number": number_of[i], "doubtful": d.probability < self.doubtful_below}
            for i, d in enumerate(self.found) if self._shown(d)
        ]
        body = {
            "text": self.text,
            "digits_text": self.digits_text,
            "count": len(predictions),
            "hidden": self.hidden,
            "confidence": round(self.confidence, PRECISION),
            "numbers": [
                {"text": n.text, "value": n.value, "box": n.box.to_dict(), "line": n.line,
                 "confidence": round(n.confidence, PRECISION), "doubtful": n.confidence < self.doubtful_below}
                for n in numbers
            ],
            "predictions": predictions,
            "orientation": self.orientation,
            "image": {"width": self.width, "height": self.height},
            "truncated": bool(self.limits),
            "limits": list(self.limits),
        }
        message = self.message
        if message:
            body["message"] = message
        return body


def _lines(pairs, joiner):
    """Texts of (line, text) pairs in reading order, joined within a line, lines by "\\n"."""
    lines = {}
    for line, text in pairs:
        lines.setdefault(line, []).append(text)
    return "\n".join(joiner.join(lines[k]) for k in sorted(lines))
