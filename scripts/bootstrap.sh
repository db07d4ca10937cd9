# Sourced by the run_*.sh scripts: create .venv from the pinned requirements when it is missing or stale.
# Set BOOTSTRAP_DEV=1 to add the test tools. Idempotent: a stamp records what was installed.
VENV="${VENV:-.venv}"
_want="$(cat requirements.txt)"
if [ "${BOOTSTRAP_DEV:-0}" = 1 ]; then _want="$_want$(cat requirements-dev.txt)"; fi
_stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$_stamp" 2>/dev/null)" != "$_want" ]; then
    echo "setting up $VENV (first run only)..." >&2
    [ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    if [ "${BOOTSTRAP_DEV:-0}" = 1 ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    fi
    printf '%s' "$_want" > "$_stamp"
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
