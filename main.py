"""The web service's entry point: `main:app` is what gunicorn serves, and `python main.py` runs
Flask's development server (HOST, PORT; FLASK_DEBUG=1 for debug mode). The app is built on first
use of `main.app`, so importing this module loads no model (handwriting/web/app.py)."""
import os

from handwriting.web.app import create_app, log_to_stderr


def __getattr__(name):
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    log_to_stderr()
    globals()["app"] = create_app()
    return globals()["app"]


if __name__ == "__main__":
    log_to_stderr()
    create_app().run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        debug=os.environ.get("FLASK_DEBUG") == "1",
    )
