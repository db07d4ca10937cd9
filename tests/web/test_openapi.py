"""The OpenAPI document against the service's real answers: every field of the reading's contract is
described, and real answers (readings with numbers, hidden digits and messages, refusals, a raw
image body, the metrics, CORS preflights) validate against it, each with the X-Request-ID header
that every documented response declares."""
import dataclasses
import io

import numpy as np
from jsonschema import Draft202012Validator

from handwriting import config
from handwriting.web.app import create_app
from helpers import URL, compose, conforms, png

ORIGIN = "https://app.example"


def declared(spec, response, path=URL, method="post"):
    """The documented response for this answer's status, which must declare X-Request-ID; and the
    answer carries it."""
    answer = spec["paths"][path][method]["responses"][str(response.status_code)]
    assert "X-Request-ID" in answer["headers"] and response.headers.get("X-Request-ID")
    return answer


def test_every_field_of_the_reading_is_described(spec):
    schemas = spec["components"]["schemas"]
    assert {"text", "digits_text", "count", "hidden", "confidence", "numbers", "predictions", "orientation",
            "image", "truncated", "limits", "model", "elapsed_ms"} <= set(schemas["Recognition"]["required"])
    assert "message" in schemas["Recognition"]["properties"]
    assert {"number", "doubtful"} <= set(schemas["Prediction"]["required"])
    assert set(schemas["Number"]["required"]) == {"text", "value", "box", "line", "confidence", "doubtful"}


def test_every_answer_of_the_document_declares_the_request_id(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                assert "X-Request-ID" in answer.get("headers", {}), (path, method, status)


def test_readings_with_numbers_hidden_digits_and_messages_validate(client, spec, mnist, recognizer):
    data = png(compose(mnist, range(10)))
    shown = sorted({round(d.probability, 4) for d in recognizer.read(data).digits})
    assert len(shown) > 1, "the test needs digits read less surely than others"
    for options in ({}, {"min_confidence": str(shown[len(shown) // 2])}, {"min_confidence": "1.0"}):
        response = client.post(URL, query_string=options, data={"file": (io.BytesIO(data), "d.png")})
        body = conforms(spec, response)
        declared(spec, response)
        assert body["numbers"] and body["hidden"] == body["text"].count("?")
        assert len(body["predictions"]) == body["count"] and ("message" in body) == (body["hidden"] > 0)
    blank = client.post(URL, data={"file": (io.BytesIO(png(np.full((60, 80), 255, np.uint8))), "b.png")})
    assert conforms(spec, blank)["message"] and declared(spec, blank)


def test_a_raw_image_body_and_a_batch_are_documented_and_answered_so(client, spec, digits_png):
    content = spec["paths"][URL]["post"]["requestBody"]["content"]
    assert any(kind.startswith("image/") for kind in content) and "application/zip" in content
    raw = client.post(URL, data=digits_png, content_type="image/png")
    assert conforms(spec, raw)["digits_text"] and declared(spec, raw)
    two = client.post(URL, data={"file": [(io.BytesIO(digits_png), "a.png"), (io.BytesIO(digits_png), "b.png")]})
    assert [r["name"] for r in conforms(spec, two)["results"]] == ["a.png", "b.png"] and declared(spec, two)


def test_the_metrics_are_documented_as_prometheus_text(client, spec):
    response = client.get("/metrics")
    answer = declared(spec, response, "/metrics", "get")
    assert response.status_code == 200 and response.mimetype in answer["content"]
    assert b"digit_reader_requests" in response.get_data()


def test_preflights_are_documented_with_cors_on_and_off(client, spec, recognizer):
    off = client.options(URL, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "Allow" in declared(spec, off, method="options")["headers"] and "POST" in off.headers["Allow"]
    settings = dataclasses.replace(config.settings(), cors_origins=(ORIGIN,))
    cors = create_app(recognizer=recognizer, settings=settings).test_client()
    on = cors.options(URL, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    answer = declared(spec, on, method="options")
    assert on.status_code == 204 and all(name in on.headers for name in answer["headers"])


def test_the_preview_is_documented(client, spec, digits_png):
    response = client.post("/api/preview", data={"file": (io.BytesIO(digits_png), "d.png")})
    answer = declared(spec, response, "/api/preview")
    assert response.status_code == 200 and response.mimetype in answer["content"]
    schema = spec["paths"]["/api/preview"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    bad = client.post("/api/preview", data={"file": (io.BytesIO(b"not an image"), "x.png")})
    errors = Draft202012Validator({**schema, "components": spec["components"]}).iter_errors(bad.get_json())
    assert bad.status_code == 400 and not list(errors) and declared(spec, bad, "/api/preview")
