"""The model soup: the mean of fine-tunes' weights, what its card says, and the ingredients it refuses."""
import json
import re
import shutil
from pathlib import Path

import numpy as np

from handwriting.engine import model_io
from handwriting.engine.recognition import Recognizer
from handwriting.training import soup
from helpers import ROOT, assert_refused, run_module

ERROR = re.compile(r"^python -m handwriting\.training\.soup: error: ")


def copy_model(folder, name, **card):
    """digit_linear copied to `folder` as `name`, its card's entries replaced by `card`."""
    path = folder / f"{name}.keras"
    for suffix in (".keras", ".onnx"):
        shutil.copy(ROOT / "models" / f"digit_linear{suffix}", path.with_suffix(suffix))
    meta = {**json.loads((ROOT / "models" / "digit_linear.json").read_text()), **card}
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_average_is_the_mean_of_each_layer():
    first = [np.array([[0.0, 2.0]]), np.array([1.0])]
    second = [np.array([[4.0, -2.0]]), np.array([3.0])]
    mean = soup.average([first, second])
    assert np.array_equal(mean[0], [[2.0, 0.0]]) and np.array_equal(mean[1], [2.0])


def test_learned_from_names_each_set_once_with_the_most_images_any_ingredient_saw():
    cards = [{"trained_on": [{"set": "mnist", "images": 55000}, {"set": "served", "images": 20}]},
             {"trained_on": [{"set": "served", "images": 30}, {"set": "usps", "images": 7}]}]
    assert soup.learned_from(cards) == [{"set": "mnist", "images": 55000}, {"set": "served", "images": 30},
                                        {"set": "usps", "images": 7}]


def test_ingredients_of_another_seed_are_refused(tmp_path):
    one, other = copy_model(tmp_path, "one"), copy_model(tmp_path, "other", seed=44)
    result = run_module("handwriting.training.soup", one, other, "--out", tmp_path / "soup.keras")
    assert_refused(result, ERROR, "the models must share their seed; their cards give 42, 44")
    assert not (tmp_path / "soup.keras").exists()


def test_one_model_is_refused(tmp_path):
    result = run_module("handwriting.training.soup", copy_model(tmp_path, "one"), "--out", tmp_path / "soup.keras")
    assert_refused(result, ERROR, "give two or more models to average")


def test_the_soup_of_a_model_with_itself_reads_as_that_model(tmp_path, mnist_path):
    one, two = copy_model(tmp_path, "one"), copy_model(tmp_path, "two")
    out = tmp_path / "soup.keras"
    result = run_module("handwriting.training.soup", one, two, "--out", out, "--data", mnist_path)
    assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    original = json.loads((ROOT / "models" / "digit_linear.json").read_text())
    assert [Path(entry["model"]).name for entry in card["soup_of"]] == ["one.keras", "two.keras"]
    assert card["test_accuracy"] == original["test_accuracy"]
    assert card["trained_on"] == original["trained_on"] and card["seed"] == 42
    assert set(card["validation"]) == {"mnist (held-out train)", "usps test", "optdigits test (other writers)",
                                       "ardis iv test", "orand validation digits"}
    crops = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    assert np.allclose(Recognizer(out).classify(crops), Recognizer(one).classify(crops), atol=1e-5)
    assert model_io.artifact_path(out).is_file()
