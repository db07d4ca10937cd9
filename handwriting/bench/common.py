"""What the benchmark tools share: the model and MNIST loaded with a one-line refusal, the real
server started on a free port (./run_app.sh with gunicorn's defaults), a keep-alive HTTP client,
the processes' memory and CPU time read from /proc, and the tables the reports print."""
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from handwriting import cli, config

PROG = "python -m handwriting.bench"
START_TIMEOUT_S = 300  # a deadline for a cold start on a busy machine, not a target
SERVER_SETTINGS = ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS")  # dropped: defaults are measured
_WORKER_LOADED = re.compile(r"model .* \(.*\) loaded from ")  # the registry logs it, once per worker


def load_engine(path):
    """A warmed-up engine, or a one-line exit when the model cannot be loaded."""
    path = Path(path or config.settings().model_path)
    if not path.is_file():
        cli.fail(f"model file not found: {path}", PROG)
    from handwriting.engine.recognition import Recognizer

    try:
        engine = Recognizer(path)
        engine.warm()
    except Exception as error:
        cli.fail(f"{path} cannot be loaded: {type(error).__name__}: {error}", PROG)
    return engine


def load_mnist(path):
    from handwriting.training import data

    try:
        return data.load(path)
    except data.DataError as error:
        cli.fail(str(error), PROG)


def spread(values):
    """The median and the 95th percentile, as the tables report latencies."""
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": float(p50), "p95": float(p95)}


def rss_mb(pid, field="VmRSS"):
    """Resident memory of a process in MB (10^6 bytes), from /proc/<pid>/status. RssFile, the part
    that maps files (TensorFlow's libraries, mostly), is shared by every worker that maps them."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise ValueError(f"no {field} for process {pid}")


def cpu_ms(pids):
    """CPU time, user and system, that these processes have used so far, in ms. Unlike wall time it
    hardly grows when other work shares the cores, so it tells the cost of a request on a busy machine."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # ended
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of stat(5)
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def children(pid):
    """The ids of the processes whose parent is `pid`: gunicorn's workers, for its master."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def machine():
    """The CPU model, the cores this process may use, and the load average when the run began:
    timings taken beside other work are slower, and the report says so."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "unknown")
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "load_average": os.getloadavg()[0]}


def multipart(field, filename, data):
    """A multipart/form-data body with one file, and its content type."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Client:
    """One keep-alive HTTP/1.1 connection, reopened once when the server has closed it while idle."""

    def __init__(self, port, timeout=120):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method, path, body=None, headers=None):
        """(status, parsed JSON body, round-trip ms)."""
        for attempt in (0, 1):
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt:
                    raise
        return response.status, json.loads(raw), (time.perf_counter() - started) * 1000.0

    def recognise(self, body, content_type):
        return self.call("POST", "/api/digit_recognize", body, {"Content-Type": content_type})

    def close(self):
        self.connection.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """./run_app.sh as shipped, started by `serving`."""

    def __init__(self, process, port, log_path, started):
        self.process, self.port, self.log_path, self.started = process, port, log_path, started

    def fail(self, message):
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        cli.fail(f"{message}; the server's log ends:\n{tail}", PROG)

    def _alive(self):
        if self.process.poll() is not None:
            self.fail(f"./run_app.sh exited with code {self.process.returncode}")
        if time.perf_counter() - self.started > START_TIMEOUT_S:
            self.fail(f"the server was not ready after {START_TIMEOUT_S} s")

    def wait_ready(self):
        """Seconds from the start of the process to the first 200 of /api/ready. A request sent while
        the workers still load waits in the listen queue, so it is answered the moment one is ready."""
        while True:
            self._alive()
            client = Client(self.port, timeout=START_TIMEOUT_S)
            try:
                status, answer, _ = client.call("GET", "/api/ready")
            except (OSError, ValueError):
                time.sleep(0.02)
                continue
            finally:
                client.close()
            if status == 200:
                return time.perf_counter() - self.started
            self.fail(f"/api/ready answered {status}: {answer}")

    def wait_workers(self):
        """The worker ids and the seconds until every one of them has loaded and warmed its model."""
        while True:
            self._alive()
            workers = children(self.process.pid)
            loaded = len(_WORKER_LOADED.findall(self.log_path.read_text(errors="replace")))
            if workers and loaded >= len(workers):
                return workers, time.perf_counter() - self.started
            time.sleep(0.05)


@contextmanager
def serving(model=None):
    """A running ./run_app.sh on a free port with the default gunicorn settings, stopped on exit."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in SERVER_SETTINGS}
    env.update(HOST="127.0.0.1", PORT=str(port))
    if model:
        env["HANDWRITING_MODEL"] = str(Path(model).resolve())
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        with log_path.open("w") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                [str(config.ROOT / "run_app.sh")], cwd=config.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            yield Server(process, port, log_path, started)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def table(header, rows, markdown, rule, right=False):
    """Rows of text cells under `header`: Markdown with `rule` as its alignment row, or aligned text
    with every column but the first right-aligned when `right`."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", rule]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def fit(row):
        return "  ".join(c.rjust(w) if right and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return "\n".join(fit(row) for row in [header, *rows])
