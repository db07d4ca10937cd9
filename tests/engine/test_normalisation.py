"""to_mnist: a digit's ink mask of any size becomes what the model was trained on, MNIST's layout:
white on black, the longest side 20 px, the centre of mass at the centre, strokes MNIST-wide."""
import cv2
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from handwriting.engine.normalisation import to_mnist


def centre_of_mass(image):
    ys, xs = np.indices(image.shape)
    total = image.astype(np.float64).sum()
    return (ys * image).sum() / total, (xs * image).sum() / total


def ink_size(image):
    """(height, width) of everything the digit touches in the 28x28 field."""
    ys, xs = np.nonzero(image)
    return np.ptp(ys) + 1, np.ptp(xs) + 1


def runs(line):
    """Lengths of the binarised ink runs along one row or column: where it crosses a ring, its stroke width."""
    on = np.concatenate([[0], (line > 127).astype(int), [0]])
    steps = np.diff(on)
    return np.flatnonzero(steps == -1) - np.flatnonzero(steps == 1)


def ellipse(height, width, thickness, canvas=(400, 400), centre=(200, 200)):
    mask = np.zeros(canvas, np.uint8)
    cv2.ellipse(mask, centre, (width // 2, height // 2), 0, 0, 360, 255, thickness)
    return mask


def upscaled(image, size):
    """An MNIST digit as the segmenter would hand it over: a bigger binary mask."""
    return (cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR) > 127).astype(np.uint8) * 255


def test_output_is_28_by_28_uint8_white_ink_on_black():
    digit = to_mnist(ellipse(160, 100, 10))
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255
    assert digit[0].max() == digit[-1].max() == digit[:, 0].max() == digit[:, -1].max() == 0


def test_an_empty_mask_gives_an_empty_field():
    digit = to_mnist(np.zeros((50, 30), np.uint8))
    assert digit.shape == (28, 28) and digit.dtype == np.uint8 and not digit.any()


@pytest.mark.parametrize("name, mask", [
    ("tall", ellipse(300, 100, 12)),
    ("wide", ellipse(90, 330, 12)),
    ("off-centre in a large mask", ellipse(120, 80, 8, canvas=(900, 700), centre=(120, 700))),
    ("small", ellipse(24, 16, 2, canvas=(30, 30), centre=(12, 14))),
])
def test_longest_side_is_20_and_mass_is_centred(name, mask):
    digit = to_mnist(mask)
    height, width = ink_size(digit)
    assert 19 <= max(height, width) <= 21, (height, width)
    assert centre_of_mass(digit) == pytest.approx((14, 14), abs=1)


def test_tall_and_wide_inputs_keep_their_proportions():
    """Only the longest side is brought to 20: a 3:1 ellipse must not be stretched into a circle."""
    tall, wide = ink_size(to_mnist(ellipse(300, 100, 12))), ink_size(to_mnist(ellipse(100, 300, 12)))
    assert 19 <= tall[0] <= 21 and tall[1] <= 11
    assert 19 <= wide[1] <= 21 and wide[0] <= 11


@pytest.mark.parametrize("thickness", [1, 12, 30])
@pytest.mark.parametrize("slant", [0, 15])
def test_a_one_stays_thin(thickness, slant):
    """A bare vertical stroke is not scaled to 20 px wide: it stays a narrow 1 in the middle."""
    mask = np.zeros((300, 120), np.uint8)
    cv2.line(mask, (60 + slant, 20), (60 - slant, 280), 255, thickness)
    digit = to_mnist(mask)
    height, width = ink_size(digit)
    assert 19 <= height <= 21 and width <= 8, (height, width)
    assert centre_of_mass(digit) == pytest.approx((14, 14), abs=1)


@pytest.mark.parametrize("radius, thickness", [(120, 1), (12, 1), (110, 80), (60, 40)],
                         ids=["1px-ring", "small-1px-ring", "very-thick-ring", "thick-ring"])
def test_stroke_width_is_brought_towards_mnists(radius, thickness):
    """Scaled as drawn, a 1-px ring would vanish at 28x28 and an 80-px one would be a blot: both
    must end with strokes 2-4 px wide once binarised, as MNIST's are."""
    mask = np.zeros((2 * radius + thickness + 10,) * 2, np.uint8)
    centre = mask.shape[0] // 2
    cv2.circle(mask, (centre, centre), radius, 255, thickness)
    digit = to_mnist(mask)
    crossings = np.concatenate([runs(digit[14]), runs(digit[:, 14])])
    assert len(crossings) == 4, crossings  # the ring is still a ring: crossed twice each way
    assert 1.5 <= crossings.mean() <= 4 and crossings.min() >= 1


def test_mnist_digits_come_back_close_to_themselves(mnist):
    """An MNIST digit upscaled, binarised and normalised again overlaps its original: the
    normalisation is MNIST's own, not merely similar."""
    overlaps = []
    for image in mnist.x_test[:100]:
        for size in (56, 280):
            digit = to_mnist(upscaled(image, size))
            ours, theirs = digit > 127, image > 127
            overlaps.append((ours & theirs).sum() / (ours | theirs).sum())
    assert np.median(overlaps) >= 0.7 and np.percentile(overlaps, 10) >= 0.5


def test_faint_ink_gives_the_same_digit_as_strong_ink():
    """Only the ink's strength relative to its own strongest part counts: a pencil a fifth as
    dark as a marker becomes the same white-on-black digit."""
    strong = ellipse(160, 100, 10)
    assert np.array_equal(to_mnist(strong // 5), to_mnist(strong))


def test_weaker_ink_stays_weaker_than_the_core():
    """A faint part of a stroke (a soft edge, a pencil tail) keeps its grey relative to the
    strong ink, as MNIST's edges do, instead of being thresholded to white."""
    mask = ellipse(160, 100, 10)
    mask[:, 200:] //= 4
    digit = to_mnist(mask)
    columns = np.flatnonzero(digit.any(axis=0))
    middle = (columns[0] + columns[-1]) // 2
    assert digit[:, : middle - 1].max() == 255
    assert 0 < digit[:, middle + 2:].max() < 128


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    size=st.tuples(st.integers(20, 400), st.integers(20, 400)),
    points=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=6),
    thickness=st.floats(0.01, 0.2),
)
@example(size=(21, 21), points=[(0.0, 0.5), (1.0, 0.0), (0.0, 0.0), (0.0, 1.0)], thickness=0.125)
def test_any_stroke_is_centred_with_its_longest_side_20(size, points, thickness):
    """Any pen path of any size and weight: longest side 20 +- 1, mass centred within 1 px, or,
    where its mass lies so far to one side that centring it would push ink out of the field (a
    bar along the top, a stroke down the left and a diagonal between: mass 4.7 px from the top of
    its 20), as near the middle as the field allows: its ink touches the opposite edge."""
    height, width = size
    mask = np.zeros((height, width), np.uint8)
    path = np.array([[x * (width - 1), y * (height - 1)] for x, y in points], np.int32)
    cv2.polylines(mask, [path.reshape(-1, 1, 2)], False, 255, max(1, round(thickness * min(size))))
    digit = to_mnist(mask)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert 19 <= max(ink_size(digit)) <= 21
    rows, columns = np.nonzero(digit)
    for mass, ink in zip(centre_of_mass(digit), (rows, columns)):
        pushed_to_an_edge = (mass < 13 and ink.max() >= 26) or (mass > 15 and ink.min() <= 1)
        assert abs(mass - 14) <= 1 or pushed_to_an_edge, (mass, ink.min(), ink.max())
