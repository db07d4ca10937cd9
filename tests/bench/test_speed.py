"""The pieces of the speed benchmark (handwriting.bench.speed), without timing anything: the naive reader
reads what the engine reads, the HTTP clients count what a stub server answers, and the helpers
compute what they say."""
import os
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer

import cv2
import numpy as np
import pytest
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from handwriting.bench import common, speed
from handwriting.pages import synth
from helpers import JsonHandler, compose, png


def test_rss_of_this_process_is_its_vmrss():
    status = open(f"/proc/{os.getpid()}/status").read()
    kilobytes = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    assert common.rss_mb(os.getpid()) == pytest.approx(kilobytes * 1024 / 1e6, rel=0.2)


def test_cpu_time_grows_with_work_and_not_with_sleep():
    me = [os.getpid()]
    before = common.cpu_ms(me)
    sum(i * i for i in range(3_000_000))
    busy = common.cpu_ms(me)
    assert busy > before
    assert common.cpu_ms(me + [2 ** 22 + 12345]) >= busy  # a process that does not exist counts nothing


def test_children_are_found_by_parent():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in common.children(os.getpid())
        assert common.children(child.pid) == []
    finally:
        child.kill()
        child.wait()


def test_machine_names_a_cpu_and_its_cores():
    found = common.machine()
    assert found["cpu"] and found["cores"] >= 1 and found["load_average"] >= 0


def test_multipart_body_carries_the_file():
    data = bytes(range(256)) * 300  # over werkzeug's 64 KiB read size, with every byte value
    body, content_type = common.multipart("file", "x.png", data)
    environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
    _, form, files = parse_form_data(environ)
    assert not form and files["file"].filename == "x.png" and files["file"].read() == data


@pytest.mark.parametrize("index", range(4))  # synth draws either polarity; both must come out alike
def test_canvas_image_is_white_on_opaque_black(mnist, index):
    sample = speed.canvas_png(synth.generate("single", mnist.x_test, mnist.y_test, 0, index))
    image = cv2.imdecode(np.frombuffer(sample.data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (280, 280, 4)
    assert (image[..., 3] == 255).all()
    assert np.median(image[..., :3]) == 0 and image[..., :3].max() == 255
    assert len(sample.text) == 1


def test_naive_reader_reads_what_the_engine_reads(recognizer, mnist):
    data = png(compose(mnist, (4, 0, 9)))
    naive = speed.NaiveRecognizer(recognizer)
    slow, batched = naive.read(data), recognizer.read(data)
    assert len(slow.digits) >= 3 and slow.text == batched.text  # the engine's own accuracy is tested elsewhere
    assert [d.box for d in slow.digits] == [d.box for d in batched.digits]
    assert [d.probability for d in slow.digits] == pytest.approx([d.probability for d in batched.digits], abs=1e-4)
    assert naive.calls >= len(slow.digits)  # one model.predict per crop, not one per image
    assert len(naive.classify(np.zeros((0, 28, 28), np.uint8))) == 0


class Stub(JsonHandler):
    """Answers every POST as the API does, with an elapsed_ms, and counts them."""

    count = 0
    lengths = []  # of the bodies received, in order
    lock = threading.Lock()

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.rfile.read(length)
        with Stub.lock:
            Stub.count += 1
            Stub.lengths.append(length)
        self.send_json(200, {"success": True, "text": "7", "elapsed_ms": 1.5})


@pytest.fixture()
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Stub.count, Stub.lengths = 0, []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_latencies_use_the_answers_elapsed_ms(stub):
    body, content_type = common.multipart("file", "x.png", b"image")
    result = speed.latencies(stub, [(body, content_type)], requests=5, warmup=2)
    assert Stub.count == 7
    assert result["server_ms"] == {"p50": 1.5, "p95": 1.5}
    assert result["round_trip_ms"]["p95"] >= result["round_trip_ms"]["p50"] > 0
    assert result["read"] == "7" and result["server_cpu_ms"] == 0  # no workers given


def test_the_mix_is_stress_pages_of_each_upright_condition_in_turn(mnist_path):
    from handwriting.bench.batch import MIXED
    from handwriting.pages import stress

    digits = stress.load_digits(mnist_path)
    uploads = speed.mix_uploads(digits, 3, count=len(MIXED) + 1)
    assert len(uploads) == len(MIXED) + 1
    for index in (0, 1, len(MIXED)):
        body, content_type = uploads[index]
        page = stress.generate(MIXED[index % len(MIXED)], digits, 3, index // len(MIXED)).image_bytes
        environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
        assert parse_form_data(environ)[2]["file"].read() == page


def test_latencies_send_the_uploads_in_turn(stub):
    uploads = [common.multipart("file", "x.png", b"x" * size) for size in (10, 20, 30)]
    result = speed.latencies(stub, uploads, requests=len(uploads), warmup=1)
    assert Stub.lengths == [len(uploads[i][0]) for i in (0, 1, 2, 0)]  # each measured once after the warm-up
    assert result["server_ms"] == {"p50": 1.5, "p95": 1.5}


def test_throughput_counts_every_answer(stub):
    body, content_type = common.multipart("file", "x.png", b"image")
    result = speed.throughput(stub, body, content_type, clients=3, seconds=0.2)
    assert result["errors"] == 0 and result["clients"] == 3
    assert result["requests"] == Stub.count - 3  # each client's first request is not counted
    assert result["requests_per_s"] == pytest.approx(result["requests"] / result["seconds"])


def test_a_burst_sends_every_upload_at_once(stub):
    body, content_type = common.multipart("file", "x.png", b"image")
    assert speed.burst(stub, body, content_type, 4) == [200] * 4 and Stub.count == 4


def test_the_huge_upload_is_small_and_decodes_to_36_megapixels(mnist):
    number = synth.number_image(mnist.x_test, mnist.y_test, 0)
    huge = speed.huge_png(number)
    assert len(huge.data) < 1024 * 1024 and huge.text == number.text
    assert cv2.imdecode(np.frombuffer(huge.data, np.uint8), cv2.IMREAD_COLOR).shape == (6000, 6000, 3)


def test_table_marks_targets_met_and_missed():
    rows = [
        speed.Figure("fast", 10.0, "10 ms", 15.0, target_text="≤ 15 ms"),
        speed.Figure("slow", 20.0, "20 ms", 15.0, target_text="≤ 15 ms"),
        speed.Figure("many", 200.0, "200 /s", 150.0, ceiling=False, target_text="≥ 150 /s"),
        speed.Figure("refused", None, "HTTP 413", 250.0, target_text="≤ 250 ms"),
        speed.Figure("info", 3.0, "3 ms"),
    ]
    assert [row.passed for row in rows] == [True, False, True, False, None]
    markdown = speed.table(rows, markdown=True).splitlines()
    assert markdown[0] == "| figure | measured | target | result |"
    assert markdown[3].endswith("| FAIL |") and markdown[6].endswith("|  |")
    assert "pass" in speed.table(rows, markdown=False)
