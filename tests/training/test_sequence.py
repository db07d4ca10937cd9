"""The line reader's training side: composed digit strings, the trainer's command line, and the shipped
line model read against real cheque amounts it never trained on."""
import json
import re

import numpy as np
import pytest

from helpers import ROOT, assert_refused, run_module

ERROR = re.compile(r"python -m handwriting\.training\.sequence: error: \S")
LINE_MODEL = ROOT / "models" / "lines" / "line_crnn.keras"
LINES = 300  # composed lines per check: every length 1-8 shows up among this many
TRAINED_ON = {"mnist", "optdigits", "swiss", "orand", "orand strings"}


@pytest.fixture(scope="module")
def orand():
    """(ORAND strings to train on, selection strings); the data is always there, so its absence fails."""
    from handwriting.training import datasets

    train, _validation = datasets.orand_strings(datasets.default_root())
    held = datasets.orand_selection_ids([s.image_id for s in train])
    return [s for s in train if s.image_id not in held], [s for s in train if s.image_id in held]


@pytest.fixture(scope="module")
def sources(mnist, orand):
    from handwriting.training import datasets, strings

    return strings.digit_sources((mnist.x_train[:2000], mnist.y_train[:2000]), datasets.default_root(), orand[0][:50])


@pytest.fixture(scope="module")
def lines(sources):
    from handwriting.training import strings

    return [strings.render(np.random.default_rng(seed), sources) for seed in range(LINES)]


def test_selection_split_is_the_prototypes_tenth(orand):
    from handwriting.training import datasets

    fit, selection = orand
    assert (len(fit), len(selection)) == (748, 83)
    assert datasets.orand_selection_ids([s.image_id for s in fit]) == set()


def test_labels_are_strings_of_one_to_eight_digits(lines):
    labels = [line.label for line in lines]
    assert all(label.isdigit() for label in labels)
    assert {len(label) for label in labels} == set(range(1, 9))


def test_ink_lies_where_the_digits_are(lines):
    for line in lines:
        assert line.image.dtype == np.uint8 and line.digit_ink.shape == line.image.shape
        digits, paper = line.digit_ink > 0.8, line.digit_ink == 0
        assert digits.any()
        assert np.median(line.image[digits]) < np.median(line.image[paper]) - 25, line.label


def test_separators_and_strokes_are_drawn_but_never_labelled(sources):
    from handwriting.training import strings

    marks = 0
    for seed in range(LINES):
        rng = np.random.default_rng(seed)
        pieces, label = strings._pieces(rng, sources, (int(rng.integers(1, 9)), "mnist"), 40.0, 40.0)
        assert label.isdigit() and [kind for kind, *_ in pieces].count("digit") == len(label)
        marks += any(kind == "mark" and alpha.max() > 0 for kind, alpha, _ in pieces)
    assert marks > LINES // 4


def test_real_strings_are_jittered_not_replaced(orand):
    from handwriting.training import strings

    image = orand[0][0].image
    jittered = strings.augment_real(np.random.default_rng(0), image)
    assert jittered.dtype == np.uint8 and jittered.ndim == 2
    assert 0.7 < jittered.shape[0] / image.shape[0] < 1.4 and 0.7 < jittered.shape[1] / image.shape[1] < 1.4


@pytest.mark.slow
def test_three_steps_write_a_loadable_model_and_its_card(tmp_path, mnist_path):
    import tensorflow as tf

    from handwriting.engine import model_io, runtime
    from handwriting.engine.sequence import LineReader

    out = tmp_path / "line.keras"
    result = run_module("handwriting.training.sequence", "--steps", 3, "--batch-size", 4, "--seed", 5,
                        "--data", mnist_path, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert LineReader(out).read([np.full((40, 120), 230, np.uint8)])[0].text is not None
    strips = np.random.default_rng(0).random((4, 32, 160, 1), np.float32)
    kept = tf.nn.softmax(model_io.load(out).predict(strips, verbose=0)).numpy()
    assert np.abs(runtime.load_model(out).predict(strips) - kept).max() <= 1e-4  # served is what was kept
    card = json.loads(out.with_suffix(".json").read_text())
    assert {entry["set"] for entry in card["trained_on"]} == TRAINED_ON
    assert all(entry["licence"] for entry in card["trained_on"])
    assert "ardis" not in json.dumps(card).lower()
    assert (card["steps"], card["best_step"], card["batch_size"], card["seed"]) == (3, 3, 4, 5)
    assert card["selection"]["strings"] == 83 and 0 <= card["selection"]["accuracy"] <= 1
    assert card["train_seconds"] > 0
    assert not list(tmp_path.glob(".*partial*"))
    again = tmp_path / "again.keras"
    result = run_module("handwriting.training.sequence", "--init", out, "--steps", 1, "--batch-size", 4,
                        "--learning-rate", 1e-5, "--seed", 6, "--data", mnist_path, "--out", again)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "step 0  selection" in result.stdout  # the model gone on from is scored first, the one to beat
    card = json.loads(again.with_suffix(".json").read_text())
    assert (card["initialised_from"], card["learning_rate"], card["seed"]) == ("line.keras", 1e-5, 6)
    assert card["best_step"] in (0, 1)
    assert LineReader(again).read([np.full((40, 120), 230, np.uint8)])[0].text is not None


@pytest.mark.parametrize("args, reason", [
    (["--steps", 0], "--steps"),
    (["--steps", "many"], "--steps"),
    (["--batch-size", 0], "--batch-size"),
    (["--out", "line.h5"], "must end in .keras"),
])
def test_bad_arguments_are_refused_in_one_line(args, reason):
    assert_refused(run_module("handwriting.training.sequence", *args), ERROR, reason)


def test_an_existing_out_is_kept_without_force(tmp_path):
    out = tmp_path / "line.keras"
    out.write_bytes(b"keep me")
    assert_refused(run_module("handwriting.training.sequence", "--out", out), ERROR, "--force")
    assert out.read_bytes() == b"keep me"


@pytest.mark.slow
def test_shipped_line_model_reads_the_selection_strings(orand):
    from handwriting.engine.sequence import LineReader
    from handwriting.training import sequence

    first = orand[1][:10]
    readings = LineReader(LINE_MODEL).read([s.image for s in first])
    assert sum(reading.text == s.label for reading, s in zip(readings, first)) >= 8
    model = sequence.build()
    model.load_weights(LINE_MODEL)  # the builder still makes the shipped model's architecture
    card = json.loads(LINE_MODEL.with_suffix(".json").read_text())
    assert {entry["set"] for entry in card["trained_on"]} == TRAINED_ON and card["params"] == model.count_params()
