"""What several test modules share that is not a fixture: paths, composed images, the HTTP client of
the server tests, and checks of API answers and command-line refusals."""
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import cv2
import numpy as np
import pytest
from jsonschema import Draft202012Validator
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MNIST = Path(os.environ.get("HANDWRITING_MNIST") or ROOT.parent / "shared" / "data" / "mnist.npz")
MODEL = ROOT / "models" / "digit_cnn.keras"
DIGITS = (7, 2, 1)  # the digits of the `digits_png` fixture
URL = "/api/digit_recognize"
START_TIMEOUT_S = 300  # a deadline for a cold start on a busy machine, not a timing assumption


def place_model(folder, name, source="digit_linear", link=True):
    """The shipped model `source` in `folder` as `name`: its runtime artifacts first, then its
    .keras file, as training publishes them; symlinked, or copied when `link` is false."""
    for suffix in (".onnx", ".gradcam.onnx", ".keras"):
        shipped, placed = ROOT / "models" / f"{source}{suffix}", Path(folder) / f"{name}{suffix}"
        if shipped.is_file():
            placed.unlink(missing_ok=True)
            placed.symlink_to(shipped) if link else placed.write_bytes(shipped.read_bytes())
    return Path(folder) / f"{name}.keras"


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


def zipped(files, compression=zipfile.ZIP_DEFLATED):
    """A ZIP, in memory, of (name, bytes) pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def glyph(image, height):
    """An MNIST digit's ink, upscaled so that MNIST's 20-px field becomes `height` px."""
    ys, xs = np.nonzero(image)
    crop = image[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    size = (round(crop.shape[1] * height / 20), round(crop.shape[0] * height / 20))
    return cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)


def iou(a, b):
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def run_module(module, *args, reports=None):
    """`python -m module ARGS` run the way a user does, with TensorFlow's C++ logging quiet; `reports`
    is where the default reports go, out of reach of reports/."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if reports is not None:
        env["HANDWRITING_REPORTS"] = str(reports)
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540,
    )


def assert_refused(result, error, reason):
    """A CLI refusal: exit code 2, no traceback, one error line and it is the last, giving the reason."""
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert not any("Traceback" in line for line in lines), result.stderr
    assert [line for line in lines if error.match(line)] == lines[-1:], result.stderr
    assert reason in lines[-1]


def conforms(spec, response, path=URL, method="post"):
    """The body validates against the schema the document gives for this path, method and status."""
    declared = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in declared, f"{response.status_code} is not documented for {path}"
    reference = declared[str(response.status_code)]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**reference, "components": spec["components"]})
    errors = [e.message for e in validator.iter_errors(response.get_json())]
    assert not errors, errors
    return response.get_json()


def refused(spec, response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = conforms(spec, response)
    assert body["error"]["code"] == code
    assert "Traceback" not in body["error"]["message"]
    return body


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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(port, method, path, body=None, headers=None, encode_chunked=False):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {}, encode_chunked=encode_chunked)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def multipart(fields):
    """A multipart/form-data body from {name: (filename, bytes)}."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
        for name, (filename, data) in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Server:
    port: int
    log_path: Path
    process: subprocess.Popen

    def log(self):
        return self.log_path.read_text()

    def wait_for(self, predicate):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"run_app.sh exited:\n{self.log()[-4000:]}"
            if predicate():
                return
            time.sleep(0.5)
        pytest.fail(f"still waiting after {START_TIMEOUT_S} s:\n{self.log()[-4000:]}")


def ready(port):
    try:
        return call(port, "GET", "/api/ready")[0] == 200
    except OSError:
        return False


def started(folder, workers, threads):
    """./run_app.sh on a free port, once /api/ready answers; stopped when the generator closes."""
    port = free_port()
    log_path = folder / "server.log"
    env = {
        **os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(["./run_app.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    running = Server(port, log_path, process)
    try:
        running.wait_for(lambda: ready(port))
        yield running
    finally:
        process.terminate()
        process.wait(timeout=60)
