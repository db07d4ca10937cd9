"""Marks at the ends of a line that are not digits: the dash, equals sign, tick or comma a writer
puts after an amount ("7.795.-", "15366 ="), which the model reads as a small, unsure 1, 2 or 7.
A digit written smaller at the end of a number (the zeros of "15.000") is read surely and stays."""
import numpy as np

END_SHORT = 0.5  # a first or last mark shorter than this share of the line's other digits' median height ...
END_UNSURE = 0.5  # ... and less likely than this to be a digit read right (calibrated) is not one ...
END_PEERS = 2  # ... when at least this many other digits stand on its line to measure it by


def stray_ends(heights, sureness):
    """Whether each of a line's digits (heights and probabilities in reading order) is a stray mark
    at one of its ends rather than a digit."""
    heights, sureness = np.asarray(heights, float), np.asarray(sureness, float)
    stray = np.zeros(len(heights), bool)
    if len(heights) < END_PEERS + 1:
        return stray
    for end in (0, len(heights) - 1):
        others = np.delete(heights, end)
        stray[end] = heights[end] < END_SHORT * np.median(others) and sureness[end] < END_UNSURE
    return stray
