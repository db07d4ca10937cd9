"""Training crops cut by the engine from composed pages and real cheque amounts: the plan of pages, the
labelling rule and the training digits they are written with. A training run reads real pages with the
shipped model (test_train.py's mixed run, --served-pages, --served-orand)."""
import numpy as np

from handwriting import config
from handwriting.engine import model_io
from handwriting.engine.reading import Box, Digit, Reading
from handwriting.pages import marks, stress
from handwriting.training import datasets, mix, served_pages


def _found(*boxes):
    """A reading of crops at (x, y, w, h), each crop filled with its place in reading order."""
    found = tuple(Digit(0, 0.9, (), Box(*box), 0, np.full((28, 28), i, np.uint8)) for i, box in enumerate(boxes))
    return Reading(found, 400, 200)


PAGE = "12\n3"
BOXES = [[[10, 10, 20, 30], [40, 10, 20, 30]], [[10, 60, 20, 30]]]  # each digit's box, per line


def test_the_plan_takes_each_upright_condition_in_turn_far_from_the_benchmark_seeds():
    upright = [c for c in stress.CONDITIONS if c not in stress.TURNED]
    plan = served_pages.page_plan(2 * len(upright) + 1, seed=3)
    assert [c for _, c, _, _ in plan[: len(upright)]] == upright
    assert plan[len(upright)] == ("stress", upright[0], served_pages.PAGE_SEED + 3, 1)
    assert all(kind == "stress" and seed == served_pages.PAGE_SEED + 3 and seed > 2 for kind, _, seed, _ in plan)
    assert len(set(plan)) == len(plan)


def test_a_plan_of_chosen_conditions_takes_only_those_in_turn():
    plan = served_pages.page_plan(5, seed=1, conditions=["layout_separators", "paper_grid"])
    assert [(c, index) for _, c, _, index in plan] == [
        ("layout_separators", 0), ("paper_grid", 0), ("layout_separators", 1), ("paper_grid", 1), ("layout_separators", 2)]
    assert served_pages.upright_conditions() == [c for c in stress.CONDITIONS if c not in stress.TURNED]


def test_a_condition_listed_twice_gets_twice_the_pages_never_the_same_one():
    plan = served_pages.page_plan(6, seed=0, conditions=["paper_grid", "layout_touching", "layout_touching"])
    assert [(c, index) for _, c, _, index in plan] == [
        ("paper_grid", 0), ("layout_touching", 0), ("layout_touching", 1),
        ("paper_grid", 1), ("layout_touching", 2), ("layout_touching", 3)]


def test_pages_of_marks_follow_the_stress_pages_each_kind_in_turn_far_from_the_benchmark_seeds():
    plan = served_pages.page_plan(3, seed=0, marks=len(marks.KINDS) + 2)
    assert [kind for kind, _, _, _ in plan] == ["stress"] * 3 + ["marks"] * (len(marks.KINDS) + 2)
    on_marks = plan[3:]
    assert [c for _, c, _, _ in on_marks] == [*marks.KINDS, *list(marks.KINDS)[:2]]
    assert [index for _, _, _, index in on_marks] == [0] * len(marks.KINDS) + [1, 1]
    assert all(seed == served_pages.PAGE_SEED and seed > 2 for _, _, seed, _ in on_marks)


def test_each_crop_matching_a_digits_box_is_labelled_with_that_digit():
    crops, labels = served_pages.labelled_crops(_found((11, 60, 19, 29), (10, 10, 20, 30), (39, 11, 22, 30)), PAGE, BOXES)
    assert labels.tolist() == [3, 1, 2]
    assert [int(c[0, 0]) for c in crops] == [0, 1, 2]


def test_a_crop_over_no_digit_or_over_two_is_not_one_digit():
    # a currency mark before the number; the first line's two digits cut as one
    _, labels = served_pages.labelled_crops(_found((0, 5, 8, 40), (10, 10, 50, 30)), PAGE, BOXES)
    assert labels.tolist() == [model_io.NOT_A_DIGIT] * 2


def test_a_piece_of_one_digit_is_left_out():
    crops, labels = served_pages.labelled_crops(_found((10, 10, 20, 12), (40, 10, 20, 30)), PAGE, BOXES)
    assert labels.tolist() == [2] and crops.shape == (1, 28, 28)


def test_a_reading_of_a_page_without_digits_is_all_not_one_digit():
    _, labels = served_pages.labelled_crops(_found((5, 5, 10, 10)), "", [])
    assert labels.tolist() == [model_io.NOT_A_DIGIT]


def test_stress_digits_hold_one_population_per_set_as_the_mix_loaded_them(mnist):
    train = (mnist.x_train[:500], mnist.y_train[:500])
    splits = mix.training_mix(train, datasets.default_root(), ["mnist", "usps"], seed=0).splits
    digits = served_pages.stress_digits(splits)
    assert digits.names == ("mnist", "usps")
    assert np.bincount(digits.population).tolist() == [500, 7291]
    assert np.array_equal(digits.images[:500], mnist.x_train[:500])
    assert np.array_equal(digits.labels[500:], datasets.usps(datasets.default_root()).y_train)
    assert digits.images.dtype == np.uint8 and digits.labels.max() == 9


def test_the_engine_cuts_real_cheque_amounts_into_crops_labelled_by_their_boxes():
    strings, _ = datasets.orand_strings(datasets.default_root())
    chosen = strings[:20]
    crops, labels = served_pages.orand_crops(config.settings().model_path, chosen)
    digits = sum(len(s.label) for s in chosen)
    assert crops.shape == (len(labels), 28, 28) and crops.dtype == np.uint8
    # most digits are cut where their box stands; the rest are pieces or merged pairs
    assert 0.8 * digits <= np.count_nonzero(labels < model_io.NOT_A_DIGIT) <= digits
    written = np.bincount([int(c) for s in chosen for c in s.label], minlength=10)
    assert (np.bincount(labels[labels < model_io.NOT_A_DIGIT], minlength=10) <= written).all()
