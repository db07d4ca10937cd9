"""Metrics for operators: `GET /metrics` in the Prometheus text format, through prometheus_client.

Under gunicorn each worker is its own process, so the counts live in prometheus_client's
multi-process directory (PROMETHEUS_MULTIPROC_DIR, which gunicorn.conf.py makes at start-up in
memory-backed storage and removes on exit): one file per process and kind of metric, updated in
place, never one per request; `/metrics` adds them up, so any worker answers for all. Without that
directory (`python main.py`, the tests) the process's own registry answers.
"""
import os
import time

from flask import Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds: a probe takes about a millisecond, a read 10 ms to the 2.5 s budget, a slot wait up to 30 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds: a model loads and warms in about 1 to 5 s, more on a busy machine.
LOAD_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)

REQUESTS = Counter("digit_reader_requests", "Requests answered, by endpoint (route), method and status.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("digit_reader_request_seconds", "Time from a request's arrival in the app to its answer.",
                    ["endpoint"], buckets=LATENCY_BUCKETS)
IMAGES = Counter("digit_reader_images", "Images read, by model.", ["model"])
DIGITS = Counter("digit_reader_digits", "Digits read (those an answer shows), by model.", ["model"])
MODEL_LOADS = Histogram("digit_reader_model_load_seconds", "Time to load and warm a model, by model.", ["model"],
                        buckets=LOAD_BUCKETS)
REFUSALS = Counter("digit_reader_refusals", "Answers with an error (a refused upload, a busy slot, ...), by code.",
                   ["code"])


def init_app(app):
    """Time and count every answer, and serve GET /metrics."""
    app.before_request(_start)
    app.after_request(_count)
    app.add_url_rule("/metrics", "metrics", exposition, methods=["GET"])


def _start():
    g.started = time.perf_counter()


def _count(response):
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"  # a route, never a client's path
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    LATENCY.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    return response


def read(model, digits):
    """An image read by `model`, with the number of digits its answer shows."""
    IMAGES.labels(model).inc()
    DIGITS.labels(model).inc(digits)


def refused(code):
    REFUSALS.labels(code).inc()


def model_loaded(model, seconds):
    MODEL_LOADS.labels(model).observe(seconds)


def exposition():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    response = Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
