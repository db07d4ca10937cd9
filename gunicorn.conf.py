"""Gunicorn settings for ./run_app.sh, every one overridable from the environment.

Workers import `main:app` after the fork (no preload), so each loads and warms its own model
before it accepts a request, its ONNX Runtime sessions capped at HANDWRITING_INFERENCE_THREADS
threads. The defaults suit a 2-core machine.

gthread workers with many threads: a thread is held by each connection that is sending a
request, so trickling clients are given a deadline to send it in (below), and there are threads
enough for 50 of them while the probes are still answered; the CPU work of reading is bounded
apart from the threads, by the app's reading slots (HANDWRITING_READING_SLOTS).
"""
import atexit
import ctypes
import os
import shutil
import socket
import tempfile
import time

from gunicorn.http import parser, unreader, wsgi

from handwriting.config import settings as _settings

wsgi.SERVER = "digit-reader"  # the Server header names the service, not the server software

wsgi_app = "main:app"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "100"))  # receiving, waiting or answering: not reading
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # also bounds a worker's model load
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Method, path and query, status, size, time and the request id (X-Request-ID, the client's or the
# app's): request bodies, and so images, are never logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'


def _metrics_folder():
    """prometheus_client's multi-process folder, set before any worker imports it: each worker
    keeps one file per kind of metric there (updated in place, never one per request), and
    GET /metrics adds them up. Made in memory-backed storage at start-up and removed on exit,
    unless the operator chose one (PROMETHEUS_MULTIPROC_DIR)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = tempfile.mkdtemp(prefix="digit-reader-metrics-", dir=worker_tmp_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    master = os.getpid()
    atexit.register(lambda: os.getpid() == master and shutil.rmtree(folder, ignore_errors=True))


_metrics_folder()


client_timeout = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", "10"))  # the longest silence in a request
# A request's head and first bytes must arrive within this many seconds ...
receive_grace = float(os.environ.get("GUNICORN_RECEIVE_GRACE", "5"))
# ... and the rest at this many bytes per second or more (a 10 MiB upload in 5 minutes): a client
# that trickles a byte every few seconds holds a thread for receive_grace, not for ever.
min_receive_rate = float(os.environ.get("GUNICORN_MIN_RECEIVE_RATE", str(32 * 1024)))


def _next_request(self):
    """Start the receive deadline of each request on a connection."""
    self.unreader.since, self.unreader.received = time.monotonic(), 0
    return _parse_next(self)


def _client_read(self):
    """One read from the client, within the request's deadline (receive_grace, plus a second per
    min_receive_rate bytes received) and at most `client_timeout`; past it the read counts as a
    disconnection: a gthread worker reads headers and body on its threads, so a client that
    trickles would otherwise hold a thread for as long as it keeps sending."""
    left = self.since + receive_grace + self.received / min_receive_rate - time.monotonic()
    try:
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(min(client_timeout, left))
        data = self.sock.recv(self.mxchunk)
    except TimeoutError:
        self.sock.shutdown(socket.SHUT_RD)  # later reads end at once; the answer can still be sent
        return b""
    self.received += len(data)
    return data


_parse_next = parser.Parser.__next__
parser.Parser.__next__ = _next_request
unreader.SocketUnreader.chunk = _client_read

_MAX_UPLOAD = _settings().max_upload_bytes
_create = wsgi.create


def _create_without_early_continue(req, sock, client, server, cfg):
    """No `100 Continue` for a body declared over the upload limit: the app answers its 413 at once
    and the connection closes, so the client never sends the body it was about to."""
    length = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), "")
    if not (req._expected_100_continue and length.isdigit() and int(length) > _MAX_UPLOAD):
        return _create(req, sock, client, server, cfg)
    req._expected_100_continue = False
    response, environ = _create(req, sock, client, server, cfg)
    response.force_close()
    return response, environ


wsgi.create = _create_without_early_continue


# Memory held since the last trim that is worth handing back: an eighth of a worker that has read a
# few images (about 135 MB), so that it stays within a fifth of that whatever it read last.
TRIM_ABOVE_BYTES = 16 * 1024 * 1024
try:
    _libc = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc: nothing to hand back
    _libc = None
_PAGE = os.sysconf("SC_PAGE_SIZE")
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
# Blocks up to this size come from the heap, whose freed pages the next request reuses: glibc's
# largest mmap threshold, above an 8-MP image's RGB pixels; larger blocks are mapped and unmapped.
HEAP_BLOCKS_BYTES = 32 * 1024 * 1024
# Free memory at the heap's top is handed back by post_request's trim, not by glibc at each free.
SELF_TRIM_BYTES = 1 << 30
_trimmed_at = 0  # the worker's resident bytes after its last trim


def _resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def post_fork(server, worker):
    """Memory freed by one request kept for the next, until post_request trims. With glibc's
    defaults a worker faulted in afresh, on every request, the pages of the arrays an image is read
    into: it decoded the 6-digit PNG in 7.3-8.0 ms against 4.9 ms in a plain process. Fixed, the
    thresholds are also never raised by glibc as it goes. All threads allocate from the main arena:
    malloc_trim hands back the top of its heap, not of a thread's, and with threads' arenas a worker
    still held 315-533 MB 10 s after a burst of 36-MP uploads (120-145 MB with one arena)."""
    if _libc is not None:
        _libc.mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_BYTES)
        _libc.mallopt(M_TRIM_THRESHOLD, SELF_TRIM_BYTES)
        _libc.mallopt(M_ARENA_MAX, 1)


def post_request(worker, req, environ, resp):
    """Once an answer is sent, hand the memory the request freed back to the system when the worker
    holds TRIM_ABOVE_BYTES more than after its last trim: after post_fork glibc gives none back by
    itself, so a worker would hold on to the peak of the biggest image it ever decoded. What counts
    is the memory the decoded pixels took, which a small upload can make big; requests that took
    little skip it, so that their pages need not be faulted in again by the next one."""
    global _trimmed_at
    if _libc is not None and _resident_bytes() > _trimmed_at + TRIM_ABOVE_BYTES:
        _libc.malloc_trim(0)
        _trimmed_at = _resident_bytes()
