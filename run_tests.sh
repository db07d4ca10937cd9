#!/usr/bin/env bash
# Run the whole test suite: sets up .venv with the test tools and Debian's Chromium when missing.
set -euo pipefail
cd "$(dirname "$0")"
export BOOTSTRAP_DEV=1
source ./scripts/bootstrap.sh
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests..." >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export HANDWRITING_MNIST="${HANDWRITING_MNIST:-$(cd .. && pwd)/shared/data/mnist.npz}"
exec "$VENV/bin/python" -m pytest "$@"
