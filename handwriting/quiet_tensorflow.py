"""TensorFlow's start-up lines that ask nothing of anyone, kept off stderr.

Loading TensorFlow prints, before its logging is set up (so TF_CPP_MIN_LOG_LEVEL cannot hide
them), that oneDNN is on, that no CUDA driver was found, which CPU instructions it was not built
for (a notice to whoever builds TensorFlow), and, at the first look for devices, that cuInit
failed: on a machine without a GPU nothing there is actionable. `install()`, run when the package
is imported, sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads, and at TensorFlow's first import,
whoever imports it (the engine, training, keras), passes stderr through a filter that drops those
lines, and only those, while TensorFlow loads and looks for devices. TF_CPP_MIN_LOG_LEVEL=0 keeps
every line.
"""
import importlib.machinery
import os
import re
import sys
import threading

MIN_LOG_LEVEL = "2"  # TensorFlow's C++ INFO and WARNING lines once its logging is up; errors still show
NOISE = re.compile(
    rb"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|\] oneDNN custom operations are on"
    rb"|\] Could not find cuda drivers on your machine"
    rb"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"
    rb"|^To enable the following instructions: .*rebuild TensorFlow"
    rb"|cuda_platform\.cc:\d+\] failed call to cuInit"
)


def install():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", MIN_LOG_LEVEL)
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0" and "tensorflow" not in sys.modules:
        if not any(isinstance(finder, _FirstImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _FirstImport())


class _FirstImport:
    """A meta path finder (importlib.abc's protocol, without importing importlib.abc's 40 ms): finds
    TensorFlow as the path finder does, once, and gives it a loader that loads it quietly."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # nobody sees this wrapper
        with _Filtered():
            self.loader.exec_module(module)
            module.config.list_physical_devices("GPU")  # the cuInit attempt, which needs no GPU settings yet


class _Filtered:
    """File descriptor 2 through a pipe whose lines are copied to the real stderr, but for NOISE;
    when stderr cannot be redirected, it is left as it is."""

    def __enter__(self):
        try:
            _flush()
            self.saved = os.dup(2)
        except OSError:
            self.saved = None
            return self
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.copier = threading.Thread(target=self._copy, args=(read,), daemon=True)
        self.copier.start()
        return self

    def _copy(self, read):
        with os.fdopen(read, "rb") as lines:
            for line in lines:
                while line and not NOISE.search(line):
                    line = line[os.write(self.saved, line):]

    def __exit__(self, *failure):
        if self.saved is None:
            return
        _flush()
        os.dup2(self.saved, 2)  # the pipe's last write end closes: the copier reads to the end and stops
        self.copier.join()
        os.close(self.saved)


def _flush():
    if sys.stderr is not None:
        sys.stderr.flush()
