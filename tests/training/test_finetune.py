"""Fine-tuning CLI on a generated folder of someone's "own" handwriting: mirrored MNIST training
digits, a style the shipped model has never seen, as images of assorted sizes, polarity and format."""
import dataclasses
import json
import re

import cv2
import numpy as np
import pytest

from handwriting import config
from handwriting.web import registry
from helpers import MODEL, assert_refused, run_module

pytestmark = [pytest.mark.slow]

ERROR = re.compile(r"python -m handwriting\.training\.finetune: error: \S")
PER_CLASS = 12


def finetune(*args):
    return run_module("handwriting.training.finetune", *args)


def write_folder(folder, mnist, per_class, seed=0):
    """Mirrored training digits, some dark on light PNG, some light on dark JPEG, 40 to 120 px."""
    rng = np.random.default_rng(seed)
    for digit in range(10):
        (folder / str(digit)).mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(np.flatnonzero(mnist.y_train == digit)[:per_class]):
            image = mnist.x_train[i][:, ::-1]
            side = int(rng.integers(40, 121))
            image = cv2.copyMakeBorder(cv2.resize(image, (side, side)), 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=0)
            name, image = (f"{k}.png", 255 - image) if k % 2 else (f"{k}.jpg", image)
            cv2.imwrite(str(folder / str(digit) / name), image)
    return folder


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, mnist, mnist_path):
    folder = write_folder(tmp_path_factory.mktemp("digits"), mnist, PER_CLASS)
    (folder / "3" / "notes.txt").write_text("not an image")
    (folder / "5" / "cut.png").write_bytes((folder / "5" / "1.png").read_bytes()[:60])
    (folder / "7" / "blank.png").write_bytes(cv2.imencode(".png", np.full((50, 50), 255, np.uint8))[1].tobytes())
    models = tmp_path_factory.mktemp("models")
    result = finetune("--data", folder, "--out", models / "mine.keras", "--mnist", mnist_path, "--holdout", 0.25)
    assert result.returncode == 0, result.stderr[-3000:]
    return models, result.stdout


def test_fine_tuning_improves_the_held_out_accuracy(tuned):
    models, _ = tuned
    meta = json.loads((models / "mine.json").read_text())["finetune"]
    assert meta["images"] == 10 * PER_CLASS and meta["held_out"] == 30 and meta["train"] == 90
    assert meta["after"] >= meta["before"] + 0.15, meta


def test_the_output_says_what_was_skipped_and_the_scores(tuned):
    _, out = tuned
    skipped = dict(re.findall(r"skipped .*/(\S+): (\S+)", out))
    assert skipped == {"notes.txt": "not_an_image", "cut.png": "corrupt_image", "blank.png": "no_digit_found"}
    assert f"{10 * PER_CLASS} images (3 skipped)" in out
    assert re.search(r"held-out accuracy: before 0\.\d+, after 0\.\d+", out)


def test_the_new_model_is_listed_and_reads(tuned, mnist, digits_png):
    models, _ = tuned
    settings = dataclasses.replace(config.settings(), models_dir=models)
    listing = {row["name"]: row for row in registry.Models(settings).listing()}
    assert listing["mine"]["arch"] == "cnn" and not listing["mine"]["default"]
    assert 0.9 < listing["mine"]["test_accuracy"] <= 1.0  # it still reads MNIST, measured at 97 %
    engine = registry.Models(settings).get("mine")
    assert engine.read(digits_png).text == "721"


def test_the_base_model_is_unchanged(tuned):
    meta = json.loads(MODEL.with_suffix(".json").read_text())
    assert meta["name"] == "digit_cnn" and "finetune" not in meta


@pytest.mark.parametrize("problem", ["missing folder", "missing classes", "no images", "one image in a class"])
def test_bad_folders_are_refused_with_a_reason(tmp_path, mnist, problem):
    folder = tmp_path / "digits"
    if problem == "missing classes":
        write_folder(folder, mnist, 2)
        for digit in ("4", "8"):
            for path in (folder / digit).iterdir():
                path.unlink()
            (folder / digit).rmdir()
        reason = "no subfolder for class 4, 8"
    elif problem == "no images":
        for digit in range(10):
            (folder / str(digit)).mkdir(parents=True)
        (folder / "2" / "readme.txt").write_text("nothing here")
        reason = "no readable digit images"
    elif problem == "one image in a class":
        write_folder(folder, mnist, 2)
        (folder / "6" / "1.png").unlink()
        reason = "class 6 has fewer than 2"
    else:
        reason = "is not a folder"
    result = finetune("--data", folder, "--out", tmp_path / "out.keras")
    assert_refused(result, ERROR, reason)
    assert not (tmp_path / "out.keras").exists()
