"""Find the handwritten digits in an image with OpenCV.

The steps run one way: grey working image -> ink contrast (polarity and lighting removed, ink.py)
-> binary ink mask without ruled lines (ink.py, ruled_lines.py) -> connected components, the first
max_marks in reading order (reading_order.py), fragments merged (blobs.py) -> marks that are not
digits rejected (filters.py) -> lines and reading order (reading_order.py) -> decimal points, commas
and minus signs among the marks beside the digits (separators.py). Every size is relative to the
image or to the typical digit height.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from handwriting import config
from handwriting.engine.blobs import components, merge_fragments, typical_height
from handwriting.engine.filters import on_the_page, opens_a_line, plausible
from handwriting.engine.ink import binarise, dark_ink, ink_contrast, is_flat
from handwriting.engine.normalisation import stroke_width
from handwriting.engine.reading import Box, Separator
from handwriting.engine.reading_order import first_in_reading_order, group_lines
from handwriting.engine.separators import find

GLANCE_SIDE = 400  # longest side of the first look at an image
GLANCE_HEIGHT = 48  # digits this tall at the first look are read there (the model sees 20 px)
GLANCE_PEN = 3.0  # ... when their strokes are at least this wide there, so thin pens keep their ink
BLOCK_FIRST = 64  # a side over this many times its working size is first averaged in whole blocks:
# OpenCV's area resize of any other ratio keeps tables of about 12 bytes per pixel of the side


@dataclass(frozen=True)
class Segmentation:
    lines: list  # list of lists of Blob, top to bottom, each left to right
    scale: float  # working pixels per input pixel
    digit_height: float  # typical digit height in working pixels
    dark: np.ndarray  # the grey it was read at, ink darker than its ground, for the line reader
    marks_at_limit: bool = False  # the image had more than max_marks marks: the later ones were left out
    separators: tuple = ()  # separators.Separator, in working pixels

    def separators_in(self, to_original, width, height):
        """The separators as reading.Separator, boxed in the pixels of the original image
        (`to_original` of them per working pixel, `width` x `height`)."""
        return tuple(Separator(s.kind, Box.scaled(s.x, s.y, s.w, s.h, to_original, width, height))
                     for s in self.separators)


def working_grey(rgb, working_side):
    """Grey image no larger than working_side on its longest side, and its scale. A long strip is
    first averaged over whole blocks, which costs OpenCV no tables (the last partial block of a
    side is dropped: under one working pixel)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, working_side / max(grey.shape))
    if scale < 1.0:
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        block_x, block_y = (max(1, side // (BLOCK_FIRST * target)) for side, target in zip(grey.shape[::-1], size))
        if block_x > 1 or block_y > 1:
            height, width = grey.shape[0] // block_y * block_y, grey.shape[1] // block_x * block_x
            grey = cv2.resize(grey[:height, :width], (width // block_x, height // block_y), interpolation=cv2.INTER_AREA)
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey, scale


def segment(rgb, working_side=None, max_marks=None):
    """All digit candidates of an RGB image, grouped into lines in reading order; `working_side`
    and `max_marks` default to the settings'. OpenCV's work grows with the pixels while the model
    sees 20 px per digit, so a first look at GLANCE_SIDE px is kept when it shows a drawing or
    clean scan whose digits already stand GLANCE_HEIGHT px tall with strokes GLANCE_PEN px wide.
    Smaller or finer writing is looked at again at working_side, and so is every photograph: at
    a glance, the edge and shadow of a sheet look like big digits."""
    if working_side is None or max_marks is None:
        settings = config.settings()
        working_side = settings.working_side if working_side is None else working_side
        max_marks = settings.max_marks if max_marks is None else max_marks
    grey, scale = working_grey(rgb, working_side)
    step = -(-max(grey.shape) // GLANCE_SIDE)
    if step > 1 and min(grey.shape) >= step:
        # A whole step: OpenCV averages k x k blocks several times faster than any other ratio.
        small = cv2.resize(grey, None, fx=1 / step, fy=1 / step, interpolation=cv2.INTER_AREA)
        if is_flat(small):  # a photograph is read at working_side whatever the glance shows
            glance = _segment_grey(small, scale / step, True, max_marks)
            if glance.digit_height >= GLANCE_HEIGHT:
                pens = [stroke_width(blob.mask) for line in glance.lines for blob in line]
                if np.median(pens) >= GLANCE_PEN:
                    return glance
    return _segment_grey(grey, scale, is_flat(grey), max_marks)


def _segment_grey(grey, scale, flat, max_marks):
    dark = dark_ink(grey, flat)
    contrast = ink_contrast(dark, flat)
    # A page of noise is thousands of marks: the first in reading order are kept, so the time stays bounded.
    marks, cut = first_in_reading_order(components(binarise(contrast, flat), flat, contrast), max_marks)
    blobs = on_the_page(marks, grey, dark, flat)
    blobs = merge_fragments(blobs, typical_height(blobs))
    height = typical_height(blobs)
    kept, rejected = [], []
    for blob in blobs:
        (kept if plausible(blob, height, grey.shape) else rejected).append(blob)
    opening = {id(blob) for blob in rejected if opens_a_line(blob, kept, height)}
    kept += [blob for blob in rejected if id(blob) in opening]
    rejected = [blob for blob in rejected if id(blob) not in opening]
    lines = group_lines(kept, height)
    return Segmentation(lines, scale, height, dark, cut, find(lines, rejected))
