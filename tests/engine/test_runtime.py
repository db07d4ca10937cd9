"""The serving runtime with the shipped artifacts: each one matches the model beside it, a stale or
missing one is refused, any batch size answers alike, and serving never loads TensorFlow."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from handwriting import config
from handwriting.engine import model_io, runtime
from handwriting.engine.recognition import Recognizer
from helpers import ROOT, place_model

MODELS = ROOT / "models"


@pytest.mark.parametrize("path", [*sorted(MODELS.glob("*.keras")), MODELS / "lines" / "line_crnn.keras",
                                  MODELS / "turns" / "turn_judge.keras"], ids=lambda p: p.stem)
def test_every_shipped_artifact_was_exported_from_the_model_beside_it(path):
    graph = runtime.load_model(path)
    assert graph.metadata[model_io.SOURCE_DIGEST] == model_io.digest(path)
    if path.parent == MODELS:  # a digit model: Grad-CAM's graph, or the reason it has none
        explained = model_io.gradcam_path(path)
        assert explained.is_file() != (model_io.NOT_EXPLAINABLE in graph.metadata)
        if explained.is_file():
            assert runtime.load(explained, path).batch == runtime.Graph(explained).batch > 0


def test_a_missing_or_stale_artifact_is_refused_with_the_command_that_fixes_it(tmp_path):
    alone = tmp_path / "alone.keras"
    alone.write_bytes((MODELS / "digit_linear.keras").read_bytes())
    with pytest.raises(runtime.ArtifactError, match="alone.onnx is missing.*handwriting.training.export"):
        runtime.load_model(alone)
    stale = place_model(tmp_path, "stale", link=False)
    assert runtime.load_model(stale).predict(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 11)
    stale.write_bytes((MODELS / "digit_advanced.keras").read_bytes())  # retrained, not exported
    with pytest.raises(runtime.ArtifactError, match="another version of stale.keras.*export it again"):
        runtime.load_model(stale)


def test_an_artifact_without_its_keras_file_is_served_as_it_is(tmp_path):
    (tmp_path / "bare.onnx").write_bytes((MODELS / "digit_linear.onnx").read_bytes())
    assert runtime.load_model(tmp_path / "bare.onnx").predict(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 11)


def test_any_batch_size_answers_as_one_crop_at_a_time(recognizer, mnist):
    crops = mnist.x_test[:300]
    alone = np.concatenate([recognizer.classify(crops[i: i + 1]) for i in range(7)])
    for size in (1, 7, 300):
        batched = recognizer.classify(crops[:size])
        assert batched.shape == (size, len(model_io.CLASSES)) and np.abs(batched[:7] - alone[:size]).max() <= 1e-6
    assert recognizer.classify(crops[:0]).shape == (0, len(model_io.CLASSES))


def test_gradcam_pads_its_fixed_batch_and_answers_each_crop_as_alone(recognizer, mnist):
    gradcam = recognizer.explainer()
    count = gradcam.graph.batch + 1
    crops, classes = mnist.x_test[:count], mnist.y_test[:count]
    together = gradcam(crops, classes)
    assert together.shape == (count, 28, 28)
    assert np.abs(together[-1:] - gradcam(crops[-1:], classes[-1:])).max() <= 1e-6
    assert gradcam(crops[:0], classes[:0]).shape == (0, 28, 28)


SERVE = """
import io, json, sys
from handwriting.web.app import create_app
from helpers import compose, png
from handwriting.training import data
client = create_app().test_client()
image = png(compose(data.load(sys.argv[1]), (7, 2, 1)))
answer = client.post("/api/digit_recognize", data={"file": (io.BytesIO(image), "a.png"), "explain": "1"})
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "tf_keras"))
print(json.dumps({"status": answer.status_code, "text": answer.get_json()["text"], "loaded": loaded}))
"""


def test_serving_a_reading_with_grad_cam_never_imports_tensorflow(mnist_path):
    result = subprocess.run([sys.executable, "-c", SERVE, str(mnist_path)], cwd=ROOT / "tests", capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == {"status": 200, "text": "721", "loaded": []}


def test_the_default_model_is_the_served_artifact_of_the_settings_model():
    engine = Recognizer()
    assert engine.model.path == model_io.artifact_path(config.settings().model_path)
    assert engine.lines.model.path == model_io.artifact_path(config.settings().line_model_path)
    assert engine.turns.path == model_io.artifact_path(config.settings().turn_model_path)
