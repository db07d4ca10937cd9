"""Training that survives being stopped: a long run on a machine lent by the hour, or a CPU run
longer than a session, goes on where it stopped when the same command starts again.

After each epoch the folder gets the weights with the optimizer's state, the best model so far and
the record of every epoch; once, the crops of the served pages, which take minutes to make again.
`state.json` is written last and names the other files, so a run killed mid-write resumes from
the last complete epoch. A resumed run is not bit-identical to one that ran through: the shuffling
and the distortions start their sequences afresh.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np

STATE = "state.json"
CACHE = "served.npz"
# Options a run may change when it resumes: they touch neither the data nor the schedule.
FREE = ("workers", "tensorboard", "reports", "resume", "force")


class ResumeError(Exception):
    """The folder belongs to another run, or is damaged; the message says which and what to do."""


def fingerprint(options, data_sha256):
    """What must match for a resumed run to continue this one, as JSON-ready values."""
    kept = {name: value for name, value in sorted(options.items()) if name not in FREE}
    kept = {name: value if value is None or isinstance(value, (bool, int, float)) else str(value)
            for name, value in kept.items()}
    return {**kept, "data_sha256": data_sha256}


class Folder:
    """The training state of one run; `rows` holds the epochs already done (empty for a new run)."""

    def __init__(self, path, options):
        self.path, self.options = Path(path), options
        self.rows, self.seconds, self.latest, self.best = [], 0.0, None, None
        state = self.path / STATE
        if not state.is_file():
            return
        try:
            saved = json.loads(state.read_text())
            before = saved["options"]
            changed = sorted(name for name in set(before) | set(options) if before.get(name) != options.get(name))
            if changed:
                raise ResumeError(f"{self.path} holds a run with other options ({', '.join(changed)}); "
                                  "start it again with the same options, or give another folder")
            rows, seconds, latest, best = saved["rows"], saved["seconds"], saved["latest"], saved["best"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ResumeError(f"{state} cannot be read ({type(error).__name__}); remove the folder to start afresh")
        missing = [name for name in (latest, best) if name and not (self.path / name).is_file()]
        if missing:
            raise ResumeError(f"{self.path} lacks {', '.join(missing)}; remove the folder to start afresh")
        self.rows, self.seconds, self.latest, self.best = rows, seconds, latest, best

    def best_value(self, key):
        """The best `key` of the epochs done, or None before the first."""
        return max(row[key] for row in self.rows) if self.rows else None

    def restore(self, model, checkpoint):
        """Put the last epoch's weights and optimizer state into the compiled `model` and the best
        model so far at `checkpoint`, where the training's own checkpointing keeps it."""
        if not self.latest:
            return
        model.optimizer.build(model.trainable_variables)
        model.load_weights(self.path / self.latest)
        if self.best:
            shutil.copyfile(self.path / self.best, checkpoint)

    def record(self, model, row, checkpoint, improved, seconds):
        """Save the epoch just done: its weights, the best model if this epoch is it, then the state
        that names them; the files it replaces go last."""
        self.path.mkdir(parents=True, exist_ok=True)
        epoch = len(self.rows) + 1
        latest = f"epoch-{epoch}.weights.h5"
        model.save_weights(self.path / latest)
        best = self.best
        if improved:
            best = f"best-{epoch}.keras"
            shutil.copyfile(checkpoint, self.path / best)
        stale = {self.latest, self.best} - {latest, best, None}
        self._save(self.rows + [row], seconds, latest, best)
        for name in stale:
            (self.path / name).unlink(missing_ok=True)

    def _save(self, rows, seconds, latest, best):
        state = {"options": self.options, "rows": rows, "seconds": seconds, "latest": latest, "best": best}
        _write_atomically(self.path / STATE, json.dumps(state, indent=1))
        self.rows, self.seconds, self.latest, self.best = rows, seconds, latest, best

    def cached(self, compute):
        """The arrays `compute()` returns, computed once per run: they take minutes to make. The
        state is written with them, so that a run with other options never takes them for its own."""
        cache = self.path / CACHE
        if cache.is_file() and (self.path / STATE).is_file():
            with np.load(cache) as saved:
                return tuple(saved[f"a{i}"] for i in range(len(saved.files)))
        arrays = compute()
        self.path.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f".{CACHE}")
        with open(partial, "wb") as handle:
            np.savez(handle, **{f"a{i}": array for i, array in enumerate(arrays)})
        os.replace(partial, cache)
        self._save(self.rows, self.seconds, self.latest, self.best)
        return arrays

    def clear(self):
        """Remove what this run wrote once its model is published; the folder goes too if that
        leaves it empty, anything else in it stays."""
        for name in (STATE, CACHE, self.latest, self.best):
            if name:
                (self.path / name).unlink(missing_ok=True)
        if self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()


def _write_atomically(path, text):
    partial = path.with_name(f".{path.name}")
    partial.write_text(text)
    os.replace(partial, path)
