#!/usr/bin/env bash
# Train the digit model: ./run_training.sh [--data PATH] [--epochs N] [--batch-size N] [--seed N] [--arch NAME] [--out PATH]
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/bootstrap.sh
exec "$VENV/bin/python" -m handwriting.training.train "$@"
