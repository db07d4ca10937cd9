"""Every setting of the project in one place, each overridable by an environment variable."""
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
    reports_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_REPORTS", ROOT / "reports")))
    max_upload_bytes: int = field(default_factory=lambda: _env("HANDWRITING_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, int))
    max_pixels: int = field(default_factory=lambda: _env("HANDWRITING_MAX_PIXELS", 40_000_000, int))
    working_side: int = field(default_factory=lambda: _env("HANDWRITING_WORKING_SIDE", 1200, int))
    max_digits: int = field(default_factory=lambda: _env("HANDWRITING_MAX_DIGITS", 200, int))
    reject_below: float = field(default_factory=lambda: _env("HANDWRITING_REJECT_BELOW", 0.3, float))
    tf_threads: int = field(default_factory=lambda: _env("HANDWRITING_TF_THREADS", 1, int))


def settings() -> Settings:
    """Read the environment now, so that tests and workers can change it before start-up."""
    return Settings()
