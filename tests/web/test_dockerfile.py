"""The Dockerfile without a Docker engine: hadolint, the promises the README makes about the image,
and its HEALTHCHECK command run for real against a served app."""
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from handwriting.web.app import create_app
from helpers import ROOT
DOCKERFILE = (ROOT / "Dockerfile").read_text()
HADOLINT = Path(sys.executable).parent / "hadolint"


def instruction(name):
    """The arguments of every `name` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", joined, re.MULTILINE)]


def test_hadolint_is_clean():
    result = subprocess.run([str(HADOLINT), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_user_and_command():
    assert instruction("FROM") == ["python:3.11-slim"]
    user = instruction("USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(instruction("CMD")[-1]) == ["./run_app.sh"]
    assert os.access(ROOT / "run_app.sh", os.X_OK) and os.access(ROOT / "run_training.sh", os.X_OK)
    environment = " ".join(instruction("ENV"))
    assert "HOST=0.0.0.0" in environment and "PORT=5000" in environment
    assert instruction("EXPOSE") == ["5000"]


def test_the_venv_is_built_by_the_bootstrap_so_run_scripts_find_it_ready():
    assert instruction("WORKDIR") == ["/app"]
    assert any("scripts/bootstrap.sh" in run for run in instruction("RUN"))
    assert "VENV" not in " ".join(instruction("ENV")), "bootstrap's default .venv is /app/.venv"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "models", "data"} <= set(ignored)


@pytest.fixture(scope="module")
def port(recognizer):
    server = make_server("127.0.0.1", 0, create_app(recognizer=recognizer), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


def test_healthcheck_command_passes_against_a_live_app_and_fails_without_one(port):
    healthcheck = instruction("HEALTHCHECK")[0]
    assert "/api/health" in healthcheck
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3:])
    assert command[0] == "/app/.venv/bin/python"
    local = [sys.executable, *command[1:]]
    assert subprocess.run(local, env={**os.environ, "PORT": str(port)}, timeout=60).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    failing = subprocess.run(local, env={**os.environ, "PORT": str(closed)}, capture_output=True, timeout=60)
    assert failing.returncode != 0
