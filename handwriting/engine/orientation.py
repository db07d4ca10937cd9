"""Pages photographed sideways or upside down with no EXIF tag to say so.

The engine reads a page as it comes; when that reading is unsure, the page may be turned. Reading
it again at every quarter turn costs three more reads, so the page is asked first which turns are
worth one. Its layout says whether it lies sideways: digits written in a row stand beside each
other, so on a page turned a quarter their nearest neighbours lie above and below them (`sideways`);
then both quarter turns are read. Upside down, a row is still a row: the half turn
is read when the crops of the digits read, turned over, look more like digits than upright (`votes`).
A page of one or two marks has no row to tell: the marks are shown to the model at every turn, and
the turn they vote for is read. The surest reading wins, the upright one unless another is clearly
surer. A 6 turned over is a 9: a page of 0, 1, 6, 8 and 9 alone reads as digits either way up, and
then the upright reading stands.
"""
import numpy as np

from handwriting.engine.model_io import digit_probabilities
from handwriting.engine.normalisation import to_mnist
from handwriting.engine.decoding import Decoded

TURNS = (90, 180, 270)  # degrees clockwise a page is tried at, besides as it came
MAX_BLOBS = 24  # the first blobs in reading order that vote on the turn: enough for any line
# The margins below were chosen together with settings.turn_below on the stress benchmark at seed 1,
# the least that left every upright page read right as it was: looser ones find more pages turned
# over, and turn upright pages of 0, 1, 6, 8 and 9 over too.
MARGIN = 0.2  # mean log-probability per crop by which the half turn must beat upright to be read
FEW_MARKS = 3  # a page with fewer marks than this has no row to tell its turn by: the marks vote
NEIGHBOUR_REACH = 3.0  # a mark's nearest neighbour within this many digit heights shows the row's way
SIDEWAYS_SHARE = 0.5  # a page is sideways when more than this share of its marks' nearest neighbours ...
SIDEWAYS_LINKS = 2  # ... lie above or below them, at least this many
LEAD = 0.3  # confidence by which a turned reading must beat the upright one ...
SURE = 0.3  # ... and the least confidence it must have
COLUMN_LINES, COLUMN_DIGITS = 2, 1.5  # a reading of this many lines or more, of fewer digits a line
LEAST_PROBABILITY = 1e-4  # floor of a blob's digit probability before its log: one odd blob is no veto


def turn(image, degrees):
    """`image` (H, W, ...) turned `degrees` clockwise, a multiple of 90."""
    return np.ascontiguousarray(np.rot90(image, -(degrees // 90) % 4))


def turned(decoded, degrees):
    """A decoding.Decoded of the page turned `degrees` clockwise: a reading of it gives its boxes
    in the pixels of the turned page, which is what the answer's image size and `orientation` say."""
    width, height = (decoded.width, decoded.height) if degrees % 180 == 0 else (decoded.height, decoded.width)
    return Decoded(turn(decoded.image, degrees), width, height)


def blob_crops(blobs):
    """The 28x28 crops of each blob's ink at 0, 90, 180 and 270 degrees, turn by turn: (4 * N, 28, 28)."""
    masks = [blob.mask for blob in blobs[:MAX_BLOBS]]
    return np.array([to_mnist(turn(mask, degrees)) for degrees in (0, *TURNS) for mask in masks],
                    np.uint8).reshape(-1, 28, 28)


def votes(probabilities):
    """votes_of the answers to blob_crops: per turn (0, 90, 180, 270), how much the marks look like
    digits at that turn."""
    return votes_of(probabilities, 1 + len(TURNS))


def sideways(blobs, height, reach=NEIGHBOUR_REACH, share=SIDEWAYS_SHARE, links=SIDEWAYS_LINKS):
    """Whether marks run down the page rather than across it: more than `share` of their nearest
    neighbours within `reach` typical heights (`height`, in the blobs' pixels) lie above or below
    them rather than beside them, and at least `links` do."""
    if len(blobs) < 2:
        return False
    centres = np.array([(b.cx, b.cy) for b in blobs], np.float64)
    offsets = centres[None, :, :] - centres[:, None, :]
    distance = np.hypot(offsets[..., 0], offsets[..., 1])
    np.fill_diagonal(distance, np.inf)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(blobs)), nearest] <= reach * height
    step = offsets[np.arange(len(blobs)), nearest][close]
    upright = np.abs(step[:, 1]) > np.abs(step[:, 0])
    return len(step) >= links and upright.mean() > share


def column(lines):
    """Whether a reading of `lines` (the count of digits on each) reads like a row turned on end:
    at least COLUMN_LINES lines of fewer than COLUMN_DIGITS digits each on average."""
    return len(lines) >= COLUMN_LINES and sum(lines) < COLUMN_DIGITS * len(lines)


def candidates(blobs, height, lines, votes_of_marks, votes_of_half_turn):
    """The turns worth reading a page at, given its marks found upright (blobs, `height` their
    typical height) and the count of digits read on each line: for a page of few marks, the turn
    they vote for (`votes_of_marks()`, as `votes`); both quarter turns for a page whose marks or
    reading lie sideways; else the half turn, when the digits read vote for it
    (`votes_of_half_turn()`: upright and half-turned mean log-probabilities)."""
    if len(blobs) < FEW_MARKS:
        return worth_reading(votes_of_marks())[:1]
    if sideways(blobs, height) or column(lines):
        return [90, 270]
    upright, half = votes_of_half_turn()
    return [180] if half > upright + MARGIN else []


def half_turned(crops):
    """Crops (N, 28, 28) and the same crops turned upside down, (2 * N, 28, 28): a crop's centre of
    mass and size stay where they were, so this is what a page read upside down would crop."""
    return np.concatenate([crops, np.rot90(crops, 2, axes=(1, 2))])


def votes_of(probabilities, turns):
    """Per turn, the mean log-probability of each crop's likeliest digit, for answers (turns * N,
    11) grouped turn by turn: how much the crops look like digits at that turn."""
    probabilities = np.asarray(probabilities)
    probabilities = probabilities.reshape(turns, -1, probabilities.shape[-1])
    if probabilities.shape[1] == 0:
        return np.zeros(turns)
    likeliest = digit_probabilities(probabilities).max(axis=-1)
    return np.log(np.maximum(likeliest, LEAST_PROBABILITY)).mean(axis=-1)


def worth_reading(scores, margin=MARGIN):
    """The turns whose marks look more like digits than upright by more than `margin` (in mean
    log-probability per blob), most promising first."""
    upright = scores[0]
    better = [(score, degrees) for score, degrees in zip(scores[1:], TURNS) if score > upright + margin]
    return [degrees for _, degrees in sorted(better, reverse=True)]


def surer(turned, upright, sure=SURE, lead=LEAD):
    """Whether a turned reading's confidence reaches `sure` and beats the upright one's by `lead`:
    a page is far more often photographed upright, and an unsure upright reading must not give
    way to a turned one that is merely less unsure."""
    return turned >= max(upright + lead, sure)
