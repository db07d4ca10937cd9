"""The web service: `create_app()` builds the Flask app, with the page, the API, the metrics, and
what every answer carries: the security headers, a request id, and CORS headers where allowed. The
model loads when the app is built, so under gunicorn, where `main:app` is first touched inside each
worker, it loads after the fork, once per worker."""
import dataclasses
import logging
import re
import uuid
from pathlib import Path

from flask import Flask, g, has_request_context, render_template, request

from handwriting import config
from handwriting.web import api, metrics, registry

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
REQUEST_ID = "X-Request-ID"
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a client's id is kept when it is this plain
CORS_ALLOWED_HEADERS = "Content-Type, X-Request-ID"
CORS_EXPOSED_HEADERS = "X-Request-ID, Retry-After"
CORS_MAX_AGE_S = 600  # how long a browser may reuse a preflight's answer


def create_app(model_path=None, recognizer=None, settings=None):
    """The Flask app. Pass a ready `recognizer` to share one engine, else the default model (at
    `model_path`, or the configured one) is loaded and warmed now. When it cannot be loaded the
    service still starts and answers 503, so that the probes and the page can say why."""
    settings = settings or config.settings()
    if model_path is not None:
        settings = dataclasses.replace(settings, model_path=Path(model_path))
    models = registry.Models(settings, default=recognizer)
    if recognizer is None:
        try:
            models.get()
        except registry.ModelUnavailable as error:
            log.error("the default model cannot be served (%s): /api/ready answers 503 until it can", error)
    app = Flask(__name__)  # templates/ and static/ beside this module
    app.before_request(_take_request_id)  # first, so that every answer and log line of a request has it
    metrics.init_app(app)
    if settings.cors_origins:
        _allow_origins(app, settings.cors_origins)
    api.init_app(app, models, settings)

    @app.get("/")
    def page():
        limit = settings.max_upload_bytes
        return render_template("index.html", max_upload_bytes=limit, max_upload_mb=limit / (1024 * 1024))

    @app.after_request
    def secure(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers[REQUEST_ID] = g.get("request_id", "-")
        return response

    return app


def _take_request_id():
    """The client's X-Request-ID when it is a plain token, else a new one."""
    given = request.headers.get(REQUEST_ID, "")
    g.request_id = given if CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _allow_origins(app, origins):
    """CORS for the API, for browser apps served from `origins` ("*": any): simple requests get
    Access-Control-Allow-Origin, and preflights are answered with 204 and what may be sent."""
    any_origin = "*" in origins

    def preflight():
        if (request.method == "OPTIONS" and request.path.startswith("/api/") and request.url_rule is not None
                and "Access-Control-Request-Method" in request.headers):
            return app.response_class(status=204)
        return None

    def allow(response):
        origin = request.headers.get("Origin")
        if origin is None or not request.path.startswith("/api/"):
            return response
        response.vary.add("Origin")
        if not (any_origin or origin.rstrip("/") in origins):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if any_origin else origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
        if response.status_code == 204 and request.method == "OPTIONS":
            methods = sorted(request.url_rule.methods - {"HEAD"})
            response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_S)
        return response

    app.before_request(preflight)
    app.after_request(allow)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record: the request's id inside a request, else "-"."""

    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def log_to_stderr():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
