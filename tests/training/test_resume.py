"""The --resume folder on a tiny real Keras model: what it saves, what it restores, what it refuses."""
import json

import numpy as np
import pytest

from handwriting.training import resume

OPTIONS = {"epochs": 3, "seed": 1, "sets": "['mnist']", "data_sha256": "ab"}


def tiny_model(seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(1e-2, 50)), "mse")
    return model


def trained_model(seed=0, steps=3):
    model = tiny_model(seed)
    model.fit(np.ones((8 * steps, 4)), np.zeros((8 * steps, 3)), batch_size=8, epochs=1, verbose=0)
    return model


def row(mean):
    return {"loss": 1.0 - mean, "accuracy": mean, "val_accuracy": mean, "scores": {"usps test": mean}}


def test_fingerprint_leaves_out_what_a_resumed_run_may_change_and_writes_paths_as_text(tmp_path):
    options = {"epochs": 3, "out": tmp_path / "m.keras", "init": None, "workers": 2, "reports": tmp_path, "force": True,
               "resume": tmp_path / "state", "tensorboard": None, "no_augment": False, "learning_rate": 3e-4}
    assert resume.fingerprint(options, "ab") == {
        "epochs": 3, "init": None, "learning_rate": 3e-4, "no_augment": False, "out": str(tmp_path / "m.keras"),
        "data_sha256": "ab",
    }


def test_a_new_folder_has_no_epochs_and_restores_nothing(tmp_path):
    folder = resume.Folder(tmp_path / "state", OPTIONS)
    model = trained_model()
    before = [weight.copy() for weight in model.get_weights()]
    folder.restore(model, tmp_path / "best.keras")
    assert folder.rows == [] and folder.best_value("val_accuracy") is None
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert not (tmp_path / "state").exists() and not (tmp_path / "best.keras").exists()


def test_a_recorded_epoch_comes_back_with_weights_optimizer_best_model_and_seconds(tmp_path):
    model, checkpoint = trained_model(), tmp_path / "best.keras"
    model.save(checkpoint)
    resume.Folder(tmp_path / "state", OPTIONS).record(model, row(0.8), checkpoint, True, 12.5)
    checkpoint.unlink()

    again, fresh = resume.Folder(tmp_path / "state", OPTIONS), tiny_model(seed=5)
    again.restore(fresh, checkpoint)
    assert again.rows == [row(0.8)] and again.seconds == 12.5 and again.best_value("val_accuracy") == 0.8
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh.get_weights()))
    assert int(fresh.optimizer.iterations) == int(model.optimizer.iterations) == 3
    assert checkpoint.is_file()


def test_only_the_files_the_last_state_names_are_kept(tmp_path):
    model, checkpoint, path = trained_model(), tmp_path / "best.keras", tmp_path / "state"
    model.save(checkpoint)
    folder = resume.Folder(path, OPTIONS)
    folder.record(model, row(0.8), checkpoint, True, 1.0)
    folder.record(model, row(0.7), checkpoint, False, 2.0)
    assert sorted(p.name for p in path.iterdir()) == ["best-1.keras", "epoch-2.weights.h5", "state.json"]
    folder.record(model, row(0.9), checkpoint, True, 3.0)
    assert sorted(p.name for p in path.iterdir()) == ["best-3.keras", "epoch-3.weights.h5", "state.json"]
    assert json.loads((path / "state.json").read_text())["best"] == "best-3.keras"
    assert resume.Folder(path, OPTIONS).best_value("val_accuracy") == 0.9


def test_clear_removes_the_run_and_nothing_else(tmp_path):
    model, checkpoint, path = trained_model(), tmp_path / "best.keras", tmp_path / "state"
    model.save(checkpoint)
    folder = resume.Folder(path, OPTIONS)
    folder.cached(lambda: (np.zeros(3),))
    folder.record(model, row(0.8), checkpoint, True, 1.0)
    folder.clear()
    assert not path.exists()

    folder = resume.Folder(path, OPTIONS)
    folder.record(model, row(0.8), checkpoint, True, 1.0)
    (path / "notes.txt").write_text("the user's")
    folder.clear()
    assert [p.name for p in path.iterdir()] == ["notes.txt"]


def test_cached_arrays_are_computed_once(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.uint8).reshape(2, 3), np.array([True, False])

    first = resume.Folder(tmp_path, OPTIONS).cached(compute)
    second = resume.Folder(tmp_path, OPTIONS).cached(compute)
    assert len(calls) == 1
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(first, second))


def test_cached_arrays_belong_to_the_options_they_were_made_with(tmp_path):
    resume.Folder(tmp_path, OPTIONS).cached(lambda: (np.zeros(2),))
    assert resume.Folder(tmp_path, OPTIONS).rows == []
    with pytest.raises(resume.ResumeError, match=r"other options \(seed\)"):
        resume.Folder(tmp_path, {**OPTIONS, "seed": 2})


def test_arrays_left_without_a_state_are_made_again(tmp_path):
    resume.Folder(tmp_path, OPTIONS).cached(lambda: (np.zeros(2),))
    (tmp_path / resume.STATE).unlink()
    again = resume.Folder(tmp_path, OPTIONS).cached(lambda: (np.ones(3),))
    assert np.array_equal(again[0], np.ones(3))


def test_a_folder_of_another_run_is_refused_naming_the_options_that_differ(tmp_path):
    model, checkpoint = trained_model(), tmp_path / "best.keras"
    model.save(checkpoint)
    resume.Folder(tmp_path / "state", OPTIONS).record(model, row(0.8), checkpoint, True, 1.0)
    with pytest.raises(resume.ResumeError, match=r"other options \(epochs, seed\)"):
        resume.Folder(tmp_path / "state", {**OPTIONS, "epochs": 4, "seed": 2})


@pytest.mark.parametrize("damage", ["not json", "missing weights", "missing keys"])
def test_a_damaged_folder_is_refused_with_what_to_do(tmp_path, damage):
    model, checkpoint, path = trained_model(), tmp_path / "best.keras", tmp_path / "state"
    model.save(checkpoint)
    resume.Folder(path, OPTIONS).record(model, row(0.8), checkpoint, True, 1.0)
    if damage == "not json":
        (path / "state.json").write_text("{half")
    elif damage == "missing weights":
        (path / "epoch-1.weights.h5").unlink()
    else:
        (path / "state.json").write_text(json.dumps({"options": OPTIONS}))
    with pytest.raises(resume.ResumeError, match="remove the folder"):
        resume.Folder(path, OPTIONS)
