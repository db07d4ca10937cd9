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


def assert_refused(result, error, reason):
    """A CLI refusal: exit code 2, no traceback, one error line and it is the last, giving the reason."""
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert not any("Traceback" in line for line in lines), result.stderr
    assert [line for line in lines if error.match(line)] == lines[-1:], result.stderr
    assert reason in lines[-1]
