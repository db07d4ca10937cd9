"""./run_app.sh as shipped, which is also the Docker image's command: real gunicorn workers on a
free port, spoken to over real HTTP."""
import base64
import io
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handwriting.engine import model_io
from helpers import ROOT, Server, call, compose, free_port, multipart, place_model, ready, started

pytestmark = [pytest.mark.server, pytest.mark.slow]

LABELS = (4, 0, 9)
WORKERS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from started(tmp_path_factory.mktemp("server"), WORKERS, 2)


@pytest.fixture(scope="module")
def digits_png(mnist):
    buffer = io.BytesIO()
    Image.fromarray(compose(mnist, LABELS)).save(buffer, "PNG")
    return buffer.getvalue()


def test_reads_a_multi_digit_image_over_http(server, digits_png):
    port = server.port
    body, content_type = multipart({"file": ("digits.png", digits_png)})
    status, headers, raw = call(port, "POST", "/api/digit_recognize?crops=1", body, {"Content-Type": content_type})
    answer = json.loads(raw)
    assert status == 200, answer
    assert answer["text"] == "".join(map(str, LABELS))
    assert answer["count"] == 3 and all("crop" in p for p in answer["predictions"])
    assert headers["Server"] == "digit-reader"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_models_are_listed_and_chosen_over_http(server, digits_png):
    from handwriting import config
    from handwriting.engine.recognition import Recognizer

    advanced = Recognizer(config.ROOT / "models" / "digit_advanced.keras")
    status, _, raw = call(server.port, "GET", "/api/models")
    listed = [row["name"] for row in json.loads(raw)["models"]]
    assert status == 200 and listed[0] == "digit_cnn" and {"digit_advanced", "digit_linear"} <= set(listed)
    body, content_type = multipart({"file": ("digits.png", digits_png)})
    for _ in range(WORKERS * 2):  # both workers load it on first use
        status, _, raw = call(server.port, "POST", "/api/digit_recognize?model=digit_advanced&explain=1", body,
                              {"Content-Type": content_type})
        answer = json.loads(raw)
        assert status == 200 and answer["model"]["name"] == "digit_advanced", answer
        # The weaker model is unsure of this image and the line reader re-reads it, so the server is
        # held to what the engine itself reads with that model, not to the labels.
        assert answer["text"] == advanced.read(digits_png).text and all("heatmap" in p for p in answer["predictions"])
    status, _, raw = call(server.port, "POST", "/api/digit_recognize?model=../models/digit_cnn", body,
                          {"Content-Type": content_type})
    assert status == 400 and json.loads(raw)["error"]["code"] == "unknown_model"


def padded(png, size):
    """The PNG with a private chunk of `size` random bytes, which Pillow skips."""
    payload = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    chunk = struct.pack(">I", len(payload)) + b"prIv" + payload
    chunk += struct.pack(">I", zlib.crc32(b"prIv" + payload) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]


@pytest.mark.parametrize("size", [70_000, 300_000, 2_000_000])
def test_uploads_larger_than_a_parser_chunk_are_read(server, digits_png, size):
    """Werkzeug parses a socket's multipart body in 64 KiB chunks; a form-memory limit of that
    size refused about a third of ordinary photos with 413. The PNG is padded with a private
    chunk of random bytes that Pillow skips (zeros never straddled a boundary the bad way)."""
    body, content_type = multipart({"file": ("big.png", padded(digits_png, size))})
    status, _, raw = call(server.port, "POST", "/api/digit_recognize", body, {"Content-Type": content_type})
    assert status == 200, raw[:200]
    assert json.loads(raw)["text"] == "".join(map(str, LABELS))


def test_a_25_mb_upload_receives_413(server):
    port = server.port
    body, content_type = multipart({"file": ("huge.png", b"\0" * (25 * 1024 * 1024))})
    status, _, raw = call(port, "POST", "/api/digit_recognize", body, {"Content-Type": content_type})
    assert status == 413
    assert json.loads(raw)["error"]["code"] == "too_large"


def test_a_25_mb_chunked_upload_receives_413(server):
    port = server.port
    chunks = (b"\0" * (1024 * 1024) for _ in range(25))
    status, _, raw = call(port, "POST", "/api/digit_recognize", chunks, {"Content-Type": "application/json"}, True)
    assert status == 413
    assert json.loads(raw)["error"]["code"] == "too_large"


def test_errors_are_json_over_http(server):
    port = server.port
    for method, path, status in (("GET", "/api/digit_recognize", 405), ("GET", "/api/missing", 404)):
        answer = call(port, method, path)
        assert answer[0] == status
        assert json.loads(answer[2])["success"] is False


def test_page_and_assets_are_served_with_a_strict_policy(server):
    port = server.port
    status, headers, html = call(port, "GET", "/")
    assert status == 200 and b'<script src="/static/app.js"' in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = call(port, "GET", "/static/app.js")
    assert status == 200 and "javascript" in headers["Content-Type"]


def test_each_worker_loads_the_model_and_the_log_holds_no_image(server, digits_png):
    encoded = base64.b64encode(digits_png).decode()
    body = json.dumps({"image": f"data:image/png;base64,{encoded}"})
    assert call(server.port, "POST", "/api/digit_recognize", body, {"Content-Type": "application/json"})[0] == 200
    # A big upload runs gunicorn.conf.py's post_request, which hands the memory it used back.
    body, content_type = multipart({"file": ("big.png", padded(digits_png, 1_000_000))})
    assert call(server.port, "POST", "/api/digit_recognize", body, {"Content-Type": content_type})[0] == 200
    # The access log line is written after the answer is sent: wait for it, like for the loads.
    server.wait_for(lambda: server.log().count("model digit_cnn (") >= WORKERS)
    server.wait_for(lambda: '"POST /api/digit_recognize HTTP/1.1" 200' in server.log())
    log = server.log()
    assert log.count("Booting worker") == WORKERS
    assert encoded[:40] not in log and "iVBOR" not in log
    assert "Exception in post_request hook" not in log


HEAP = """
import ctypes, runpy, sys, threading
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
hooks = runpy.run_path("gunicorn.conf.py")
if sys.argv[1] == "post_fork":
    hooks["post_fork"](None, None)
block = bytearray(24 << 20)
mapped = libc.mallinfo2().hblkhd >= 24 << 20
del block
print(mapped, libc.mallinfo2().fordblks >= 24 << 20)
thread = threading.Thread(target=bytearray, args=(1 << 16,))
thread.start()
thread.join()
libc.malloc_stats()
"""


@pytest.mark.parametrize("hook, answer, arenas", [("post_fork", "False True", 1), ("none", "True False", 2)])
def test_a_worker_keeps_an_images_memory_for_the_next_request(hook, answer, arenas):
    """gunicorn.conf.py's post_fork: a 24 MB block, an image's pixels, comes from the heap and stays
    there once freed, for the next request, until post_request trims; and a thread allocates from
    the main arena, which that trim hands back whole. With glibc's defaults the block is mapped for
    itself and unmapped at once, and a thread gets an arena of its own."""
    done = subprocess.run([sys.executable, "-c", HEAP, hook], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == answer.split()
    assert re.findall(r"^Arena (\d+):", done.stderr, re.M) == [str(n) for n in range(arenas)]


def test_metrics_add_up_every_workers_answers_in_per_process_files(server):
    """Whichever worker answers GET /metrics counts what every worker did: each loaded the model
    once, and the health probes are all there, from files kept per worker, not per request."""
    def count(text, line):
        return sum(float(row.rsplit(" ", 1)[1]) for row in text.splitlines() if row.startswith(line))

    health = 'digit_reader_requests_total{endpoint="/api/health",method="GET",status="200"}'
    before = count(call(server.port, "GET", "/metrics")[2].decode(), health)
    for i in range(8):
        assert call(server.port, "GET", "/api/health", headers={"X-Request-ID": f"probe-{i}"})[0] == 200
    for _ in range(4):  # new connections, so either worker may answer
        status, headers, raw = call(server.port, "GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert count(raw.decode(), health) - before == 8
        assert count(raw.decode(), 'digit_reader_model_load_seconds_count{model="digit_cnn"}') == WORKERS
    server.wait_for(lambda: "probe-7" in server.log())
    assert all('"GET /api/health HTTP/1.1" 200' in line for line in server.log().splitlines() if "probe-" in line)
    workers = re.findall(r"Booting worker with pid: (\d+)", server.log())
    folders = {path.parent for pid in workers for path in Path("/dev/shm").glob(f"digit-reader-metrics-*/*_{pid}.db")}
    assert len(folders) == 1
    names = {path.name for path in folders.pop().iterdir()}  # a worker that answered nothing may lack a counter file
    assert {f"histogram_{pid}.db" for pid in workers} <= names <= {f"{kind}_{pid}.db" for kind in ("counter", "histogram")
                                                                   for pid in workers}


def test_start_up_prints_no_tensorflow_noise(server):
    log = server.log()
    for noise in ("absl::InitializeLog", "cuInit", "oneDNN custom operations", "cuda drivers", "cpu_feature_guard"):
        assert noise not in log


def publish(folder, source, version):
    """Publish a shipped model as `served.keras`, as training does: its runtime artifacts first, then
    the model in one step, then its card."""
    place_model(folder, ".served.partial", source, link=False)
    for artifact in folder.glob(".served.partial.*onnx"):
        artifact.replace(folder / artifact.name.replace(".served.partial", "served"))
    meta = {**json.loads((ROOT / "models" / f"{source}.json").read_text()), "name": "served", "date": version}
    model_io.publish(folder / ".served.partial.keras", folder / "served.keras", meta)


def test_every_worker_serves_the_model_file_on_disk(tmp_path, digits_png, monkeypatch):
    """Replaced while serving, every worker's next answer is read by the new file and names it;
    deleted, every worker answers 503; stopped, the metrics folder is gone."""
    models = tmp_path / "models"
    models.mkdir()
    publish(models, "digit_linear", "v1")
    monkeypatch.setenv("HANDWRITING_MODELS_DIR", str(models))
    monkeypatch.setenv("HANDWRITING_MODEL", str(models / "served.keras"))
    body, content_type = multipart({"file": ("digits.png", digits_png)})

    def answers(count=2 * WORKERS):
        return [call(running.port, "POST", "/api/digit_recognize", body, {"Content-Type": content_type})
                for _ in range(count)]

    run = started(tmp_path, WORKERS, 2)
    running = next(run)
    try:
        assert {json.loads(raw)["model"]["version"] for _, _, raw in answers()} == {"v1"}
        publish(models, "digit_cnn", "v2")
        assert {json.loads(raw)["model"]["version"] for _, _, raw in answers()} == {"v2"}
        (models / "served.keras").unlink()
        assert {(status, json.loads(raw)["error"]["code"]) for status, _, raw in answers()} == {(503, "model_unavailable")}
        assert call(running.port, "GET", "/api/ready")[0] == 503
        workers = re.findall(r"Booting worker with pid: (\d+)", running.log())
        folders = {p.parent for pid in workers for p in Path("/dev/shm").glob(f"digit-reader-metrics-*/*_{pid}.db")}
        assert len(folders) == 1
    finally:
        run.close()
    assert not folders.pop().exists()


def test_a_missing_model_is_an_error_in_the_start_up_log(tmp_path):
    port, log_path = free_port(), tmp_path / "server.log"
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1", "HANDWRITING_MODEL": str(tmp_path / "none.keras")}
    with open(log_path, "w") as log:
        process = subprocess.Popen(["./run_app.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    running = Server(port, log_path, process)
    try:
        running.wait_for(lambda: "ERROR" in running.log())
        line = next(row for row in running.log().splitlines() if "ERROR" in row)
        assert "none.keras" in line and "/api/ready answers 503" in line
        running.wait_for(lambda: ready(port) is False and call(port, "GET", "/api/health")[0] == 200)
        assert call(port, "GET", "/api/ready")[0] == 503
    finally:
        process.terminate()
        process.wait(timeout=60)
