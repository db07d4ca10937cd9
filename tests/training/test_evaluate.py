"""The evaluation metrics against hand-worked examples, the shipped model against its target, and
the CLI's one-line refusals of bad input."""
import json
import math
import re

import numpy as np
import pytest

from handwriting.training import evaluate
from helpers import MODEL, ROOT, assert_refused, run_module

TARGET = 0.9951  # the shipped model as measured; it trades 0.09 points of MNIST (99.60 MNIST-only) for other writers
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
ERROR = re.compile(r"python -m handwriting\.training\.evaluate: error: \S")


def test_confusion_counts_true_rows_against_predicted_columns():
    conf = evaluate.confusion(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), classes=3)
    assert conf.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_per_class_scores_match_a_worked_example():
    scores = evaluate.per_class(np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]]))
    assert scores["0"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert scores["1"] == {"precision": 0.66667, "recall": 1.0, "f1": 0.8, "support": 2}
    # Class 2 is never predicted: its precision is undefined and counts as 0, not as NaN.
    assert scores["2"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_cross_entropy_is_the_mean_negative_log_probability_of_the_truth():
    probabilities = np.array([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])
    expected = -(math.log(0.5) + math.log(0.75) + math.log(evaluate.EPSILON)) / 3
    assert evaluate.cross_entropy(np.array([0, 1, 1]), probabilities) == pytest.approx(expected)


def test_metrics_are_json_ready_and_consistent():
    y = np.array([0, 1, 2, 2])
    probabilities = np.eye(10)[[0, 1, 2, 7]] * 0.9 + 0.01
    result = json.loads(json.dumps(evaluate.metrics(y, probabilities)))
    assert result["accuracy"] == 0.75 and result["n"] == 4
    assert list(result["per_class"]) == [str(c) for c in range(10)]
    assert result["per_class"]["2"]["recall"] == 0.5 and result["per_class"]["7"]["precision"] == 0.0
    assert result["loss"] == pytest.approx(evaluate.cross_entropy(y, probabilities), abs=1e-6)
    table = evaluate.report_table(result)
    assert "precision" in table and "0.7500" in table and len(table.splitlines()) == 15


@pytest.mark.parametrize("wrong", [0, 3, 150])
def test_mistake_grid_is_drawn_for_none_some_and_too_many(tmp_path, wrong):
    rng = np.random.default_rng(wrong)
    images = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    y = np.arange(200) % 10
    predicted = np.where(np.arange(200) < wrong, (y + 1) % 10, y)
    evaluate.plot_mistakes(images, y, np.eye(10)[predicted] * 0.9 + 0.01, tmp_path / "mistakes.png")
    assert (tmp_path / "mistakes.png").read_bytes().startswith(b"\x89PNG")


def run(tmp_path, *args):
    return run_module("handwriting.training.evaluate", *args, reports=tmp_path / "default-reports")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, mnist_path):
    """The shipped model scored once on the full test set; the tests below read what it wrote."""
    assert MODEL.is_file(), f"the shipped model is missing: {MODEL}"
    folder = tmp_path_factory.mktemp("evaluate")
    result = run(folder, "--model", MODEL, "--data", mnist_path, "--json", folder / "metrics.json",
                 "--reports", folder / "reports")
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, result.stdout, json.loads((folder / "metrics.json").read_text())


@pytest.mark.slow
def test_json_covers_every_test_image_and_class(shipped):
    _, _, metrics = shipped
    assert set(metrics) == {"accuracy", "loss", "n", "per_class"}
    assert metrics["n"] == 10000
    assert list(metrics["per_class"]) == [str(c) for c in range(10)]
    assert [score["support"] for score in metrics["per_class"].values()] == TEST_COUNTS
    for score in metrics["per_class"].values():
        assert set(score) == {"precision", "recall", "f1", "support"}
    recalled = sum(score["recall"] * score["support"] for score in metrics["per_class"].values())
    assert recalled / metrics["n"] == pytest.approx(metrics["accuracy"], abs=1e-4)


@pytest.mark.slow
def test_report_and_figures_are_written(shipped):
    folder, stdout, _ = shipped
    reports = folder / "reports"
    assert (reports / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    assert (reports / "misclassified.png").read_bytes().startswith(b"\x89PNG")
    assert "macro avg" in (reports / "classification_report.txt").read_text()
    assert "macro avg" in stdout
    assert not (folder / "default-reports").exists()


@pytest.mark.slow
def test_shipped_model_reaches_the_target_accuracy(shipped):
    _, stdout, metrics = shipped
    assert f"accuracy {metrics['accuracy']:.4f} on 10,000 test images" in stdout
    assert metrics["accuracy"] >= TARGET, f"test accuracy {metrics['accuracy']:.4f} is below {TARGET}"


@pytest.mark.slow
def test_the_shipped_cards_validation_figures_are_what_evaluate_measures(tmp_path, mnist_path):
    card = json.loads(MODEL.with_suffix(".json").read_text())
    result = run(tmp_path, "--validation", "--model", MODEL, "--data", mnist_path, "--json", tmp_path / "v.json")
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads((tmp_path / "v.json").read_text())
    assert set(measured) == set(card["validation"])
    # Within 0.1 point, or one image of the smallest set (980 ORAND digits): TensorFlow's CPU kernels
    # are not bit-exact from run to run, and a digit on the fence may fall either way.
    for name, value in measured.items():
        assert value == pytest.approx(card["validation"][name], abs=0.0011), name
    assert "ardis" not in {entry["set"] for entry in card["trained_on"]}


SHIPPED = ("digit_cnn", "digit_linear", "digit_advanced")


@pytest.fixture(scope="module")
def robust(tmp_path_factory, mnist_path):
    folder = tmp_path_factory.mktemp("robustness")
    result = run(folder, "--robustness", "--data", mnist_path, "--limit", 200, "--reports", folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, result.stdout, json.loads((folder / "robustness.json").read_text())


@pytest.mark.slow
def test_robustness_has_every_row_for_every_shipped_model(robust):
    from handwriting.training.robustness import DISTORTIONS

    folder, stdout, report = robust
    expected = [("clean", None)] + [(name, s) for name, (_, _, strengths) in DISTORTIONS.items() for s in strengths]
    assert [(row["distortion"], row["strength"]) for row in report["rows"]] == expected
    assert report["n"] == 200
    for row in report["rows"]:
        assert set(SHIPPED) <= set(row) and all(0 <= row[name] <= 1 for name in SHIPPED)
    table = (folder / "robustness.md").read_text()
    assert table.count("\n") == len(expected) + 2 and table in stdout
    assert (folder / "robustness.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_robustness_shows_strong_distortions_hurting(robust):
    """Clean accuracy matches each model's class, and the strongest rotation, noise and thinning
    cost accuracy: the distortions really reach the model."""
    _, _, report = robust
    rows = {(row["distortion"], row["strength"]): row for row in report["rows"]}
    clean = rows[("clean", None)]
    assert clean["digit_cnn"] >= 0.98 and clean["digit_linear"] >= 0.8
    for worst in (("noise (sigma)", 0.4), ("rotation (degrees)", 45), ("thinning (kernel, px)", 3)):
        assert all(rows[worst][name] < clean[name] for name in SHIPPED), worst


@pytest.mark.slow
def test_robustness_of_one_model(tmp_path, mnist_path):
    result = run(tmp_path, "--robustness", "--model", ROOT / "models" / "digit_linear.keras", "--data", mnist_path,
                 "--limit", 50, "--reports", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((tmp_path / "robustness.json").read_text())["rows"]
    assert all(set(row) == {"distortion", "strength", "digit_linear"} for row in rows)


def _foreign_model(path):
    """A valid Keras model that is not a digit classifier: 32x32 colour in, 10 classes out."""
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(path)


REFUSALS = {
    "a missing model": ({"--model": "{tmp}/missing.keras"}, "model file not found"),
    "a corrupt model": ({"--model": "{tmp}/random.bin"}, "not a loadable Keras model"),
    "a model for other images": ({"--model": "{tmp}/foreign.keras"}, "expected (28, 28, 1)"),
    "a missing data file": ({"--data": "{tmp}/missing.npz"}, "not found"),
    "a corrupt data file": ({"--data": "{tmp}/random.bin"}, "not a readable"),
    "a --json under /proc": ({"--json": "/proc/no-such-folder/metrics.json"}, "cannot write"),
    "a --json under a file": ({"--json": "{tmp}/random.bin/metrics.json"}, "cannot write"),
    "an unknown option": ({"--bogus": "yes"}, "unrecognized arguments"),
}


@pytest.mark.slow
@pytest.mark.parametrize("problem", REFUSALS)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, mnist_path, problem):
    changes, reason = REFUSALS[problem]
    (tmp_path / "random.bin").write_bytes(np.random.default_rng(3).bytes(4096))
    if problem == "a model for other images":
        _foreign_model(tmp_path / "foreign.keras")
    options = {"--model": MODEL, "--data": mnist_path, "--reports": "{tmp}/reports", **changes}
    args = [str(part).format(tmp=tmp_path) for pair in options.items() for part in pair]
    result = run(tmp_path, *args)
    assert_refused(result, ERROR, reason)
