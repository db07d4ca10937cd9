"""Gunicorn settings for ./run_app.sh, every one overridable from the environment.

Workers import `main:app` after the fork (no preload), so each loads and warms its own model
before it accepts a request, and TensorFlow's thread pools are capped per worker
(HANDWRITING_TF_THREADS) before its first op. The defaults suit a 2-core machine.
"""
import ctypes
import os
import socket

from gunicorn.http import unreader, wsgi

wsgi.SERVER = "digit-reader"  # the Server header names the service, not the server software

wsgi_app = "main:app"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
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
# Method, path and query, status, size and time: request bodies, and so images, are never logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'


client_timeout = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", "10"))


def _client_read(self):
    """One read from the client that waits at most `client_timeout`, then counts as a disconnection:
    a gthread worker reads headers and body on its threads, so a client that stalls mid-request
    would otherwise hold a thread for as long as it keeps the socket open."""
    self.sock.settimeout(client_timeout)
    try:
        return self.sock.recv(self.mxchunk)
    except TimeoutError:
        self.sock.shutdown(socket.SHUT_RD)  # later reads end at once; the answer can still be sent
        return b""


unreader.SocketUnreader.chunk = _client_read


TRIM_AFTER_BYTES = 512 * 1024
try:
    _libc = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc: nothing to hand back
    _libc = None


def post_request(worker, req, environ, resp):
    """Once the answer to a big upload is sent, hand the memory it freed back to the system: glibc
    keeps an arena per thread, and each would otherwise hold on to the peak of the biggest photo it
    ever read (about 45 MB for a 12-MP JPEG, so up to 180 MB more per worker of 4 threads). Small
    uploads skip it: their pages would only have to be faulted in again by the next request."""
    if _libc is not None and int(environ.get("CONTENT_LENGTH") or 0) >= TRIM_AFTER_BYTES:
        _libc.malloc_trim(0)
