"""Load and soak test of the service, issue #5: `python -m handwriting.bench --load` (see --help).

Drives the real server (./run_app.sh on a free port, or --url) on loopback from concurrent keep-alive
clients with a seeded mix of canvas drawings, multi-digit PNGs, 12-MP photo JPEGs (handwriting.pages.synth)
and hostile requests, each with the status and code the API contract names. It counts unexpected
answers and dropped connections, watches a server it started for worker timeouts and restarts, and
in the soak reads each worker's memory every 500 requests: the trend from the first reading to the
last may not climb by more than 5 %. `--pathological N` and `--slowloris N` add the attack phases of
attack.py (issue #14), each while /api/health is probed.
"""
import contextlib
import http.client
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import numpy as np

from handwriting import cli
from handwriting.bench import attack, common
from handwriting.bench.cases import hostile_cases, schedule, valid_cases

REQUESTS, CLIENTS, SOAK = 2000, 16, 5000  # the defaults, also for a bench parser that shares the flags
SOAK_BASELINE = 500  # soak requests between memory readings; the first is the baseline: pools filled, model warm
MAX_GROWTH = 0.05  # worker memory may grow this much from the baseline to the end of the soak
TIMEOUT_S = 120  # per request: far above any answer, so only a hung server reaches it
LOG_EVENTS = {"worker timeouts": "WORKER TIMEOUT", "workers booted": "Booting worker", "tracebacks": "Traceback"}


def add_arguments(parser):
    """The flags of --load alone; --requests and --clients are bench's, shared with --speed."""
    parser.add_argument("--soak", type=cli.at_least(0), default=SOAK, help=f"--load: requests of the soak, 0 for none (default: {SOAK})")
    parser.add_argument("--url", help="--load: a running server, e.g. http://127.0.0.1:5000 (default: start ./run_app.sh)")
    parser.add_argument("--pathological", type=cli.at_least(0), default=0,
                        help="--load: send issue #14's files one by one, then this many at once (default: 0, none)")
    parser.add_argument("--slowloris", type=cli.at_least(0), default=0,
                        help="--load: connections of a slowloris phase, e.g. 50 (default: 0, none)")


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
    latency = {group: common.spread(values) for group, values in sorted(tally.ms.items())}
    if every:
        latency["all"] = common.spread(every)
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


class Watch:
    """The workers and the log of a server this process started, from the end of its start-up on."""

    def __init__(self, server):
        self.server = server
        self.workers, _ = server.wait_workers()
        self.started = self.log_size()

    def log_size(self):
        return len(self.server.log_path.read_text(errors="replace"))

    def rss_mb(self):
        return {str(pid): common.rss_mb(pid) for pid in self.workers}

    def events(self, since=None):
        """Worker timeouts, boots and tracebacks logged since start-up (or since log size `since`),
        and whether the workers are still the processes that started."""
        log = self.server.log_path.read_text(errors="replace")[self.started if since is None else since:]
        found = {name: log.count(marker) for name, marker in LOG_EVENTS.items()}
        found["workers unchanged"] = common.children(self.server.process.pid) == self.workers
        return found


def _target(url):
    parts = urlsplit(url if "//" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        cli.fail(f"--url must be http://HOST[:PORT], not {url!r}", common.PROG)
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
    return rows + attack.checks(report)


def table(report, markdown):
    rows = [(name, value, "pass" if passed else "FAIL") for name, value, passed in checks(report)]
    for group, spread in report["load"]["latency_ms"].items():
        rows.append((f"load: {group} p50 / p95", f"{spread['p50']:.0f} / {spread['p95']:.0f} ms", ""))
    rows.append(("load: throughput", f"{report['load']['requests_per_s']:.1f} requests/s", ""))
    for pid, memory in (report["soak"] or {}).get("rss_mb", {}).items():
        rows.append((f"worker {pid} MB every {SOAK_BASELINE}", " ".join(f"{mb:.0f}" for _, mb in memory["steps"]), ""))
    for name, row in (report.get("one_by_one") or {}).items():
        rise = "" if row["rise_mb"] is None else f", +{row['rise_mb']:.0f} MB"
        rows.append((f"pathological: {name}", f"{row['status']} {row['code'] or ''} in {row['seconds']:.2f} s{rise}", ""))
    for phase in ("at_once", "slowloris"):
        if report.get(phase):
            health = report[phase]["health"]
            worst = "none answered" if health["worst_s"] is None else f"{health['p50_s']:.3f} / {health['worst_s']:.3f} s"
            rows.append((f"{phase}: health p50 / worst", worst, ""))
    return common.table(("check", "value", "result"), rows, markdown, "|---|---|---|")


def run(args):
    """The --load mode: a load phase of --requests, then a soak of --soak, against --url or a server
    started here; exits 1 when any check fails."""
    args.requests = REQUESTS if args.requests is None else args.requests
    args.clients = CLIENTS if args.clients is None else args.clients
    target = _target(args.url) if args.url else None
    mnist = common.load_mnist(args.data)
    rng = np.random.default_rng(args.seed)
    print("building the request pool...", file=sys.stderr, flush=True)
    cases = valid_cases(mnist, args.seed) + hostile_cases(mnist, args.seed)
    with common.serving(args.model) if target is None else contextlib.nullcontext() as server:
        watch = None
        if server is not None:
            server.wait_ready()
            watch = Watch(server)
            target = ("127.0.0.1", server.port)
        host, port = target
        report = {"machine": common.machine(), "target": f"http://{host}:{port}", "started_here": server is not None,
                  "clients": args.clients, "seed": args.seed, "cases": [c.name for c in cases]}
        tally = Tally()
        report["load"] = summary(tally, drive(host, port, schedule(cases, args.requests, rng), args.clients, tally))
        report["soak"] = _soak(host, port, cases, args, rng, watch) if args.soak else None
        if args.pathological:
            report["one_by_one"] = attack.one_by_one(target, watch.workers if watch else None)
            report["at_once"] = attack.at_once(target, args.pathological)
        if args.slowloris:
            normal = next(case for case in cases if case.group == "number")
            report["slowloris"] = attack.slowloris(target, args.slowloris, (normal.body, normal.content_type))
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
