"""The app factory's cross-cutting parts through Flask's test client: the request id every answer and
log line carries, opt-in CORS, and the error logged at start when the model is missing."""
import dataclasses
import io
import logging

from handwriting import config
from handwriting.web import app as web_app
from handwriting.web.app import create_app
from helpers import URL

APP_ORIGIN = "https://digits.example"


def test_every_answer_has_a_request_id_the_clients_when_plain(client, digits_png):
    answers = [client.get("/"), client.get("/api/health"), client.get("/api/nothing"), client.get("/metrics"),
               client.post(URL, data={"file": (io.BytesIO(digits_png), "d.png")}), client.post(URL)]
    ids = [answer.headers["X-Request-ID"] for answer in answers]
    assert all(len(i) == 32 for i in ids) and len(set(ids)) == len(ids)
    assert client.get("/api/health", headers={"X-Request-ID": "trace-42.a:b"}).headers["X-Request-ID"] == "trace-42.a:b"
    for unfit in ("has space", "x" * 129, "<b>", "a/b", "ünïcode"):
        given = client.get("/api/health", headers={"X-Request-ID": unfit}).headers["X-Request-ID"]
        assert given != unfit and len(given) == 32


def test_log_lines_of_a_request_carry_its_id(recognizer, caplog):
    app = create_app(recognizer=recognizer)

    @app.get("/api/fails")
    def fails():
        raise RuntimeError("boom")

    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    handler.addFilter(web_app.RequestIdFilter())
    logging.getLogger().addHandler(handler)
    try:
        response = app.test_client().get("/api/fails", headers={"X-Request-ID": "req-7"})
        logging.getLogger("handwriting.test").warning("outside any request")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = handler.stream.getvalue().splitlines()
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "req-7"
    assert lines[0].startswith("req-7 unexpected failure on GET /api/fails")
    assert "- outside any request" in lines


def _client(recognizer, origins):
    settings = dataclasses.replace(config.settings(), cors_origins=origins)
    return create_app(recognizer=recognizer, settings=settings).test_client()


def test_cors_is_off_by_default(client, digits_png):
    assert config.settings().cors_origins == ()
    preflight = client.options(URL, headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"})
    posted = client.post(URL, data={"file": (io.BytesIO(digits_png), "d.png")}, headers={"Origin": APP_ORIGIN})
    for answer in (preflight, posted):
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_answers_preflights_and_marks_answers_for_allowed_origins(recognizer, digits_png):
    client = _client(recognizer, (APP_ORIGIN, "http://localhost:3000"))
    preflight = client.options(URL, headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
    })
    assert preflight.status_code == 204 and preflight.data == b""
    assert preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == {"POST", "OPTIONS"}
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert int(preflight.headers["Access-Control-Max-Age"]) > 0
    answer = client.post(URL, json={"image": "!"}, headers={"Origin": APP_ORIGIN})
    assert answer.status_code == 400 and answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "X-Request-ID" in answer.headers["Access-Control-Expose-Headers"] and "Origin" in answer.headers["Vary"]
    stranger = client.post(URL, json={"image": "!"}, headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers and "Origin" in stranger.headers["Vary"]
    page = client.get("/", headers={"Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in page.headers  # the API only
    assert client.options("/api/nothing", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET"}
                          ).status_code == 404


def test_cors_for_any_origin(recognizer, monkeypatch):
    monkeypatch.setenv("HANDWRITING_CORS_ORIGINS", " * ")
    assert config.settings().cors_origins == ("*",)
    client = _client(recognizer, config.settings().cors_origins)
    answer = client.get("/api/health", headers={"Origin": "https://anyone.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_origins_are_read_as_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("HANDWRITING_CORS_ORIGINS", "https://a.example/, http://b.example:8080,,")
    assert config.settings().cors_origins == ("https://a.example", "http://b.example:8080")


def test_a_missing_model_is_logged_as_an_error_at_start(tmp_path, caplog):
    with caplog.at_level(logging.ERROR):
        create_app(model_path=tmp_path / "missing.keras")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "missing.keras" in errors[0].getMessage() and "/api/ready" in errors[0].getMessage()

