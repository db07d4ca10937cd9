"""Shared fixtures: the real MNIST file, the real shipped model, one engine and one app per test
session, and the composed upload most API tests send."""
import io
import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MNIST = Path(os.environ.get("HANDWRITING_MNIST") or ROOT.parent / "shared" / "data" / "mnist.npz")
MODEL = ROOT / "models" / "digit_cnn.keras"
DIGITS = (7, 2, 1)  # the digits of `digits_png`


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
def app(recognizer):
    from main import create_app

    return create_app(recognizer=recognizer)


@pytest.fixture(scope="session")
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def spec(client):
    """The service's own OpenAPI document, checked to be valid."""
    from openapi_spec_validator import validate

    document = client.get("/api/openapi.json").get_json()
    validate(document)
    return document


@pytest.fixture(scope="session")
def digits_png(mnist):
    return png(compose(mnist, DIGITS))


def compose(mnist, labels, gap=14, margin=20):
    """MNIST test digits with these labels, black on white, side by side: a realistic upload."""
    tiles = [255 - mnist.x_test[int(np.flatnonzero(mnist.y_test == label)[0])] for label in labels]
    canvas = np.full((28 + 2 * margin, 2 * margin + len(tiles) * 28 + (len(tiles) - 1) * gap), 255, np.uint8)
    for i, tile in enumerate(tiles):
        x = margin + i * (28 + gap)
        canvas[margin:margin + 28, x:x + 28] = tile
    return canvas


def png(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


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


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet keep-alive stub server handler for tests of the benchmark clients."""

    protocol_version = "HTTP/1.1"

    def send_json(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass
