#!/usr/bin/env bash
# Run the whole test suite: sets up .venv with the test tools, and installs Debian's chromium with
# apt-get (through sudo unless root) when it is missing, saying so first.
set -euo pipefail
cd "$(dirname "$0")"
export BOOTSTRAP_TRAIN=1 BOOTSTRAP_DEV=1
source ./scripts/bootstrap.sh
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "the browser tests need Debian's chromium, which is missing: running" \
         "'${SUDO:+sudo }apt-get update' and '${SUDO:+sudo }apt-get install chromium' (a system package)..." >&2
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export HANDWRITING_MNIST="${HANDWRITING_MNIST:-$(cd .. && pwd)/shared/data/mnist.npz}"
exec "$VENV/bin/python" -m pytest "$@"
