"""Short marks that are not digits: the dash, equals sign, tick or comma a writer puts after an
amount ("7.795.-", "15366 ="), a decimal point or thousands separator written as a stroke
("42,316"), a stray tick on a line of its own, which the model reads as a small, unsure 1, 2 or 7.
A digit written smaller (the zeros of "15.000") is read surely and stays. A short mark alone on a
line of its own beside a number is a stray however surely it is read: a dot, a tick or a smudge's
stroke that the model names a sure 1. In a column of lone digits a short one is a digit written
small."""
import numpy as np

SHORT = 0.5  # a mark shorter than this share of its peers' median height ...
UNSURE = 0.5  # ... and less likely than this to be read right (calibrated), or alone beside a number, is no digit ...
PEERS = 2  # ... when at least this many peers measure it: the other digits on its line, else on the page


def strays(heights, sureness, lines):
    """Whether each digit of a reading (heights, probabilities and line numbers) is a stray mark
    rather than a digit."""
    heights, sureness, lines = np.asarray(heights, float), np.asarray(sureness, float), np.asarray(lines)
    stray = np.zeros(len(heights), bool)
    counts = dict(zip(*np.unique(lines, return_counts=True)))
    beside_a_number = max(counts.values(), default=0) >= PEERS  # a column of lone digits has none
    for index in range(len(heights)):
        others = np.arange(len(heights)) != index
        peers = heights[others & (lines == lines[index])]
        if len(peers) < PEERS:
            peers = heights[others]
        if len(peers) >= PEERS:
            alone = counts[lines[index]] == 1 and beside_a_number
            stray[index] = heights[index] < SHORT * np.median(peers) and (sureness[index] < UNSURE or alone)
    return stray
