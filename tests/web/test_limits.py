"""Hostile input, round two (issue #14), through ./run_app.sh's real gunicorn workers: the small
files that once cost a minute of CPU or gigabytes of memory, requests that once got a 500 or a
wrong refusal, and the probes under pathological reads and a slowloris. Every file is generated
here (handwriting.bench.pathological); each case asserts its bound with a wide margin, as the
machine is shared: the benchmark (`--load --pathological 8 --slowloris 50`) measures the targets."""
import base64
import http.client
import json
import socket
import threading
import time

import pytest

from handwriting import config
from handwriting.bench import attack, common, load, pathological
from helpers import multipart

pytestmark = [pytest.mark.server, pytest.mark.slow]

URL = "/api/digit_recognize"
WITHIN_S = 30  # wall seconds: a CPU budget of 2.5 s on a machine shared many times over; once 60 s and more
RISE_MB = 800  # the most one request may add to a worker's peak memory
PROBE_WITHIN_S = 5  # a health probe under attack: the benchmark's target is 1 s, this is the alarm
READ = {200, 422}  # read, or too_complex on a machine so busy that the time budget ran out
EXPECTED = {  # the statuses each file may get, and the code of a refusal
    "hairlines": (READ, "too_complex"), "dot grid": (READ, "too_complex"), "combs": (READ, "too_complex"),
    "1-row strip": (READ, "too_complex"), "16-bit PNG": (READ, "too_complex"),
    "transparent RGBA": ({422}, "too_many_bytes"), "float TIFF": ({422}, "too_many_bytes"),
    "JPEG scans": ({422}, "too_complex"), "GIF comments": ({422}, "too_complex"), "RLE BMP": ({422}, "too_complex"),
}


@pytest.fixture(scope="module")
def watch():
    with common.serving() as server:
        server.wait_ready()
        yield load.Watch(server)


def post(watch, body, headers):
    """(status, JSON body, seconds, the biggest rise of a worker's peak memory in MB), after which no
    worker was replaced or logged a traceback."""
    since = watch.log_size()
    for pid in watch.workers:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")  # the peak (VmHWM) starts again from the resident memory now
    before = {pid: common.rss_mb(pid) for pid in watch.workers}
    connection = http.client.HTTPConnection("127.0.0.1", watch.server.port, timeout=120)
    started = time.perf_counter()
    try:
        connection.request("POST", URL, body, headers)
        response = connection.getresponse()
        status, answer = response.status, json.loads(response.read())
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    rise = max(common.rss_mb(pid, "VmHWM") - mb for pid, mb in before.items())
    events = watch.events(since)
    assert events == {"worker timeouts": 0, "workers booted": 0, "tracebacks": 0, "workers unchanged": True}, events
    return status, answer, seconds, rise


def upload(watch, data, filename="x.png"):
    body, content_type = multipart({"file": (filename, data)})
    return post(watch, body, {"Content-Type": content_type})


def refused(answer, status, code):
    got, body, _, _ = answer
    assert (got, body["error"]["code"]) == (status, code), body


@pytest.mark.parametrize("name", pathological.CASES)
def test_a_pathological_file_is_answered_within_the_budget_and_the_memory_bound(watch, name):
    statuses, code = EXPECTED[name]
    status, body, seconds, rise = upload(watch, pathological.CASES[name]())
    assert status in statuses, body
    if status == 200:
        assert body["truncated"] == bool(body["limits"])
    else:
        assert body["error"]["code"] == code, body
    assert seconds < WITHIN_S, f"{name}: {seconds:.1f} s"
    assert rise < RISE_MB, f"{name}: +{rise:.0f} MB"


def test_combs_are_read_with_a_note_that_the_crops_ran_out(watch):
    status, body, _, _ = upload(watch, pathological.combs())
    if status == 200:  # else too_complex, checked above
        assert body["truncated"] and "max_crops" in body["limits"]
        assert body["count"] <= config.settings().max_crops


def test_json_nested_thousands_deep_is_400(watch):
    deep = b'{"image": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused(post(watch, deep, {"Content-Type": "application/json"}), 400, "json_too_deep")


def test_an_option_of_hundreds_of_digits_is_400(watch, digits_png):
    payload = {"image": "data:image/png;base64," + base64.b64encode(digits_png).decode(), "min_confidence": 10 ** 400}
    refused(post(watch, json.dumps(payload), {"Content-Type": "application/json"}), 400, "invalid_option")


def test_a_latin_1_file_name_still_reads_the_file(watch, digits_png):
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="caf\xe9.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + digits_png + b"\r\n--b--\r\n")
    status, answer, _, _ = post(watch, body, {"Content-Type": "multipart/form-data; boundary=b"})
    assert status == 200 and answer["text"] == "721", answer


def test_a_form_field_over_its_limit_says_so(watch, digits_png):
    body = (b'--b\r\nContent-Disposition: form-data; name="min_confidence"\r\n\r\n' + b"0" * 200_000
            + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="d.png"\r\n\r\n' + digits_png + b"\r\n--b--\r\n")
    answer = post(watch, body, {"Content-Type": "multipart/form-data; boundary=b"})
    refused(answer, 413, "field_too_large")
    assert "131,072 bytes" in answer[1]["error"]["message"]


def test_json_labelled_multipart_is_not_called_over_the_upload_limit(watch):
    body = json.dumps({"image": "A" * 380_000}).encode()
    refused(post(watch, body, {"Content-Type": "multipart/form-data; boundary=b"}), 413, "field_too_large")


def test_a_body_over_the_limit_is_refused_before_any_100_continue(watch):
    """The client waits for `100 Continue` before it sends 20 MB: it must get the 413 instead, at once."""
    with socket.create_connection(("127.0.0.1", watch.server.port), timeout=WITHIN_S) as sock:
        started = time.perf_counter()
        sock.sendall(f"POST {URL} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 20000000\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())
        first = sock.recv(65536).split(b"\r\n", 1)[0]
        assert first.startswith(b"HTTP/1.1 413 "), first
        assert time.perf_counter() - started < WITHIN_S


def test_health_answers_while_pathological_reads_run(watch):
    """Eight of the slowest files at once, more than the workers have reading slots."""
    target = ("127.0.0.1", watch.server.port)
    bodies = [multipart({"file": ("x.png", pathological.CASES[kind]())}) for kind in attack.AT_ONCE_KINDS]
    probes = attack.Probes(target)
    probes.start()
    senders = [threading.Thread(target=attack.send, args=(target, *bodies[i % len(bodies)])) for i in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    health = probes.stop()
    assert health["probes"] > 0 and health["worst_s"] is not None and health["worst_s"] < PROBE_WITHIN_S, health
    assert sum(s is None for s in probes.seconds) == 0, health


def test_a_slowloris_of_50_connections_leaves_probes_and_reads_served(watch, digits_png):
    target = ("127.0.0.1", watch.server.port)
    trickle = attack.Trickle(target, 50)
    trickle.start()
    try:
        time.sleep(attack.TRICKLE_EVERY_S)
        probes = attack.Probes(target)
        probes.start()
        reads = [attack.send(target, *multipart({"file": ("d.png", digits_png)})) for _ in range(3)]
        health = probes.stop()
    finally:
        trickle.stop()
    assert [status for status, _, _ in reads] == [200] * 3
    assert max(seconds for _, _, seconds in reads) < WITHIN_S
    assert None not in probes.seconds and health["worst_s"] < PROBE_WITHIN_S, health
