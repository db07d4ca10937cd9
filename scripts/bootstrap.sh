# Sourced by the run_*.sh scripts: create .venv from the pinned requirements when it is missing or
# stale. Serving's (requirements.txt: no TensorFlow) always; BOOTSTRAP_TRAIN=1 adds training's
# (TensorFlow, Keras, matplotlib, TensorBoard, the ONNX export) and BOOTSTRAP_DEV=1 the test tools.
# Idempotent: a stamp per requirements file records what was installed, so that a second run costs
# a file comparison.
VENV="${VENV:-.venv}"
_install() {  # _install REQUIREMENTS STAMP
    if [ "$(cat "$VENV/$2" 2>/dev/null)" != "$(cat "$1")" ]; then
        echo "installing $1 into $VENV (first run only)..." >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$1"
        cp "$1" "$VENV/$2"
    fi
}
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV..." >&2
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
_install requirements.txt .installed
if [ "${BOOTSTRAP_TRAIN:-0}" = 1 ]; then
    _install requirements-train.txt .installed-train
fi
if [ "${BOOTSTRAP_DEV:-0}" = 1 ]; then
    _install requirements-dev.txt .installed-dev
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
