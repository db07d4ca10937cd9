"""The load test, issue #5: a short bounded run of handwriting.bench.load against the real server it
starts, and proof, against a small server that misbehaves on purpose, that what it counts is counted."""
import json
import threading
from collections import Counter
from http.server import ThreadingHTTPServer

import numpy as np
import pytest

from handwriting.bench import cases, load
from handwriting.bench.__main__ import parse_args
from helpers import JsonHandler


def run(tmp_path, mnist_path, argv):
    """handwriting.bench.load.run as `python -m handwriting.bench --load ARGV` runs it: the report it wrote,
    and whether it exited 1 for a failed check."""
    args = parse_args(["--load", "--json", str(tmp_path / "load.json"), "--data", str(mnist_path), *argv])
    try:
        load.run(args)
        failed = False
    except SystemExit as exit:
        failed = exit.code == 1
    return json.loads(args.json.read_text()), failed


@pytest.mark.server
@pytest.mark.slow
def test_a_short_load_gets_every_answer_the_contract_names(tmp_path, mnist_path):
    report, failed = run(tmp_path, mnist_path, ["--requests", "60", "--clients", "4", "--soak", "0"])
    result = report["load"]
    assert result["requests"] == 60 and report["started_here"]
    assert result["unexpected"] == 0, result["unexpected_examples"]
    assert result["dropped"] == 0, result["dropped_examples"]
    assert report["server_events"] == {"worker timeouts": 0, "workers booted": 0, "tracebacks": 0, "workers unchanged": True}
    assert set(result["latency_ms"]) == {"all", *cases.WEIGHTS}
    assert report["passed"] and not failed


def test_the_schedule_sends_every_case_and_keeps_the_mix():
    pool = [cases.Case(f"{group} {i}", group, "GET", "/", None, None, 200) for group in cases.WEIGHTS for i in range(3)]
    assert {case.name for case in cases.schedule(pool, len(pool), np.random.default_rng(0))} == {c.name for c in pool}
    shares = Counter(case.group for case in cases.schedule(pool, 4000, np.random.default_rng(1)))
    for group, weight in cases.WEIGHTS.items():
        assert shares[group] / 4000 == pytest.approx(weight, abs=0.03)


def test_memory_trend_sees_a_leak_through_the_noise():
    noise = np.random.default_rng(2).uniform(-30, 30, 10)  # MB: a threaded worker's allocator at rest
    steps = [(500 * (i + 1), 800 + wobble) for i, wobble in enumerate(noise)]
    assert abs(load.memory_trend(steps)["growth"]) < load.MAX_GROWTH
    leaking = [(done, mb + 0.02 * done) for done, mb in steps]  # 20 KB a request: +90 MB over the soak
    assert load.memory_trend(leaking)["growth"] > load.MAX_GROWTH


class Misbehaving(JsonHandler):
    """/ok answers 200, /teapot an error the cases do not expect, /drop closes without a word."""

    def do_GET(self):
        if self.path == "/drop":
            self.close_connection = True
            return
        status, body = (200, {"success": True}) if self.path == "/ok" else (418, {"success": False, "error": {"code": "teapot"}})
        self.send_json(status, body)


@pytest.fixture
def misbehaving():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_unexpected_answers_and_dropped_connections_are_counted(misbehaving):
    ok = cases.Case("ok", "canvas", "GET", "/ok", None, None, 200)
    teapot = cases.Case("teapot", "hostile", "GET", "/teapot", None, None, 404, "not_found")
    drop = cases.Case("drop", "hostile", "GET", "/drop", None, None, 200)
    tally = load.Tally()
    load.drive("127.0.0.1", misbehaving, [ok, teapot, drop, ok] * 5, 2, tally)
    assert tally.sent == 20 and tally.statuses == Counter({200: 10, 418: 5})
    assert sorted(set(tally.unexpected)) == [("teapot", 418, "teapot")] and len(tally.unexpected) == 5
    assert [name for name, _ in tally.dropped] == ["drop"] * 5


@pytest.mark.slow
def test_a_server_given_by_url_that_breaks_the_contract_fails_the_run(tmp_path, mnist_path, misbehaving):
    report, failed = run(tmp_path, mnist_path, ["--url", f"127.0.0.1:{misbehaving}", "--requests", "30", "--soak", "0"])
    assert failed and not report["passed"] and not report["started_here"]
    assert report["target"] == f"http://127.0.0.1:{misbehaving}" and report["server_events"] is None
    assert report["load"]["requests"] == 30 and report["load"]["unexpected"] + report["load"]["dropped"] == 30
