"""Each digit set's loader: shapes, label counts, polarity and the ORAND split."""
import numpy as np
import pytest

from handwriting.training import datasets

ROOT = datasets.default_root()


def _light_on_dark(images):
    """MNIST's convention: the border of the field is background (dark), the 20 px box holds ink."""
    border = np.concatenate([images[:, :2].ravel(), images[:, -2:].ravel()])
    return border.mean() < 10 and images[:, 4:24, 4:24].mean() > 25


@pytest.mark.parametrize("name, train, test", [
    ("usps", 7291, 2007), ("semeion", 1593, 0), ("optdigits", 3823, 1797),
    ("swiss", 15149, 0), ("ardis", 6600, 1000),
])
def test_each_set_has_its_published_size_in_the_model_convention(name, train, test):
    split = datasets.LOADERS[name](ROOT)
    assert split.x_train.shape == (train, 28, 28) and split.x_test.shape == (test, 28, 28)
    assert split.x_train.dtype == np.uint8
    assert len(split.y_train) == train and len(split.y_test) == test
    assert set(np.unique(split.y_train)) == set(range(10))
    assert _light_on_dark(split.x_train[:200])


def test_swiss_drops_its_suspect_labels_and_is_inverted():
    with np.load(ROOT / datasets.FILES["swiss"]) as raw:
        suspect = int(raw["label_suspect"].sum())
        assert raw["x"][:50, :2].mean() > 200  # stored dark on white
    split = datasets.swiss(ROOT)
    assert len(split.x_train) == 15200 - suspect
    assert _light_on_dark(split.x_train[:200])


def test_served_digits_have_longest_side_twenty_and_centred_mass():
    digits = datasets.usps(ROOT).x_test[:100]
    for digit in digits:
        ys, xs = np.nonzero(digit)
        assert 18 <= max(np.ptp(ys), np.ptp(xs)) + 1 <= 22
        weights = digit.astype(float)
        cy = (weights.sum(1) @ np.arange(28)) / weights.sum()
        cx = (weights.sum(0) @ np.arange(28)) / weights.sum()
        assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5


def test_orand_split_is_fixed_by_image_id_not_by_order():
    train, validation = datasets.orand_strings(ROOT)
    assert len(train) + len(validation) == 1048
    assert 0.15 < len(validation) / 1048 < 0.25
    ids = [s.image_id for s in train + validation]
    assert datasets.orand_validation_ids(ids[::-1]) == {s.image_id for s in validation}
    assert datasets.orand_validation_ids(ids[:100]) == {i for i in ids[:100] if i in {s.image_id for s in validation}}


def test_orand_digits_are_cut_by_their_boxes_one_per_label_digit():
    train, validation = datasets.orand_strings(ROOT)
    x, y = datasets.orand_digits(validation)
    assert len(x) == sum(len(s.label) for s in validation) == len(y)
    assert _light_on_dark(x[:200])
    assert "".join(map(str, y[: len(validation[0].label)])) == validation[0].label


def test_validation_sets_never_train():
    assert "ardis" not in datasets.TRAINABLE
    assert set(datasets.TRAINABLE) <= set(datasets.LOADERS) | {"mnist"}  # MNIST's loader is training/data.py
