"""Short marks in a line that are not digits: the dash, equals sign, tick or comma a writer puts
after an amount ("7.795.-", "15366 ="), and a decimal point or thousands separator written as a
stroke ("42,316"), which the model reads as a small, unsure 1, 2 or 7. A digit written smaller
(the zeros of "15.000") is read surely and stays."""
import numpy as np

SHORT = 0.5  # a mark shorter than this share of the line's other digits' median height ...
UNSURE = 0.5  # ... and less likely than this to be a digit read right (calibrated) is not one ...
PEERS = 2  # ... when at least this many other digits stand on its line to measure it by


def strays(heights, sureness):
    """Whether each of a line's digits (heights and probabilities in reading order) is a stray mark
    rather than a digit."""
    heights, sureness = np.asarray(heights, float), np.asarray(sureness, float)
    stray = np.zeros(len(heights), bool)
    if len(heights) < PEERS + 1:
        return stray
    for index in range(len(heights)):
        others = np.delete(heights, index)
        stray[index] = heights[index] < SHORT * np.median(others) and sureness[index] < UNSURE
    return stray
