"""GET /metrics through Flask's test client: the Prometheus text format, parsed back with the
client library's own parser, counting what the service did (gunicorn's multi-process sums are
checked over real workers in test_server.py)."""
import dataclasses
import io

from prometheus_client.parser import text_string_to_metric_families

from handwriting import config
from handwriting.web import registry
from helpers import DIGITS, URL, place_model


def samples(client):
    """{(sample name, sorted labels): value} of everything /metrics shows now."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def change(before, after, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_requests_reads_and_refusals_are_counted(client, digits_png):
    before = samples(client)
    client.post(URL, data={"file": (io.BytesIO(digits_png), "d.png")})
    client.post(URL, data={"file": (io.BytesIO(b"plain words " * 20), "notes.txt")})
    client.get("/api/no/such/path")
    after = samples(client)
    route = {"endpoint": "/api/digit_recognize", "method": "POST"}
    assert change(before, after, "digit_reader_requests_total", **route, status="200") == 1
    assert change(before, after, "digit_reader_requests_total", **route, status="400") == 1
    assert change(before, after, "digit_reader_requests_total", endpoint="unmatched", method="GET", status="404") == 1
    assert change(before, after, "digit_reader_request_seconds_count", endpoint="/api/digit_recognize") == 2
    assert change(before, after, "digit_reader_request_seconds_bucket", endpoint="/api/digit_recognize", le="+Inf") == 2
    assert change(before, after, "digit_reader_images_total", model="digit_cnn") == 1
    assert change(before, after, "digit_reader_digits_total", model="digit_cnn") == len(DIGITS)
    assert change(before, after, "digit_reader_refusals_total", code="not_an_image") == 1
    assert change(before, after, "digit_reader_refusals_total", code="not_found") == 1


def test_model_loads_are_timed(client, tmp_path):
    settings = dataclasses.replace(config.settings(), models_dir=tmp_path, model_path=place_model(tmp_path, "small"))
    before = samples(client)
    registry.Models(settings).get()
    after = samples(client)
    assert change(before, after, "digit_reader_model_load_seconds_count", model="small") == 1
    assert change(before, after, "digit_reader_model_load_seconds_sum", model="small") > 0
