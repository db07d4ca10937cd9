"""Training crops cut by the engine from composed pages: the plan of pages, the labelling rule and
the training digits they are written with. A training run reads real pages with the shipped model
(test_train.py's mixed run, --served-pages)."""
import numpy as np
import pytest

from handwriting.engine.reading import Box, Digit, Reading
from handwriting.pages import stress
from handwriting.training import datasets, mix, served_pages


def _digit(value, line, x):
    return Digit(value, 0.9, (), Box(x, 10 * line, 8, 8), line, np.full((28, 28), value, np.uint8))


def _reading(*lines):
    found = tuple(_digit(int(c), number, x) for number, text in enumerate(lines) for x, c in enumerate(text))
    return Reading(found, 100, 100)


def test_the_plan_takes_each_upright_condition_in_turn_far_from_the_benchmark_seeds():
    upright = [c for c in stress.CONDITIONS if c not in stress.TURNED]
    plan = served_pages.page_plan(2 * len(upright) + 1, seed=3)
    assert [c for c, _, _ in plan[: len(upright)]] == upright
    assert plan[len(upright)] == (upright[0], served_pages.PAGE_SEED + 3, 1)
    assert all(seed == served_pages.PAGE_SEED + 3 and seed > 2 for _, seed, _ in plan)
    assert len(set(plan)) == len(plan)


def test_a_reading_with_the_pages_digits_and_lines_labels_each_crop_in_order():
    crops, labels = served_pages.labelled_crops(_reading("12", "3"), "12\n3")
    assert labels.tolist() == [1, 2, 3]
    assert [int(c[0, 0]) for c in crops] == [1, 2, 3]


@pytest.mark.parametrize("lines, expected", [
    (("12",), "123"),  # a digit lost: which crop is which is not known
    (("1234",), "123"),  # a digit split in two
    (("123",), "12\n3"),  # as many digits, but lines merged
])
def test_a_reading_that_differs_from_the_page_gives_no_crops(lines, expected):
    crops, labels = served_pages.labelled_crops(_reading(*lines), expected)
    assert crops.shape == (0, 28, 28) and labels.shape == (0,)


def test_training_digits_hold_one_population_per_set_as_the_mix_loaded_them(mnist):
    train = (mnist.x_train[:500], mnist.y_train[:500])
    splits = mix.training_mix(train, datasets.default_root(), ["mnist", "usps"], seed=0).splits
    digits = served_pages.training_digits(splits)
    assert digits.names == ("mnist", "usps")
    assert np.bincount(digits.population).tolist() == [500, 7291]
    assert np.array_equal(digits.images[:500], mnist.x_train[:500])
    assert np.array_equal(digits.labels[500:], datasets.usps(datasets.default_root()).y_train)
    assert digits.images.dtype == np.uint8 and digits.labels.max() == 9
