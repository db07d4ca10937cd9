"""The model contract, in one place: what a model takes, what it answers, and how its files are kept.

A model takes float32 images (N, 28, 28, 1) in [0, 1], white strokes on black as in MNIST, and
answers eleven probabilities: the ten digits, then "not one digit" (touching digits, stray
strokes). A model file `NAME.keras`, the source of truth that training writes, has beside it its
training metadata in `NAME.json` and what serving runs without TensorFlow: `NAME.onnx`, the same
model for ONNX Runtime, and `NAME.gradcam.onnx`, its Grad-CAM, when it has convolutions to explain.
"""
import hashlib
import json
import os
from pathlib import Path

import numpy as np

INPUT_SHAPE = (28, 28, 1)
CLASSES = tuple(str(digit) for digit in range(10)) + ("not one digit",)
NOT_A_DIGIT = CLASSES.index("not one digit")
WHITE = 255.0  # a uint8 crop's full ink, which the model sees as 1.0
# The entry of an exported graph's metadata naming the digest of the .keras file it was exported
# from, so that serving never runs an artifact older than its model.
SOURCE_DIGEST = "source_sha256"
# The entry of a model's artifact saying why it has no Grad-CAM graph.
NOT_EXPLAINABLE = "not_explainable"


def to_batch(crops):
    """uint8 crops (N, 28, 28) as the model's input (N, 28, 28, 1), float32 in [0, 1]."""
    return np.asarray(crops, np.float32)[..., None] / WHITE


def digit_probabilities(probabilities):
    """The ten digits' columns of a model's answer: "not one digit" never names a digit."""
    return probabilities[..., :NOT_A_DIGIT]


def load(path):
    """The Keras model at `path`, uncompiled: reading and scoring need no optimizer."""
    import keras

    return keras.models.load_model(path, compile=False)


def artifact_path(path):
    """Where the ONNX Runtime artifact of the model at `path` is kept."""
    return Path(path).with_suffix(".onnx")


def gradcam_path(path):
    """Where the Grad-CAM graph of the model at `path` is kept."""
    return Path(path).with_suffix(".gradcam.onnx")


def digest(path):
    """The SHA-256 of a model file, which its artifacts record."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def metadata(path):
    """The training metadata beside a model, or {} when there is none or it is not a JSON object."""
    try:
        meta = json.loads(Path(path).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def scan(folder, default_path):
    """{name: path} of the models in `folder` (hidden checkpoints left out), and the default model
    even when it lives elsewhere."""
    paths = [p for p in sorted(Path(folder).glob("*.keras")) if not p.name.startswith(".")]
    default_path = Path(default_path)
    if default_path.is_file() and all(p.resolve() != default_path.resolve() for p in paths):
        paths.insert(0, default_path)
    return {path.stem: path for path in paths}


def partial_path(path):
    """Where a model is written before it replaces `path`: hidden, so no scan lists it."""
    return path.with_name(f".{path.stem}.partial.keras")


def publish(partial, path, meta):
    """Move a finished model into place in one step, then its metadata, so that a server or an
    evaluation never reads a half-written model."""
    os.replace(partial, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")

