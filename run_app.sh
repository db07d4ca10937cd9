#!/usr/bin/env bash
# Serve the page and the API with gunicorn: ./run_app.sh [gunicorn options]
# HOST (127.0.0.1), PORT (5000), WEB_CONCURRENCY (2 workers), GUNICORN_THREADS (100 per worker).
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/bootstrap.sh
exec "$VENV/bin/python" -m gunicorn --config gunicorn.conf.py "$@"
