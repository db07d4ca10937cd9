"""Shared fixtures: the real MNIST file, the real shipped model, one engine per test session."""
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
MNIST = Path(os.environ.get("HANDWRITING_MNIST") or ROOT.parent / "shared" / "data" / "mnist.npz")
MODEL = ROOT / "models" / "digit_cnn.keras"


@pytest.fixture(scope="session")
def mnist_path():
    """In CI the file is always there, so its absence is a failure, never a skip."""
    assert MNIST.is_file(), f"MNIST not found at {MNIST}"
    return MNIST


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from handwriting import data

    return data.load(mnist_path)


@pytest.fixture(scope="session")
def recognizer():
    from handwriting.recognition import Recognizer

    engine = Recognizer(MODEL)
    engine.warm()
    return engine


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)
