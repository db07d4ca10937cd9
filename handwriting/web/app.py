"""The web service: `create_app()` builds the Flask app, with the page, the API and the security
headers every answer carries. The model loads when the app is built, so under gunicorn, where
`main:app` is first touched inside each worker, it loads after the fork, once per worker."""
import dataclasses
import logging
from pathlib import Path

from flask import Flask, render_template

from handwriting import config
from handwriting.web import api, registry

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
        except registry.ModelUnavailable:
            pass  # logged by the registry; /api/ready says 503
    app = Flask(__name__)  # templates/ and static/ beside this module
    api.init_app(app, models, settings)

    @app.get("/")
    def page():
        limit = settings.max_upload_bytes
        return render_template("index.html", max_upload_bytes=limit, max_upload_mb=limit / (1024 * 1024))

    @app.after_request
    def secure(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def log_to_stderr():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
