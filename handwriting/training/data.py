"""Load MNIST from a Keras-layout .npz, or from Keras' own download when no path is given."""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handwriting import config

KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(Exception):
    """The data set cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    sha256: str


def resolve_path(path=None):
    """An explicit path wins over the settings' (HANDWRITING_MNIST); None means Keras' download."""
    return path or config.settings().mnist_path or None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate(arrays):
    """Refuse anything that is not 28x28 uint8 images with labels 0-9, matched one to one."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"y_{split} has shape {y.shape}, expected ({len(x)},)")
        if x.dtype != np.uint8:
            raise DataError(f"x_{split} has dtype {x.dtype}, expected uint8")
        if not np.issubdtype(y.dtype, np.integer) or len(y) == 0 or y.min() < 0 or y.max() > 9:
            raise DataError(f"y_{split} must hold integer labels 0-9")


def load(path=None) -> Mnist:
    """MNIST as uint8 arrays; raises DataError with a one-line reason when nothing works."""
    path = resolve_path(path)
    if path is None:
        try:
            import keras

            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as error:
            raise DataError(
                f"no MNIST path given (--data or HANDWRITING_MNIST) and the download failed: {error}"
            ) from None
        arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        digest = hashlib.sha256(b"".join(arrays[k].tobytes() for k in KEYS)).hexdigest()
    else:
        file = Path(path)
        if not file.is_file():
            raise DataError(f"MNIST file not found: {file}")
        try:
            with np.load(file, allow_pickle=False) as npz:
                missing = [k for k in KEYS if k not in npz.files]
                if missing:
                    raise DataError(f"{file} lacks {', '.join(missing)}")
                arrays = {k: npz[k] for k in KEYS}
        except DataError:
            raise
        except Exception as error:
            raise DataError(f"{file} is not a readable .npz file: {type(error).__name__}") from None
        digest = _sha256(file)
    validate(arrays)
    return Mnist(**{k: arrays[k] for k in KEYS}, sha256=digest)
