"""What the engine answers: the digits it read, in reading order, with where they are."""
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

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
            "probability": round(self.probability, 4),
            "alternatives": [{"digit": d, "probability": round(p, 4)} for d, p in self.alternatives],
            "box": self.box.to_dict(),
            "line": self.line,
        }


@dataclass(frozen=True)
class Reading:
    digits: tuple
    width: int
    height: int
    limits: tuple = ()  # the settings whose bound left marks or cuts unread, e.g. ("max_crops",)

    @property
    def text(self):
        lines = {}
        for digit in self.digits:
            lines.setdefault(digit.line, []).append(str(digit.digit))
        return "\n".join("".join(lines[k]) for k in sorted(lines))

    def filtered(self, min_confidence):
        """The same reading without digits below min_confidence, lines renumbered."""
        kept = [d for d in self.digits if d.probability >= min_confidence]
        renumber = {line: i for i, line in enumerate(sorted({d.line for d in kept}))}
        digits = tuple(
            Digit(d.digit, d.probability, d.alternatives, d.box, renumber[d.line], d.crop) for d in kept
        )
        return Reading(digits, self.width, self.height, self.limits)

    def to_dict(self):
        return {
            "text": self.text,
            "count": len(self.digits),
            "predictions": [d.to_dict() for d in self.digits],
            "image": {"width": self.width, "height": self.height},
            "truncated": bool(self.limits),
            "limits": list(self.limits),
        }
