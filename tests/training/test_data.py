"""The MNIST loader on the real file, and every way a bad file is refused with a one-line DataError."""
import hashlib

import numpy as np
import pytest

from handwriting.training import data

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_file_has_the_mnist_shapes_and_dtypes(mnist):
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.y_test.shape == (10000,)
    assert mnist.x_train.dtype == mnist.x_test.dtype == np.uint8
    assert np.issubdtype(mnist.y_train.dtype, np.integer) and np.issubdtype(mnist.y_test.dtype, np.integer)


def test_real_file_has_the_mnist_class_counts(mnist):
    assert np.bincount(mnist.y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test, minlength=10).tolist() == TEST_COUNTS


def test_digest_is_the_file_sha256(mnist, mnist_path):
    assert mnist.sha256 == hashlib.sha256(mnist_path.read_bytes()).hexdigest()


def _arrays(n=12):
    """A tiny valid data set; each error test breaks exactly one thing in it."""
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n) % 10,
        "x_test": rng.integers(0, 256, (n // 2, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n // 2) % 10,
    }


def _save(path, arrays):
    np.savez(path, **arrays)
    return path


def test_small_valid_file_loads(tmp_path):
    loaded = data.load(_save(tmp_path / "small.npz", _arrays()))
    assert loaded.x_train.shape == (12, 28, 28) and loaded.y_test.tolist() == [0, 1, 2, 3, 4, 5]


def test_environment_variable_is_used_when_no_path_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITING_MNIST", str(_save(tmp_path / "small.npz", _arrays())))
    assert len(data.load().x_train) == 12


def test_explicit_path_wins_over_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITING_MNIST", str(tmp_path / "missing.npz"))
    assert len(data.load(_save(tmp_path / "small.npz", _arrays())).x_train) == 12


def _without(key):
    def change(arrays):
        del arrays[key]

    return change


def _replace(key, make):
    def change(arrays):
        arrays[key] = make(arrays[key])

    return change


def _set_first(key, value):
    def change(arrays):
        arrays[key][0] = value

    return change


BROKEN = {
    "a missing key": (_without("y_test"), "lacks y_test"),
    "images of the wrong size": (_replace("x_train", lambda x: x[:, :, :27]), "x_train has shape"),
    "flattened images": (_replace("x_test", lambda x: x.reshape(len(x), -1)), "x_test has shape"),
    "fewer labels than images": (_replace("y_train", lambda y: y[:-1]), "y_train has shape"),
    "labels as a column": (_replace("y_test", lambda y: y[:, None]), "y_test has shape"),
    "float images": (_replace("x_train", lambda x: x.astype(np.float32) / 255), "dtype float32"),
    "float labels": (_replace("y_train", lambda y: y.astype(np.float64)), "labels 0-9"),
    "label 10": (_set_first("y_test", 10), "labels 0-9"),
    "a negative label": (_set_first("y_train", -1), "labels 0-9"),
    "an empty test set": (_replace("x_test", lambda x: x[:0]), "y_test has shape"),
    "no test images at all": (lambda arrays: arrays.update(x_test=arrays["x_test"][:0], y_test=arrays["y_test"][:0]),
                              "labels 0-9"),
    "pickled objects": (_replace("y_train", lambda y: np.array(list(y), dtype=object)), "not a readable"),
}


@pytest.mark.parametrize("problem", BROKEN)
def test_bad_arrays_are_refused(tmp_path, problem):
    change, reason = BROKEN[problem]
    arrays = _arrays()
    change(arrays)
    path = _save(tmp_path / "broken.npz", arrays)
    with pytest.raises(data.DataError, match=reason) as refusal:
        data.load(path)
    assert "\n" not in str(refusal.value)


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(1).bytes(4096))


def _npy(path):
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))


def _truncated(path):
    whole = _save(path.with_name("whole.npz"), _arrays()).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


BAD_FILES = {
    "a missing file": (lambda path: None, "not found"),
    "a folder": (lambda path: path.mkdir(), "not found"),
    "an empty file": (lambda path: path.write_bytes(b""), "not a readable"),
    "random bytes": (_random_bytes, "not a readable"),
    "a truncated npz": (_truncated, "not a readable"),
    "a single .npy array": (_npy, "not a readable"),
}


@pytest.mark.parametrize("problem", BAD_FILES)
def test_bad_files_are_refused(tmp_path, problem):
    make, reason = BAD_FILES[problem]
    path = tmp_path / "mnist.npz"
    make(path)
    with pytest.raises(data.DataError, match=reason) as refusal:
        data.load(path)
    assert "\n" not in str(refusal.value)
