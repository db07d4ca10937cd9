"""The Dockerfile without a Docker engine: hadolint, its two stages and what each copies, the build
context that .dockerignore's patterns leave (matched as Docker matches them), and the serve stage's
HEALTHCHECK command run for real against a served app."""
import dataclasses
import glob
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

from handwriting import config
from handwriting.web.app import create_app
from helpers import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
HADOLINT = Path(sys.executable).parent / "hadolint"


def stages():
    """{stage name: (base image, [(instruction, arguments)])}, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found, current = {}, None
    for line in joined.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, arguments = line.strip().partition(" ")
        if name == "FROM":
            image, _, stage = arguments.partition(" AS ")
            current = found[stage.strip()] = (image.strip(), [])
        else:
            current[1].append((name, arguments.strip()))
    return found


def instructions(stage, name):
    return [arguments for instruction, arguments in stages()[stage][1] if instruction == name]


def copied(stage):
    """The build-context paths that a stage's COPY instructions name (its sources, globs expanded)."""
    sources = []
    for arguments in instructions(stage, "COPY"):
        assert not arguments.startswith("--from"), "every stage copies from the build context"
        for source in arguments.split()[:-1]:
            matches = sorted(glob.glob(source, root_dir=ROOT))
            assert matches, f"COPY {source} matches nothing"
            sources += matches
    return sources


def pattern_regex(pattern):
    """A .dockerignore pattern as Docker reads it (Go's filepath.Match, plus ** for any number of
    folders), as a regular expression over a path relative to the context."""
    pattern = os.path.normpath(pattern.lstrip("/"))
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + "[" + pattern[i + 1: end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore():
    """[(regex, excludes)] in file order: a `!` pattern brings back what an earlier one left out."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((pattern_regex(line.removeprefix("!")), not line.startswith("!")))
    return rules


def ignored(path, rules=None):
    """Whether Docker leaves `path` out of the context: the last rule that matches it, or one of the
    folders it lies in, decides."""
    parts = Path(path).parts
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for regex, excludes in rules or dockerignore():
        if any(regex.match(candidate) for candidate in candidates):
            verdict = excludes
    return verdict


def test_hadolint_is_clean():
    result = subprocess.run([str(HADOLINT), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_stages_on_one_base_pinned_to_an_exact_release_and_serve_is_the_default():
    found = stages()
    assert list(found) == ["base", "train", "serve"]  # the last stage is what a plain `docker build` makes
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", found["base"][0])
    assert found["train"][0] == found["serve"][0] == "base"
    assert instructions("base", "WORKDIR") == ["/app"]
    assert any("scripts/bootstrap.sh" in run and "BOOTSTRAP" not in run for run in instructions("base", "RUN"))
    environment = " ".join(instructions("base", "ENV"))
    assert "HOST=0.0.0.0" in environment and "PORT=5000" in environment
    assert "VENV" not in environment, "bootstrap's default .venv is /app/.venv, which the HEALTHCHECK names"


def test_the_serve_stage_runs_the_app_unprivileged_with_the_runtime_alone():
    user = instructions("serve", "USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(instructions("serve", "CMD")[-1]) == ["./run_app.sh"] and instructions("serve", "EXPOSE") == ["5000"]
    assert os.access(ROOT / "run_app.sh", os.X_OK)
    assert not instructions("serve", "RUN"), "the serve stage installs nothing beyond the base's serving venv"
    for source in copied("serve"):
        assert not source.startswith(("tests", "handwriting/training", "handwriting/bench", "requirements-")), source
    assert "tensorflow" not in (ROOT / "requirements.txt").read_text().lower()


def test_the_train_stage_adds_training_and_its_requirements():
    assert any("BOOTSTRAP_TRAIN=1" in run and "scripts/bootstrap.sh" in run for run in instructions("train", "RUN"))
    assert {"requirements-train.txt", "run_training.sh", "handwriting", "models"} <= set(copied("train"))
    assert instructions("train", "USER")[-1].split(":")[0] not in ("root", "0")
    assert os.access(ROOT / "run_training.sh", os.X_OK)


def test_the_pattern_matcher_reads_patterns_as_docker_does():
    rules = [(pattern_regex("**/*.pyc"), True), (pattern_regex("tests"), True), (pattern_regex("/data/*.npz"), True),
             (pattern_regex("data/keep.npz"), False), (pattern_regex("models/.*"), True)]
    assert ignored("a.pyc", rules) and ignored("x/y/a.pyc", rules) and not ignored("x/a.py", rules)
    assert ignored("tests/web/test_api.py", rules) and not ignored("handwriting/tests.py", rules)
    assert ignored("data/mnist.npz", rules) and not ignored("data/keep.npz", rules) and not ignored("data/a/b.npz", rules)
    assert ignored("models/.m.partial.keras", rules) and not ignored("models/m.keras", rules)


LEFT_OUT = [
    "tests/web/test_api.py", "tests/helpers.py", "reports/stress.json", "samples/digits.png", "README.md",
    ".git/HEAD", ".venv/bin/python", "venv/lib/site.py", "handwriting/__pycache__/config.cpython-311.pyc",
    "handwriting/engine/__pycache__/ink.cpython-311.pyc", "handwriting/engine/ink.pyc", ".pytest_cache/v/lastfailed",
    "tests/.pytest_cache/README.md", ".hypothesis/examples/x", "data/mnist.npz", "train.log", "handwriting/web/x.log",
    "models/.digit_cnn.partial.keras", "models/.digit_cnn.onnx.partial", "deploy/kubernetes/deployment.yaml",
]


@pytest.mark.parametrize("path", LEFT_OUT)
def test_dockerignore_leaves_out_tests_reports_venvs_and_caches(path):
    assert ignored(path)


def test_every_file_a_stage_copies_is_in_the_context():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for source in copied("train") + copied("serve"):
        files = [f for f in tracked if f == source or f.startswith(source + "/")] or [source]
        assert not [f for f in files if ignored(f)], f"{source}: .dockerignore leaves some of it out"


SERVED_MODULES = """
import io, json, sys
from handwriting.web.app import create_app
client = create_app().test_client()
image = open(sys.argv[1], "rb").read()
client.get("/"), client.get("/metrics"), client.get("/api/openapi.json"), client.get("/api/models")
client.post("/api/digit_recognize", data={"file": (io.BytesIO(image), "a.png"), "explain": "1"})
print(json.dumps(sorted(m.__file__ for name, m in sys.modules.items() if name.startswith("handwriting"))))
"""


def test_the_serve_stage_holds_every_module_and_model_file_that_serving_uses():
    result = subprocess.run([sys.executable, "-c", SERVED_MODULES, str(ROOT / "samples" / "digits.png")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    used = [str(Path(f).relative_to(ROOT)) for f in json.loads(result.stdout.splitlines()[-1])]
    settings = config.settings()
    used += [str(Path(p).relative_to(ROOT)) for p in ROOT.glob("models/*.*") if not p.name.startswith(".")]
    used += [str(Path(settings.line_model_path).with_suffix(s).relative_to(ROOT)) for s in (".keras", ".onnx")]
    sources = copied("serve")
    for path in used + ["main.py", "gunicorn.conf.py", "run_app.sh", "requirements.txt", "scripts/bootstrap.sh"]:
        assert any(path == s or path.startswith(s + "/") for s in sources + copied("base")), f"serve lacks {path}"
        assert not ignored(path), path


@pytest.fixture(scope="module")
def serve():
    """Starts a live app on a free port; returns its port."""
    servers = []

    def start(app):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.shutdown()


def test_healthcheck_passes_when_ready_and_fails_when_not_ready_or_down(serve, recognizer, tmp_path):
    healthcheck = instructions("serve", "HEALTHCHECK")[0]
    assert "/api/ready" in healthcheck
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3:])
    assert command[0] == "/app/.venv/bin/python"
    local = [sys.executable, *command[1:]]

    def check(port):
        return subprocess.run(local, env={**os.environ, "PORT": str(port)}, capture_output=True, timeout=60).returncode

    assert check(serve(create_app(recognizer=recognizer))) == 0
    unready = dataclasses.replace(config.settings(), model_path=tmp_path / "missing.keras", models_dir=tmp_path)
    assert check(serve(create_app(settings=unready))) != 0  # answers, but 503: every read would too
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert check(closed) != 0
