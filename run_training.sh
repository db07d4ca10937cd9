#!/usr/bin/env bash
# Train the digit model: ./run_training.sh --help lists every option with its default.
set -euo pipefail
export HANDWRITING_PROG="$0"  # the name --help and the error lines give the command
cd "$(dirname "$0")"
export BOOTSTRAP_TRAIN=1
source ./scripts/bootstrap.sh
exec "$VENV/bin/python" -m handwriting.training.train "$@"
