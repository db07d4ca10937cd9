"""The export to ONNX Runtime against Keras and TensorFlow: the served probabilities over the
benchmark's crops, Grad-CAM's peaks over MNIST test digits, and what export and publish write."""
import json

import numpy as np
import pytest

from handwriting.pages import synth
from handwriting.engine import model_io, runtime, sequence
from handwriting.engine.explain import NotExplainable
from handwriting.engine.recognition import Recognizer
from handwriting.training import architectures, export
from helpers import ROOT, run_module

MODELS = ROOT / "models"
DIGIT_MODELS = ("digit_cnn", "digit_advanced", "digit_linear")
PER_KIND = 4  # classic benchmark images per kind whose crops are compared: about 800 crops
TOLERANCE = 1e-4  # the bar for the served probabilities


@pytest.fixture(scope="module")
def bench_inputs(mnist):
    """Every crop and line strip the engine sends to its models over the first PER_KIND images of each
    kind of the classic benchmark (seed 0), recorded on their way to the runtime."""
    engine = Recognizer()
    crops, strips = [], []
    engine._infer = lambda batch: crops.append(batch) or engine.model.predict(batch)
    read_lines = engine.lines.read
    engine.lines.read = lambda found: strips.extend(sequence.to_input(s)[0] for s in found) or read_lines(found)
    for kind in synth.KINDS:
        for index in range(PER_KIND):
            engine.read(synth.generate(kind, mnist.x_test, mnist.y_test, 0, index).data)
    lines = np.stack(strips + [sequence.to_input(255 - np.hstack(list(mnist.x_test[i: i + 6])))[0] for i in range(0, 120, 6)])
    return np.concatenate(crops), lines[..., None]


@pytest.mark.parametrize("name", DIGIT_MODELS)
def test_the_served_probabilities_are_keras_over_the_benchmark_crops(bench_inputs, name):
    crops = bench_inputs[0]
    assert len(crops) > 500
    path = MODELS / f"{name}.keras"
    served = runtime.load_model(path).predict(crops)
    assert np.abs(served - model_io.load(path).predict(crops, batch_size=256, verbose=0)).max() <= TOLERANCE


def test_the_served_line_model_is_keras_with_its_softmax(bench_inputs):
    import tensorflow as tf

    strips = bench_inputs[1]
    path = MODELS / "lines" / "line_crnn.keras"
    keras_probabilities = tf.nn.softmax(model_io.load(path).predict(strips, verbose=0)).numpy()
    assert np.abs(runtime.load_model(path).predict(strips) - keras_probabilities).max() <= TOLERANCE


def test_the_served_turn_judge_is_keras(bench_inputs):
    crops = bench_inputs[0]
    path = MODELS / "turns" / "turn_judge.keras"
    keras_answers = model_io.load(path).predict(crops, batch_size=256, verbose=0)
    assert np.abs(runtime.load_model(path).predict(crops) - keras_answers).max() <= TOLERANCE


@pytest.mark.parametrize("name", ["digit_cnn", "digit_advanced"])
def test_served_grad_cam_peaks_where_tensorflows_does(mnist, name):
    """The issue's bar: the same peak cell on at least 95 % of 1,000 MNIST test digits (each cell of
    the 7x7 map explained is 4x4 pixels of the crop); measured 100 %."""
    path = MODELS / f"{name}.keras"
    crops, labels = mnist.x_test[:1000], mnist.y_test[:1000].astype(np.int32)
    expected = export.gradcam_function(model_io.load(path))(model_io.to_batch(crops), labels).numpy()
    served = Recognizer(path).explainer()(crops, labels)

    def peak_cells(maps):
        rows, columns = np.unravel_index(maps.reshape(len(maps), -1).argmax(axis=1), maps.shape[1:])
        return rows // 4, columns // 4

    same = np.all(np.equal(peak_cells(served), peak_cells(expected)), axis=0)
    assert same.mean() >= 0.95 and np.abs(served - expected).mean() <= 1e-3


def test_save_publishes_checked_artifacts_then_the_model(tmp_path):
    import keras

    keras.utils.set_random_seed(0)  # the same untrained weights each run
    path = tmp_path / "fresh.keras"
    export.save(architectures.cnn(), path, {"name": "fresh"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.gradcam.onnx", "fresh.json", "fresh.keras", "fresh.onnx"]
    assert json.loads((tmp_path / "fresh.json").read_text()) == {"name": "fresh"}
    engine = Recognizer(path)
    assert engine.model.metadata[model_io.SOURCE_DIGEST] == model_io.digest(path)
    assert engine.explainer()(np.zeros((2, 28, 28), np.uint8), [3, 4]).shape == (2, 28, 28)
    export.save(architectures.linear(), path, {"name": "fresh"})  # over it: the old Grad-CAM graph goes
    assert not model_io.gradcam_path(path).exists() and not list(tmp_path.glob(".*"))
    with pytest.raises(NotExplainable, match="linear model has no convolutional layers"):
        Recognizer(path).explainer()


def test_a_graph_that_answers_unlike_keras_is_never_published(tmp_path):
    partial = tmp_path / ".m.onnx.partial"
    partial.write_bytes((MODELS / "digit_linear.onnx").read_bytes())
    images = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
    right = runtime.Graph(partial).predict(images)
    assert export._check(partial, right, [images]) <= TOLERANCE and partial.exists()
    with pytest.raises(ValueError, match="away from Keras"):
        export._check(partial, right + 2 * TOLERANCE, [images])
    assert not partial.exists()


def test_the_command_exports_the_models_it_is_given_and_refuses_other_files(tmp_path):
    copy = tmp_path / "copy.keras"
    copy.write_bytes((MODELS / "digit_linear.keras").read_bytes())
    result = run_module("handwriting.training.export", copy)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{tmp_path / 'copy.onnx'}: " in result.stdout and "from Keras" in result.stdout
    assert runtime.load_model(copy).metadata[model_io.NOT_EXPLAINABLE]
    refused = run_module("handwriting.training.export", tmp_path / "copy.onnx")
    assert refused.returncode != 0 and "is not a .keras file" in refused.stderr
