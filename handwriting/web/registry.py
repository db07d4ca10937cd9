"""The trained models a process may serve: every `.keras` file in the models folder with its
metadata, each loaded on first use and kept while it is among the most recently used.

Memory stays bounded whatever clients ask for: at most `max_loaded_models` are held, and the
default model is never the one let go.
"""
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from handwriting.engine.model_io import metadata, scan

log = logging.getLogger(__name__)


class UnknownModel(LookupError):
    """A model name that is not in the models folder."""


class ModelUnavailable(RuntimeError):
    """A listed model that failed to load; it is not tried again by this process."""


class Models:
    """Recognizers by model name; thread-safe, as a gthread worker serves several requests at once."""

    def __init__(self, settings, default=None):
        """`default` is an already loaded Recognizer for the default model, or None to load it lazily."""
        self.settings = settings
        self.default_name = Path(settings.model_path).stem
        self._loaded = OrderedDict()
        self._failed = {}
        self._lock = threading.Lock()  # guards the two dicts, held only briefly
        self._loading = threading.Lock()
        if default is not None:
            self._loaded[self.default_name] = default

    def paths(self):
        return scan(self.settings.models_dir, self.settings.model_path)

    def listing(self):
        """What GET /api/models shows, the default first."""
        rows = []
        for name, path in self.paths().items():
            meta = metadata(path)
            rows.append({
                "name": name,
                "arch": meta.get("arch"),
                "test_accuracy": meta.get("test_accuracy"),
                "parameters": meta.get("params"),
                "size_bytes": path.stat().st_size,
                "default": name == self.default_name,
                "loaded": name in self._loaded,
                "trained": meta.get("date"),
            })
        return sorted(rows, key=lambda row: not row["default"])

    def get(self, name=None):
        """The Recognizer of `name` (default: the default model), loading and warming it if needed;
        raises UnknownModel or ModelUnavailable. One model loads at a time, so that two requests
        never load the same one twice, while requests for loaded models go on being served."""
        name = name or self.default_name
        engine = self._cached(name)
        if engine is not None:
            return engine
        path = self.paths().get(name)  # before waiting: an unknown name never waits for a load
        if path is None:
            if name == self.default_name:
                raise ModelUnavailable(f"no model file at {self.settings.model_path}")
            raise UnknownModel(name)
        with self._loading:
            engine = self._cached(name)  # loaded by the request that held the loading lock
            if engine is not None:
                return engine
            engine = self._load(name, path)
            with self._lock:
                self._loaded[name] = engine
                self._evict()
            return engine

    def _cached(self, name):
        with self._lock:
            if name in self._failed:
                raise ModelUnavailable(self._failed[name])
            if name in self._loaded:
                self._loaded.move_to_end(name)
                return self._loaded[name]
        return None

    def _load(self, name, path):
        from handwriting.engine.recognition import Recognizer

        with self._lock:  # one line reader serves every model: 0.7 s and 19 MB less per model loaded
            shared = next((loaded.lines for loaded in self._loaded.values() if loaded.lines), None)
        try:
            engine = Recognizer(path, self.settings, lines=shared)
            engine.warm()
        except Exception as error:
            with self._lock:
                self._failed[name] = f"{path.name} cannot be loaded: {type(error).__name__}"
            log.error("model %s not loaded from %s: %s: %s", name, path, type(error).__name__, error)
            raise ModelUnavailable(self._failed[name]) from None
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
        """Whether the default model is loaded, which is what readiness means."""
        return self.default_name in self._loaded
