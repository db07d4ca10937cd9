"""Every setting of the project in one place, each overridable by an environment variable.

The engine's functions take these as parameters; where a caller leaves one out, it is read here,
so that a default is written once.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name, default, cast=str):
    value = os.environ.get(name)
    return default if value in (None, "") else cast(value)


@dataclass(frozen=True)
class Settings:
    model_path: Path = field(default_factory=lambda: Path(_env("HANDWRITING_MODEL", ROOT / "models" / "digit_cnn.keras")))
    models_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_MODELS_DIR", ROOT / "models")))
    max_loaded_models: int = field(default_factory=lambda: _env("HANDWRITING_MAX_LOADED_MODELS", 2, int))
    mnist_path: str | None = field(default_factory=lambda: _env("HANDWRITING_MNIST", None))
    # The other digit sets (USPS, Semeion, optdigits, Swiss, ORAND-CAR-A, ARDIS IV): read, never copied.
    data_root: Path = field(default_factory=lambda: Path(_env("HANDWRITING_DATA", ROOT.parent / "shared" / "data")))
    realworld_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_REALWORLD", ROOT.parent / "shared" / "realworld")))
    reports_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_REPORTS", ROOT / "reports")))
    max_upload_bytes: int = field(default_factory=lambda: _env("HANDWRITING_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, int))
    # Checked from the image's header, before decoding: a decompression bomb costs nothing.
    max_pixels: int = field(default_factory=lambda: _env("HANDWRITING_MAX_PIXELS", 40_000_000, int))
    # Longest side an image is read at: the model sees 20 px per digit, OpenCV's work grows with pixels.
    working_side: int = field(default_factory=lambda: _env("HANDWRITING_WORKING_SIDE", 1200, int))
    # Two bounds on the marks of one image, so that a page of noise costs bounded time: the
    # connected components kept, biggest first, before any shape test ...
    max_marks: int = field(default_factory=lambda: _env("HANDWRITING_MAX_MARKS", 300, int))
    # ... and the blobs read once fragments are merged and marks rejected, biggest first.
    max_digits: int = field(default_factory=lambda: _env("HANDWRITING_MAX_DIGITS", 200, int))
    # A digit read less surely than this is dropped from every reading.
    reject_below: float = field(default_factory=lambda: _env("HANDWRITING_REJECT_BELOW", 0.3, float))
    tf_threads: int = field(default_factory=lambda: _env("HANDWRITING_TF_THREADS", 1, int))


def settings() -> Settings:
    """Read the environment now, so that tests and workers can change it before start-up."""
    return Settings()
