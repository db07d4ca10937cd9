"""Speed of the service, issue #6: `python -m handwriting.bench --speed` (see --help).

Starts the real server (./run_app.sh, gunicorn's default configuration) on a free port and, side
by side, measures the server-side and round-trip latency of three reference images and of a mix of
stress benchmark pages (issue #20), requests per second from concurrent keep-alive clients, cold
start and memory per worker. Then, in this process, it compares the engine's one batched model call
per image with the way demos read: the same segmentation and normalisation, then one
`model.predict` per crop.
"""
import json
import sys
import threading
import time
from typing import NamedTuple

import cv2
import numpy as np

from handwriting import cli
from handwriting.bench import common
from handwriting.bench.accuracy import stress_digits
from handwriting.bench.common import (
    Client, children, cpu_ms, load_engine, load_mnist, machine, multipart, rss_mb, serving, spread,
)
from handwriting.engine import model_io
from handwriting.engine.recognition import Recognizer

IMAGES = {  # key: what the tables call it
    "canvas": "(a) 1-digit 280x280 canvas PNG",
    "number": "(b) 6-digit 1200x400 PNG",
    "photo": "(c) 12-MP photo JPEG",
}
WARMUP = 3  # requests or reads per image before the measured ones: first-use costs are not latency
HUGE_SIDE = 6000  # the huge uploads of issue #20: PNGs of under 1 MB that decode to 36 megapixels
HUGE_UPLOADS = 8  # sent at once, as a burst
SETTLE_S = 10.0  # idle seconds after the burst before a worker's memory is read
TRIM_SETTLE_S = 1.0  # after the last request of a kind: a worker trims its memory once its answer is sent
MIX_PAGES = 96  # issue #20's realistic mix: the stress benchmark's upright pages, two of each condition
IN_PROCESS_RUNS = 20  # reads per image by the engine, for the batched-versus-naive comparison
NAIVE_RUNS = 5  # the naive way is so much slower that a few reads tell its ratio well enough


class Figure(NamedTuple):
    """One row of the table: a measurement, and the target it must meet, if any."""

    name: str
    value: float | None
    text: str  # the value as printed, with its unit and context
    target: float | None = None
    ceiling: bool = True  # the value must be at most the target (else at least)
    target_text: str = ""

    @property
    def passed(self):
        if self.target is None:
            return None
        if self.value is None:  # not measured: the request was refused
            return False
        return self.value <= self.target if self.ceiling else self.value >= self.target


def add_arguments(parser):
    """The flags of --speed alone; --requests and --clients are bench's, shared with --load."""
    parser.add_argument("--seconds", type=cli.at_least(1), default=10, help="--speed: how long the clients send (default: 10)")


def canvas_png(sample):
    """A single-digit sample as the page's dark canvas exports it: white strokes on opaque black, RGBA."""
    image = cv2.imdecode(np.frombuffer(sample.data, np.uint8), cv2.IMREAD_COLOR)
    if image.mean() > 127:
        image = 255 - image
    return sample._replace(data=cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))[1].tobytes())


def huge_png(sample):
    """`sample`, a PNG of a few digits, enlarged five times across the middle of a white page
    HUGE_SIDE pixels square: small to upload, 36 megapixels once decoded."""
    image = cv2.imdecode(np.frombuffer(sample.data, np.uint8), cv2.IMREAD_COLOR)
    page = np.full((HUGE_SIDE, HUGE_SIDE, 3), 255, np.uint8)
    height = round(image.shape[0] * HUGE_SIDE / image.shape[1])
    top = (HUGE_SIDE - height) // 2
    page[top: top + height] = cv2.resize(image, (HUGE_SIDE, height), interpolation=cv2.INTER_LINEAR)
    return sample._replace(data=cv2.imencode(".png", page)[1].tobytes(), boxes=None)


def reference_images(mnist, seed):
    """{key: synth.Sample} of the three images of issue #6, the latter two as bench's own timing uses."""
    from handwriting.pages import synth

    return {
        "canvas": canvas_png(synth.generate("single", mnist.x_test, mnist.y_test, seed, 0)),
        "number": synth.number_image(mnist.x_test, mnist.y_test, seed, count=6, size=(1200, 400)),
        "photo": synth.generate("photo", mnist.x_test, mnist.y_test, seed, 0),
    }


def mix_uploads(digits, seed, count=MIX_PAGES):
    """`count` pages of the stress benchmark at `seed`, its upright conditions taken in turn (as
    bench --batch composes them), each as an upload: photos, scans, drawings and several lines."""
    from handwriting.bench.batch import MIXED
    from handwriting.pages import stress

    pages = (stress.generate(MIXED[index % len(MIXED)], digits, seed, index // len(MIXED)) for index in range(count))
    return [multipart("file", f"page-{index}", page.image_bytes) for index, page in enumerate(pages)]


class NaiveRecognizer(Recognizer):
    """The engine's reading with the model called as demos call it: the Keras model's `predict` on
    one crop at a time. It shares the loaded engine's settings and line reader, so that only the
    model calls differ."""

    def __init__(self, engine):
        vars(self).update(vars(engine))
        self.keras_model = model_io.load(engine.path)
        self.calls = 0

    def classify(self, crops, budget=None):
        if len(crops) == 0:
            return super().classify(crops, budget)
        outputs = [
            self.keras_model.predict(model_io.to_batch([crop]), verbose=0)[0] for crop in crops
        ]
        self.calls += len(outputs)
        return np.stack(outputs)


def latencies(port, uploads, requests, warmup=WARMUP, workers=()):
    """Server-side (the answer's elapsed_ms) and round-trip ms of `requests` sequential POSTs on one
    connection, `uploads` ((body, content type) pairs) sent in turn, after `warmup` unmeasured ones,
    the CPU ms the `workers` spent per request, and the text of the last answer; or the first
    refusal, so that one failing image leaves the others measured."""
    client = Client(port)
    server, round_trip = [], []
    try:
        for index in range(warmup + requests):
            if index == warmup:
                cpu = cpu_ms(workers)
            status, answer, ms = client.recognise(*uploads[index % len(uploads)])
            if status != 200:
                return {"error": f"HTTP {status} {answer.get('error', {}).get('code', '')}".rstrip()}
            if index >= warmup:
                server.append(answer["elapsed_ms"])
                round_trip.append(ms)
    finally:
        client.close()
    return {
        "server_ms": spread(server), "round_trip_ms": spread(round_trip),
        "server_cpu_ms": (cpu_ms(workers) - cpu) / requests, "read": answer["text"],
    }


def throughput(port, body, content_type, clients, seconds, workers=()):
    """Requests per second that `clients` threads, each on its own keep-alive connection, get answered
    with 200 when they send back to back for `seconds`; each first sends one unmeasured request. With
    the CPU ms per request of the `workers` and of the clients (this process), which give the rate
    that idle cores would sustain."""
    start = threading.Barrier(clients + 1)
    counts, errors, finished = [0] * clients, [0] * clients, [0.0] * clients

    def send(index):
        client = Client(port)
        try:
            try:
                client.recognise(body, content_type)
            finally:
                start.wait()  # a client that failed still releases the others
            until = time.perf_counter() + seconds
            while time.perf_counter() < until:
                status = client.recognise(body, content_type)[0]
                counts[index] += status == 200
                errors[index] += status != 200
        except (OSError, ValueError):
            errors[index] += 1
        finally:
            finished[index] = time.perf_counter()
            client.close()

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began, server_cpu, client_cpu = time.perf_counter(), cpu_ms(workers), time.process_time()
    for thread in threads:
        thread.join()
    elapsed = max(finished) - began
    done = max(sum(counts), 1)
    return {
        "requests_per_s": sum(counts) / elapsed, "requests": sum(counts), "errors": sum(errors),
        "clients": clients, "seconds": elapsed, "server_cpu_ms": (cpu_ms(workers) - server_cpu) / done,
        "client_cpu_ms": (time.process_time() - client_cpu) * 1000.0 / done,
    }


def burst(port, body, content_type, count):
    """`count` uploads sent at once, each on its own connection; the statuses of their answers."""
    statuses = [None] * count

    def send(index):
        client = Client(port)
        try:
            statuses[index] = client.recognise(body, content_type)[0]
        except (OSError, ValueError) as error:
            statuses[index] = type(error).__name__
        finally:
            client.close()

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measure_server(images, mix, args):
    """Everything measured over HTTP against one server process; `mix`: mix_uploads."""
    bodies = {
        key: multipart("file", f"{key}.{'jpg' if key == 'photo' else 'png'}", sample.data) for key, sample in images.items()
    }
    huge = multipart("file", "huge.png", huge_png(images["number"]).data)
    with serving(args.model) as server:
        cold = server.wait_ready()
        workers, all_ready = server.wait_workers()
        print(f"server ready in {cold:.1f} s, {len(workers)} workers in {all_ready:.1f} s", file=sys.stderr, flush=True)
        memory = {"idle": [rss_mb(pid) for pid in workers]}
        results = {}
        for key, (body, content_type) in bodies.items():
            try:
                results[key] = latencies(server.port, [(body, content_type)], args.requests, workers=workers)
            except (OSError, ValueError) as error:
                server.fail(f"POST of {IMAGES[key]} failed: {type(error).__name__}: {error}")
            done = results[key].get("error") or f"server p50 {results[key]['server_ms']['p50']:.1f} ms"
            print(f"{IMAGES[key]}: {done}", file=sys.stderr, flush=True)
        time.sleep(TRIM_SETTLE_S)
        memory["photos"] = [rss_mb(pid) for pid in workers]
        load = throughput(server.port, *bodies["canvas"], args.clients, args.seconds, workers)
        workers = children(server.process.pid)
        rss = [rss_mb(pid) for pid in workers]
        shared = [rss_mb(pid, "RssFile") for pid in workers]
        memory["huge_statuses"] = burst(server.port, *huge, HUGE_UPLOADS)
        time.sleep(SETTLE_S)
        memory["huge_idle"] = [rss_mb(pid) for pid in children(server.process.pid)]
        print(f"{HUGE_UPLOADS} 36-MP uploads answered {memory['huge_statuses']}", file=sys.stderr, flush=True)
        # Last, so that the memory figures above stay what they were before the mix was measured.
        try:
            results["mix"] = latencies(server.port, mix, len(mix), workers=children(server.process.pid))
        except (OSError, ValueError) as error:
            server.fail(f"POST of a stress page failed: {type(error).__name__}: {error}")
        print(f"{len(mix)} stress pages: {results['mix'].get('error') or 'read'}", file=sys.stderr, flush=True)
    return {
        "cold_start_s": cold, "all_workers_ready_s": all_ready, "workers": len(workers),
        "rss_mb": rss, "rss_file_mb": shared, "memory_mb": memory, "throughput": load, "images": results,
    }


def timed(read, data, runs, warmup=WARMUP):
    """Milliseconds of `runs` calls of read(data), after `warmup` unmeasured ones; and the last text."""
    for _ in range(warmup):
        read(data)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        text = read(data).text
        times.append((time.perf_counter() - started) * 1000.0)
    return times, text


def measure_in_process(engine, images):
    """Per image: the engine's read and the naive read, p50 and p95, and how many model calls the
    naive way makes for one reading."""
    naive = NaiveRecognizer(engine)
    results = {}
    for key, sample in images.items():
        batched, batched_text = timed(engine.read, sample.data, IN_PROCESS_RUNS)
        naive.calls = 0
        naive_text = naive.read(sample.data).text  # also its warm-up
        model_calls = naive.calls
        slow, _ = timed(naive.read, sample.data, NAIVE_RUNS, warmup=0)
        results[key] = {
            "batched_ms": spread(batched), "naive_ms": spread(slow), "model_calls": model_calls,
            "speedup": float(np.median(slow) / np.median(batched)), "same_text": naive_text == batched_text,
        }
        print(f"{IMAGES[key]}: in-process {results[key]['speedup']:.0f}x faster than naive", file=sys.stderr, flush=True)
    return results


def _server_side(name, http_ms, target, target_text):
    """The row of one latencies() result: its server-side p50 / p95 and CPU, or its refusal."""
    if "error" in http_ms:
        return Figure(name, None, http_ms["error"], target, target_text=target_text)
    p50, p95 = http_ms["server_ms"]["p50"], http_ms["server_ms"]["p95"]
    return Figure(name, p50, f"{p50:.1f} / {p95:.1f} ms (CPU {http_ms['server_cpu_ms']:.1f} ms)", target,
                  target_text=target_text)


def figures(report):
    """The table's rows, targets of issue #6 included."""
    server, local = report["server"], report["in_process"]
    rows = []
    for key, name in IMAGES.items():
        http_ms, comparison = server["images"][key], local[key]
        target = {"number": 8.0, "photo": 250.0}.get(key)
        target_text = "" if target is None else f"p50 ≤ {target:.0f} ms"
        rows.append(_server_side(f"{name}: server-side p50 / p95", http_ms, target, target_text))
        if "error" not in http_ms:
            trip = http_ms["round_trip_ms"]
            rows.append(Figure(f"{name}: round trip p50 / p95", trip["p50"], f"{trip['p50']:.1f} / {trip['p95']:.1f} ms"))
        speedup = comparison["speedup"]
        rows.append(Figure(
            f"{name}: batched engine vs naive predict per crop",
            speedup,
            f"{speedup:.1f}x ({comparison['batched_ms']['p50']:.1f} vs {comparison['naive_ms']['p50']:.0f} ms,"
            f" {comparison['model_calls']} model calls{'' if comparison['same_text'] else ', READINGS DIFFER'})",
            15.0 if key == "number" else None, ceiling=False, target_text="≥ 15x" if key == "number" else "",
        ))
    rows.append(_server_side(
        f"(d) {MIX_PAGES} stress benchmark pages, upright conditions in turn: server-side p50 / p95",
        server["images"]["mix"], 10.0, "p50 ≤ 10 ms",
    ))
    load = server["throughput"]
    rows.append(Figure(
        f"{IMAGES['canvas'][:3]} requests/s, {load['clients']} clients", load["requests_per_s"],
        f"{load['requests_per_s']:.0f} /s ({load['requests']} in {load['seconds']:.1f} s, {load['errors']} errors)",
        500.0, ceiling=False, target_text="≥ 500 /s",
    ))
    idle_rate = report["machine"]["cores"] * 1000.0 / (load["server_cpu_ms"] + load["client_cpu_ms"])
    rows.append(Figure(
        f"{IMAGES['canvas'][:3]} CPU per request under load → rate on idle cores", idle_rate,
        f"{load['server_cpu_ms']:.1f} server + {load['client_cpu_ms']:.1f} client ms → {idle_rate:.0f} /s",
    ))
    rows.append(Figure(
        "cold start to /api/ready 200", server["cold_start_s"],
        f"{server['cold_start_s']:.2f} s (all {server['workers']} workers {server['all_workers_ready_s']:.2f} s)",
        1.5, target_text="≤ 1.5 s",
    ))
    rss, shared, memory = server["rss_mb"], server["rss_file_mb"], server["memory_mb"]
    rows.append(Figure(
        f"RSS per worker, idle (max of {len(memory['idle'])})", max(memory["idle"]),
        f"{' / '.join(f'{mb:.0f}' for mb in memory['idle'])} MB",
    ))
    rows.append(Figure(
        "RSS per worker after the 12-MP photos", max(memory["photos"]),
        f"{' / '.join(f'{mb:.0f}' for mb in memory['photos'])} MB", 250.0, target_text="≤ 250 MB",
    ))
    rows.append(Figure(
        "RSS per worker after the canvas load", max(rss),
        f"{' / '.join(f'{mb:.0f}' for mb in rss)} MB ({' / '.join(f'{mb:.0f}' for mb in shared)} of it mapped files)",
    ))
    refused = [status for status in memory["huge_statuses"] if status != 200]
    rows.append(Figure(
        f"RSS per worker {SETTLE_S:.0f} s after {HUGE_UPLOADS} 36-MP PNG uploads at once", max(memory["huge_idle"]),
        f"{' / '.join(f'{mb:.0f}' for mb in memory['huge_idle'])} MB"
        + (f" ({len(refused)} answered {refused[0]})" if refused else ""),
        300.0, target_text="≤ 300 MB",
    ))
    return rows


def table(rows, markdown):
    cells = [(r.name, r.text, r.target_text, {True: "pass", False: "FAIL", None: ""}[r.passed]) for r in rows]
    return common.table(("figure", "measured", "target", "result"), cells, markdown, "|---|---:|---|---|")


def run(args):
    """The --speed mode: the HTTP measurements first, while this process's engine sits idle, then the
    in-process comparison once the server is gone."""
    args.requests, args.clients = args.requests or 50, args.clients or 8
    engine = load_engine(args.model)  # first, so that a bad model fails before the server starts
    mnist = load_mnist(args.data)
    images = reference_images(mnist, args.seed)
    mix = mix_uploads(stress_digits(args.data), args.seed)
    report = {"machine": machine(), "model": str(engine.path), "seed": args.seed, "requests": args.requests}
    report["server"] = measure_server(images, mix, args)
    report["in_process"] = measure_in_process(engine, images)
    report["images"] = {
        key: {"name": IMAGES[key], "bytes": len(sample.data), "text": sample.text} for key, sample in images.items()
    }
    rows = figures(report)
    report["figures"] = [{**row._asdict(), "passed": row.passed} for row in rows]
    print(table(rows, args.markdown))
    print(
        f"\n{report['machine']['cpu']}, {report['machine']['cores']} cores,"
        f" load average {report['machine']['load_average']:.1f} at the start;"
        f" gunicorn defaults ({report['server']['workers']} workers); {args.requests} requests per image"
        f" after {WARMUP} warm-up; in this process {IN_PROCESS_RUNS} batched and {NAIVE_RUNS} naive reads per image"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
