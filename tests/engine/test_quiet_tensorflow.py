"""TensorFlow's start-up noise stays off stderr, whoever imports it first, and nothing else does."""
import os
import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = [pytest.mark.slow]

NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cuda drivers", "cpu_feature_guard", "cuInit")


def run(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | env
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("first", ["import keras", "import tensorflow", "from handwriting.training import augment"])
def test_importing_tensorflow_prints_nothing_but_what_was_printed(first):
    code = (f"import handwriting, sys; print('before', file=sys.stderr); {first}; import tensorflow as tf; "
            "tf.config.list_physical_devices(); print('after', file=sys.stderr); import warnings; warnings.warn('kept')")
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["before", "after", "<string>:1: UserWarning: kept"], result.stderr


def test_every_line_is_kept_when_asked():
    """TF_CPP_MIN_LOG_LEVEL=0 asks for every line: the filter stands aside (and this shows the noise
    the test above looks for is real on this machine)."""
    result = run("import handwriting, tensorflow as tf; tf.config.list_physical_devices()", TF_CPP_MIN_LOG_LEVEL="0")
    assert result.returncode == 0 and any(noise in result.stderr for noise in NOISE), result.stderr
