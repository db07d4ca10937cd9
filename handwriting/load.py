"""Load and soak test of the service, issue #5: `python -m handwriting.bench --load` (see --help).

Drives the real server (./run_app.sh on a free port, or --url) on loopback from concurrent keep-alive
clients with a seeded mix of canvas drawings, multi-digit PNGs, 12-MP photo JPEGs (handwriting.synth)
and hostile requests, each with the status and code the API contract names. It counts unexpected
answers and dropped connections, watches a server it started for worker timeouts and restarts, and
in the soak reads each worker's memory every 500 requests: the trend from the first reading to the
last may not climb by more than 5 %.
"""
import base64
import contextlib
import http.client
import json
import sys
import threading
import time
import zlib
from collections import Counter
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np

from handwriting import cli, config, speed

REQUESTS, CLIENTS, SOAK = 2000, 16, 5000  # the defaults, also for a bench parser that shares the flags
SOAK_BASELINE = 500  # soak requests between memory readings; the first is the baseline: pools filled, model warm
MAX_GROWTH = 0.05  # worker memory may grow this much from the baseline to the end of the soak
TIMEOUT_S = 120  # per request: far above any answer, so only a hung server reaches it
LOG_EVENTS = {"worker timeouts": "WORKER TIMEOUT", "workers booted": "Booting worker", "tracebacks": "Traceback"}
WEIGHTS = {"canvas": 0.35, "number": 0.35, "photo": 0.05, "hostile": 0.25}  # share of each group in the mix
URL = "/api/digit_recognize"


class Case(NamedTuple):
    """One request and the answer the contract names for it."""

    name: str
    group: str  # a key of WEIGHTS
    method: str
    path: str
    body: bytes | None
    content_type: str | None
    status: int
    code: str | None = None  # the error code of a refusal



def add_arguments(parser):
    """The flags of --load alone; --requests and --clients are bench's, shared with --speed."""
    parser.add_argument("--soak", type=cli.at_least(0), default=SOAK, help=f"--load: requests of the soak, 0 for none (default: {SOAK})")
    parser.add_argument("--url", help="--load: a running server, e.g. http://127.0.0.1:5000 (default: start ./run_app.sh)")


# ---- what is sent ------------------------------------------------------------------------------


def _png_chunk(kind, data):
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_bomb(side=30_000):
    """A valid 1-bit black PNG of side x side pixels that is about side**2 / 8000 bytes: 900 MP, 110 KB."""
    packer = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # filter byte 0, then the bits of one row
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = side.to_bytes(4, "big") * 2 + bytes((1, 0, 0, 0, 0))  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _upload(name, group, filename, data, status=200, code=None):
    body, content_type = speed.multipart("file", filename, data)
    return Case(name, group, "POST", URL, body, content_type, status, code)


def _json(name, group, payload, status=200, code=None):
    return Case(name, group, "POST", URL, json.dumps(payload).encode(), "application/json", status, code)


def _data_url(data):
    return "data:image/png;base64," + base64.b64encode(data).decode()


def hostile_cases(mnist, seed=0):
    """Requests the API must refuse, each with its contracted status and code."""
    from handwriting import synth

    valid_png = synth.generate("clean", mnist.x_test, mnist.y_test, seed, 0).data
    over_limit = config.settings().max_upload_bytes + 1  # the server's own limit, from the same environment
    noise = np.random.default_rng(seed).integers(0, 256, over_limit, dtype=np.uint8).tobytes()
    return [
        _upload("empty file", "hostile", "empty.png", b"", 400, "empty_file"),
        _upload("text named .png", "hostile", "notes.png", b"these are not pixels\n" * 50, 400, "not_an_image"),
        _upload("truncated PNG", "hostile", "cut.png", valid_png[: len(valid_png) // 2], 400, "corrupt_image"),
        _upload("SVG named .png", "hostile", "d.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', 415, "unsupported_type"),
        _upload("PNG bomb 30000x30000", "hostile", "bomb.png", png_bomb(), 422, "too_many_pixels"),
        _upload("upload over the limit", "hostile", "big.png", noise, 413, "too_large"),
        Case("multipart without file", "hostile", "POST", URL, *speed.multipart("image", "d.png", valid_png), 400, "missing_file"),
        _json("JSON without image", "hostile", {"min_confidence": 0.5}, 400, "invalid_json"),
        _json("bad base64", "hostile", {"image": "data:image/png;base64,@@@@"}, 400, "bad_base64"),
        _json("bad option", "hostile", {"image": _data_url(valid_png), "min_confidence": 2}, 400, "invalid_option"),
        Case("GET on the POST endpoint", "hostile", "GET", URL, None, None, 405, "method_not_allowed"),
        Case("unknown path", "hostile", "GET", "/api/nothing", None, None, 404, "not_found"),
    ]


def valid_cases(mnist, seed=0):
    """The readable part of the mix, from MNIST test digits: canvas drawings sent as the page sends
    them (a JSON data URL), multi-digit PNGs and 12-MP photo JPEGs as multipart uploads."""
    from handwriting import synth

    def sample(kind, index):
        return synth.generate(kind, mnist.x_test, mnist.y_test, seed, index)

    canvas = [_json(f"canvas {i}", "canvas", {"image": _data_url(sample("canvas", i).data)}) for i in range(6)]
    numbers = [
        _upload(f"{kind} {i}", "number", f"{kind}-{i}.png", sample(kind, i).data)
        for kind in ("clean", "multiline", "touching") for i in range(3)
    ]
    photos = [_upload(f"photo {i}", "photo", f"IMG_{i:04d}.jpg", sample("photo", i).data) for i in range(2)]
    return canvas + numbers + photos


def schedule(cases, count, rng):
    """`count` cases in random order, every case at least once when count allows, the rest drawn so
    that each group takes its WEIGHTS share."""
    groups = {group: [c for c in cases if c.group == group] for group in WEIGHTS}
    groups = {group: members for group, members in groups.items() if members}
    shares = np.array([WEIGHTS[group] for group in groups])
    picks = rng.choice(len(groups), max(0, count - len(cases)), p=shares / shares.sum())
    members = list(groups.values())
    drawn = [members[g][rng.integers(len(members[g]))] for g in picks]
    plan = (list(cases) + drawn)[:count]
    return [plan[i] for i in rng.permutation(len(plan))]


# ---- sending -----------------------------------------------------------------------------------


class Tally:
    """What the clients saw, merged under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.statuses = Counter()
        self.unexpected = []  # (case name, status, code) for each answer the contract does not name
        self.dropped = []  # (case name, error) for each request that got no answer
        self.ms = {}  # group -> round-trip milliseconds of its answered requests


def _verdict(case, status, raw):
    """The error code seen, and whether the answer is the one the contract names for the case."""
    try:
        body = json.loads(raw)
    except ValueError:
        return "<not JSON>", False
    if not isinstance(body, dict):
        return "<not an object>", False
    code = body.get("error", {}).get("code")
    expected = status == case.status and body.get("success") is (status == 200) and code == case.code
    return code, expected


def drive(host, port, plan, clients, tally):
    """Send every case of `plan` from `clients` threads, each on its own keep-alive connection, into
    `tally`; a connection that fails is counted as dropped and reopened. Returns the seconds taken."""
    order = iter(plan)
    take = threading.Lock()

    def client():
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        try:
            while True:
                with take:
                    case = next(order, None)
                if case is None:
                    return
                headers = {"Content-Type": case.content_type} if case.content_type else {}
                started = time.perf_counter()
                try:
                    connection.request(case.method, case.path, body=case.body, headers=headers)
                    response = connection.getresponse()
                    raw = response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    with tally.lock:
                        tally.sent += 1
                        tally.dropped.append((case.name, f"{type(error).__name__}: {error}"))
                    continue
                ms = (time.perf_counter() - started) * 1000.0
                code, expected = _verdict(case, response.status, raw)
                with tally.lock:
                    tally.sent += 1
                    tally.statuses[response.status] += 1
                    tally.ms.setdefault(case.group, []).append(ms)
                    if not expected:
                        tally.unexpected.append((case.name, response.status, code))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(min(clients, max(1, len(plan))))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def summary(tally, seconds):
    every = [ms for values in tally.ms.values() for ms in values]
    latency = {group: speed.spread(values) for group, values in sorted(tally.ms.items())}
    if every:
        latency["all"] = speed.spread(every)
    return {
        "requests": tally.sent,
        "seconds": seconds,
        "requests_per_s": tally.sent / seconds if seconds else None,
        "statuses": {str(status): n for status, n in sorted(tally.statuses.items())},
        "unexpected": len(tally.unexpected),
        "unexpected_examples": [list(example) for example in tally.unexpected[:20]],
        "dropped": len(tally.dropped),
        "dropped_examples": [list(example) for example in tally.dropped[:20]],
        "latency_ms": latency,
    }


# ---- the server --------------------------------------------------------------------------------


class Watch:
    """The workers and the log of a server this process started, from the end of its start-up on."""

    def __init__(self, server):
        self.server = server
        self.workers, _ = server.wait_workers()
        self.started = self.log_size()

    def log_size(self):
        return len(self.server.log_path.read_text(errors="replace"))

    def rss_mb(self):
        return {str(pid): speed.rss_mb(pid) for pid in self.workers}

    def events(self, since=None):
        """Worker timeouts, boots and tracebacks logged since start-up (or since log size `since`),
        and whether the workers are still the processes that started."""
        log = self.server.log_path.read_text(errors="replace")[self.started if since is None else since:]
        found = {name: log.count(marker) for name, marker in LOG_EVENTS.items()}
        found["workers unchanged"] = speed.children(self.server.process.pid) == self.workers
        return found


def _target(url):
    parts = urlsplit(url if "//" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        cli.fail(f"--url must be http://HOST[:PORT], not {url!r}", speed.PROG)
    return parts.hostname, parts.port or 80


def _soak(host, port, cases, args, rng, watch):
    """The soak in steps of SOAK_BASELINE requests with the clients idle after each, when the
    workers' memory is read: a leak climbs step after step, a filling allocator levels off."""
    tally, seconds, readings = Tally(), 0.0, []
    for done in range(0, args.soak, SOAK_BASELINE):
        step = min(SOAK_BASELINE, args.soak - done)
        seconds += drive(host, port, schedule(cases, step, rng), args.clients, tally)
        if watch:
            readings.append((done + step, watch.rss_mb()))
    report = summary(tally, seconds)
    if readings:
        report["rss_mb"] = {pid: memory_trend([(done, memory[pid]) for done, memory in readings]) for pid in readings[0][1]}
    return report


def memory_trend(steps):
    """Memory from the first reading to the last, both read off a straight line fitted through all
    of them: one reading of a threaded worker moves by a few per cent as the allocator's arenas fill
    and empty, while a leak is a trend."""
    done, mb = np.array(steps, float).T
    slope, offset = np.polyfit(done, mb, 1) if len(steps) > 1 else (0.0, mb[0])
    baseline, end = offset + slope * done[0], offset + slope * done[-1]
    return {"after": int(done[0]), "baseline": float(baseline), "end": float(end), "growth": float(end / baseline - 1.0),
            "steps": [[int(d), m] for d, m in steps]}


def checks(report):
    """(name, value as text, passed) for each thing the load test promises."""
    rows = []
    for phase in ("load", "soak"):
        if report.get(phase) is None:
            continue
        result = report[phase]
        rows.append((f"{phase}: unexpected statuses", f"{result['unexpected']} of {result['requests']}", result["unexpected"] == 0))
        rows.append((f"{phase}: dropped connections", str(result["dropped"]), result["dropped"] == 0))
    events = report.get("server_events")
    if events is not None:
        rows.append(("worker timeouts after start-up", str(events["worker timeouts"]), events["worker timeouts"] == 0))
        rows.append(("workers booted after start-up", str(events["workers booted"]), events["workers booted"] == 0))
        rows.append(("worker PIDs unchanged", str(events["workers unchanged"]), events["workers unchanged"]))
        rows.append(("tracebacks in the log", str(events["tracebacks"]), events["tracebacks"] == 0))
    for pid, memory in (report.get("soak") or {}).get("rss_mb", {}).items():
        text = f"{memory['baseline']:.0f} -> {memory['end']:.0f} MB ({100 * memory['growth']:+.1f} %)"
        rows.append((f"worker {pid} RSS trend, soak {memory['after']} -> end", text, memory["growth"] <= MAX_GROWTH))
    return rows


def table(report, markdown):
    rows = [(name, value, "pass" if passed else "FAIL") for name, value, passed in checks(report)]
    for group, spread in report["load"]["latency_ms"].items():
        rows.append((f"load: {group} p50 / p95", f"{spread['p50']:.0f} / {spread['p95']:.0f} ms", ""))
    rows.append(("load: throughput", f"{report['load']['requests_per_s']:.1f} requests/s", ""))
    for pid, memory in (report["soak"] or {}).get("rss_mb", {}).items():
        rows.append((f"worker {pid} MB every {SOAK_BASELINE}", " ".join(f"{mb:.0f}" for _, mb in memory["steps"]), ""))
    header = ("check", "value", "result")
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---|---|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows])


def run(args):
    """The --load mode: a load phase of --requests, then a soak of --soak, against --url or a server
    started here; exits 1 when any check fails."""
    from handwriting import bench

    args.requests = REQUESTS if args.requests is None else args.requests
    args.clients = CLIENTS if args.clients is None else args.clients
    target = _target(args.url) if args.url else None
    mnist = bench.load_mnist(args.data)
    rng = np.random.default_rng(args.seed)
    print("building the request pool...", file=sys.stderr, flush=True)
    cases = valid_cases(mnist, args.seed) + hostile_cases(mnist, args.seed)
    with speed.serving(args.model) if target is None else contextlib.nullcontext() as server:
        watch = None
        if server is not None:
            server.wait_ready()
            watch = Watch(server)
            target = ("127.0.0.1", server.port)
        host, port = target
        report = {"machine": speed.machine(), "target": f"http://{host}:{port}", "started_here": server is not None,
                  "clients": args.clients, "seed": args.seed, "cases": [c.name for c in cases]}
        tally = Tally()
        report["load"] = summary(tally, drive(host, port, schedule(cases, args.requests, rng), args.clients, tally))
        report["soak"] = _soak(host, port, cases, args, rng, watch) if args.soak else None
        report["server_events"] = watch.events() if watch else None
    rows = checks(report)
    report["passed"] = all(passed for _, _, passed in rows)
    print(table(report, args.markdown))
    for phase in ("load", "soak"):
        result = report[phase] or {}
        for example in result.get("unexpected_examples", []) + result.get("dropped_examples", []):
            print(f"{phase}: {example}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if not report["passed"]:
        raise SystemExit(1)
