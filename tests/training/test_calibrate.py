"""The calibration fits on tiny reads: the line reader's digits weighed by the digit model's word."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from handwriting.engine import calibration
from handwriting.training import calibrate
from helpers import MODEL, ROOT


def _read(digit_model_agrees, right):
    """A read whose one digit the line reader read surely, and the digit model either read the same
    on its crop or found no digit there."""
    crop = np.zeros((28, 28), np.uint8)
    crop[4:24, 13:15] = 255
    answer = np.full(11, 0.01)
    answer[3 if digit_model_agrees else 10] = 0.9
    features = calibration.whole_features([0.99], [3], answer[None], [crop], calibration.Page(1, 1, 1))
    return SimpleNamespace(whole_raw=answer[None], digits=[3], digit_right=[right],
                           whole_features=lambda temperature: features)


def test_fit_whole_learns_that_a_digit_the_digit_model_refuses_is_wrong():
    reads = [_read(True, True)] * 40 + [_read(True, False)] * 4 + [_read(False, False)] * 40 + [_read(False, True)] * 4
    reads.append(SimpleNamespace(whole_raw=None, digits=[1], digit_right=[True]))  # not read whole: left out
    weights, digits = calibrate.fit_whole(reads, 1.0)
    assert digits == 88 and len(weights) == calibration.WHOLE_WEIGHTS
    agreed, refused = (calibration.context_probability(r.whole_features(1.0), weights)[0] for r in reads[:1] + reads[-2:-1])
    assert agreed > 0.85 and refused < 0.15


def _alone(marks, lines, right):
    """A read of a page of more lines than the line reader confirms, its one digit read surely."""
    features = calibration.alone_features([0.99], [0.01], [np.full((28, 28), 255, np.uint8)],
                                          calibration.Page(marks, lines, 1))
    return SimpleNamespace(digit_right=[right], alone_features=lambda temperature: features)


def test_fit_alone_learns_that_a_sure_digit_among_scattered_marks_is_wrong():
    reads = ([_alone(40, 5, True)] * 40 + [_alone(40, 5, False)] * 4 + [_alone(8, 7, False)] * 40
             + [_alone(8, 7, True)] * 4)
    reads.append(SimpleNamespace(digit_right=[True], alone_features=lambda temperature: None))  # asked: left out
    weights, digits = calibrate.fit_alone(reads, 1.0)
    assert digits == 88 and len(weights) == calibration.ALONE_WEIGHTS
    grid, scattered = (calibration.context_probability(r.alone_features(1.0), weights)[0] for r in (reads[0], reads[-2]))
    assert grid > 0.85 and scattered < 0.15


def test_the_fits_pages_are_written_with_held_out_digits_not_the_benchmarks(mnist, tmp_path):
    from handwriting.training import datasets, train

    root = datasets.default_root()
    digits = calibrate.fit_digits(root, mnist, MODEL)  # its card's seed: 42
    assert digits.names == ("mnist (held-out train)", "usps test", "optdigits test")
    _, (held, _) = train.split(mnist, 42, None)
    ours = digits.images[digits.population == 0]
    assert np.array_equal(ours, held)
    test_images = {image.tobytes() for image in mnist.x_test}
    assert not any(image.tobytes() in test_images for image in ours)
    ardis = {image.tobytes() for image in datasets.ardis(root).x_test} | {image.tobytes() for image in datasets.ardis(root).x_train}
    assert not any(image.tobytes() in ardis for image in digits.images)
    assert np.count_nonzero(digits.population == 1) == len(datasets.usps(root).y_test)
    with pytest.raises(ValueError, match="no training seed"):
        calibrate.fit_digits(root, mnist, tmp_path / "uncarded.keras")


def test_every_shipped_cards_calibration_was_fitted_on_no_benchmark_digit():
    """ARDIS IV's licence lets no shipped model learn from it; MNIST test only scores models."""
    cards = sorted((ROOT / "models").glob("digit_*.json"))
    assert len(cards) >= 3
    for path in cards:
        fitted = json.loads(path.read_text())["calibration"]
        assert fitted["pages_written_with"] == ["mnist (held-out train)", "usps test", "optdigits test"], path.name
        assert not any("ardis" in name for name in [*fitted["fitted_on"], *fitted["readings_fitted_on"]]), path.name
