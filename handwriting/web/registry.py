"""The trained models a process may serve: every `.keras` file in the models folder with its
metadata, each loaded on first use and kept while it is among the most recently used.

What is served is the file on disk now: each use compares the file's identity (inode, size and
modification time, and its metadata's) with the one it was loaded from, reloads it when it
changed, and lets it go when it is gone. So every gunicorn worker serves the same model, and an
answer names the version that read it.

Memory stays bounded whatever clients ask for: at most `max_loaded_models` are held, and the
default model is never the one let go.
"""
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from handwriting.engine import model_io
from handwriting.web import metrics

log = logging.getLogger(__name__)


class UnknownModel(LookupError):
    """A model name that is not in the models folder."""


class ModelUnavailable(RuntimeError):
    """A listed model that is missing or failed to load; a failed file is tried again only once it changes."""


def _stamp(file):
    try:
        found = file.stat()
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


def identity(path):
    """What tells one version of a model from the next without reading it, or None when its file is
    gone: the inode, size and modification time of the model file and of what is written beside it,
    its card and its runtime artifacts (`os.replace` gives a new inode, an overwrite a new size or
    time; training writes them one after the other)."""
    path = Path(path)
    model = _stamp(path)
    if model is None:
        return None
    beside = (path.with_suffix(".json"), model_io.artifact_path(path), model_io.gradcam_path(path))
    return (model, *map(_stamp, beside))


class Models:
    """Recognizers by model name; thread-safe, as a gthread worker serves several requests at once."""

    def __init__(self, settings, default=None):
        """`default` is an already loaded Recognizer for the default model, or None to load it lazily."""
        self.settings = settings
        self.default_name = Path(settings.model_path).stem
        self._loaded = OrderedDict()  # name: (identity loaded, Recognizer)
        self._failed = {}  # name: (identity that failed, message)
        self._lock = threading.Lock()  # guards the two dicts, held only briefly
        self._loading = threading.Lock()
        if default is not None:
            self._loaded[self.default_name] = (identity(default.path), default)

    def paths(self):
        return model_io.scan(self.settings.models_dir, self.settings.model_path)

    def listing(self):
        """What GET /api/models shows, the default first: what is on disk, the same whichever
        worker answers (which models a worker holds in memory is its own affair)."""
        rows = []
        for name, path in self.paths().items():
            meta, artifact = model_io.metadata(path), model_io.artifact_path(path)
            rows.append({
                "name": name,
                "arch": meta.get("arch"),
                "test_accuracy": meta.get("test_accuracy"),
                "parameters": meta.get("params"),
                "size_bytes": path.stat().st_size,
                "artifact": artifact.name if artifact.is_file() else None,
                "artifact_bytes": artifact.stat().st_size if artifact.is_file() else None,
                "explainable": model_io.gradcam_path(path).is_file(),
                "default": name == self.default_name,
                "trained": meta.get("date"),
            })
        return sorted(rows, key=lambda row: not row["default"])

    def get(self, name=None):
        """The Recognizer of `name` (default: the default model) as its file is now, loading and
        warming it if needed; raises UnknownModel or ModelUnavailable. One model loads at a time,
        so that two requests never load the same one twice, while requests for loaded models go on
        being served."""
        name = name or self.default_name
        engine = self._current(name)
        if engine is not None:
            return engine
        path = self.paths().get(name)  # before waiting: an unknown name never waits for a load
        if path is None:
            if name == self.default_name:
                raise ModelUnavailable(f"no model file at {self.settings.model_path}")
            raise UnknownModel(name)
        with self._loading:
            engine = self._current(name)  # loaded by the request that held the loading lock
            if engine is not None:
                return engine
            stamp = identity(path)  # before loading: a file replaced meanwhile is loaded again on next use
            engine = self._load(name, path, stamp)
            with self._lock:
                self._loaded[name] = (stamp, engine)
                self._evict()
            return engine

    def _current(self, name):
        """The loaded Recognizer of `name` if its file has not changed since; a changed or deleted
        file's Recognizer is let go."""
        with self._lock:
            entry = self._loaded.get(name)
        path = entry[1].path if entry else self.paths().get(name) if name in self._failed else None
        stamp = identity(path) if path else None
        with self._lock:
            failed = self._failed.get(name)
            if failed and failed[0] == stamp:
                raise ModelUnavailable(failed[1])
            entry = self._loaded.get(name)
            if entry and entry[0] == stamp:
                self._loaded.move_to_end(name)
                return entry[1]
            if entry:
                del self._loaded[name]
                log.info("model %s changed on disk (%s); it is read again from its file", name,
                         "deleted" if stamp is None else "replaced")
        return None

    def _load(self, name, path, stamp):
        from handwriting.engine.recognition import Recognizer

        with self._lock:  # one line reader and one turn judge serve every model: 0.7 s and 19 MB less per model
            loaded = [engine for _, engine in self._loaded.values()]
        lines = next((engine.lines for engine in loaded if engine.lines), None)
        turns = next((engine.turns for engine in loaded if engine.turns), None)
        started = time.perf_counter()
        try:
            engine = Recognizer(path, self.settings, lines=lines, turns=turns)
            engine.warm()
        except Exception as error:
            with self._lock:
                self._failed[name] = (stamp, f"{path.name} cannot be loaded: {type(error).__name__}")
            log.error("model %s not loaded from %s: %s: %s", name, path, type(error).__name__, error)
            raise ModelUnavailable(self._failed[name][1]) from None
        metrics.model_loaded(name, time.perf_counter() - started)
        with self._lock:
            self._failed.pop(name, None)
        log.info("model %s (%s) loaded from %s", name, engine.version, path)
        return engine

    def _evict(self):
        limit = max(1, self.settings.max_loaded_models)
        for name in list(self._loaded):
            if len(self._loaded) <= limit:
                break
            if name != self.default_name:
                del self._loaded[name]

    def ready(self):
        """Whether the default model is loaded and its file unchanged since, which is what readiness means."""
        with self._lock:
            entry = self._loaded.get(self.default_name)
        return entry is not None and entry[0] == identity(entry[1].path)
