"""The attack phases of `--load` (issue #14), each while /api/health is probed from its own
connections: the files of pathological.py sent one by one (time, status, the worker's memory rise)
and `--pathological` of them at once, then a slowloris of `--slowloris` connections that trickle a
byte at a time, with normal reads sent meanwhile."""
import http.client
import json
import socket
import threading
import time

import numpy as np

from handwriting.bench import common, pathological

WORST_REQUEST_S = 3.0  # the targets of issue #14: the slowest pathological answer ...
WORST_RISE_MB = 800.0  # ... the most one request may add to a worker's peak memory ...
HEALTH_WITHIN_S = 1.0  # ... and how soon every probe is answered
PROBE_EVERY_S = 0.2
PROBE_TIMEOUT_S = 10.0  # a probe unanswered this long counts as unanswered
REQUEST_TIMEOUT_S = 120.0  # far above any answer, so only a hung server reaches it
TRICKLE_EVERY_S = 2.0  # a byte per connection this often: under gunicorn's 10 s of allowed silence
SLOWLORIS_S = 20.0  # how long the slowloris phase lasts
NORMAL_EVERY_S = 1.0  # a normal read sent this often during the slowloris
AT_ONCE_KINDS = ("combs", "hairlines", "16-bit PNG", "1-row strip")  # the slowest files that are read


def send(target, body, content_type, timeout=REQUEST_TIMEOUT_S):
    """(status, error code or None, seconds) of one request on a fresh connection; status 0 when
    none came back."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(*target, timeout=timeout)
    try:
        connection.request("POST", "/api/digit_recognize", body, {"Content-Type": content_type})
        response = connection.getresponse()
        answer = json.loads(response.read())
        return response.status, (answer.get("error") or {}).get("code"), time.perf_counter() - started
    except (OSError, http.client.HTTPException, ValueError):
        return 0, None, time.perf_counter() - started
    finally:
        connection.close()


class Probes(threading.Thread):
    """GET /api/health every PROBE_EVERY_S on a new connection, as a monitor does, until `stop`:
    the seconds each took, None for each left unanswered."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target, self.seconds, self.done = target, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            started = time.perf_counter()
            connection = http.client.HTTPConnection(*self.target, timeout=PROBE_TIMEOUT_S)
            try:
                connection.request("GET", "/api/health")
                answered = connection.getresponse().status == 200
            except (OSError, http.client.HTTPException):
                answered = False
            finally:
                connection.close()
            self.seconds.append(time.perf_counter() - started if answered else None)
            self.done.wait(PROBE_EVERY_S)

    def stop(self):
        self.done.set()
        self.join()
        return probe_summary(self.seconds)


def probe_summary(seconds):
    answered = [s for s in seconds if s is not None]
    within = sum(s <= HEALTH_WITHIN_S for s in answered)
    return {"probes": len(seconds), "within_1s": within, "share_within_1s": within / max(1, len(seconds)),
            "worst_s": max(answered, default=None), "p50_s": float(np.median(answered)) if answered else None}


def _reset_peaks(pids):
    """Each worker's resident MB now, its peak (VmHWM) reset to it."""
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    return {pid: common.rss_mb(pid) for pid in pids}


def _rise(before):
    return max(common.rss_mb(pid, "VmHWM") - mb for pid, mb in before.items())


def one_by_one(target, pids):
    """Each pathological file alone: status, code, seconds and (with `pids`) the biggest peak
    memory rise of a worker."""
    rows = {}
    for name, make in pathological.CASES.items():
        body, content_type = common.multipart("file", f"{name}.bin", make())
        before = _reset_peaks(pids) if pids else None
        status, code, seconds = send(target, body, content_type)
        rows[name] = {"status": status, "code": code, "seconds": seconds, "rise_mb": _rise(before) if pids else None}
    return rows


def at_once(target, count):
    """`count` pathological reads at once, of the slowest kinds, while the probes run."""
    bodies = [common.multipart("file", "x.png", pathological.CASES[kind]()) for kind in AT_ONCE_KINDS]
    answers = []
    probes = Probes(target)
    probes.start()
    senders = [threading.Thread(target=lambda i=i: answers.append(send(target, *bodies[i % len(bodies)]))) for i in range(count)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return {"requests": count, "statuses": sorted(status for status, _, _ in answers),
            "worst_s": max(seconds for _, _, seconds in answers), "health": probes.stop()}


class Trickle(threading.Thread):
    """`connections` sockets, each sending one byte of an endless request every TRICKLE_EVERY_S,
    half inside the head and half inside a declared body, reconnecting when the server drops one."""

    HEAD = b"POST /api/digit_recognize HTTP/1.1\r\nHost: x\r\n"
    BODY = HEAD + b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"

    def __init__(self, target, connections):
        super().__init__(daemon=True)
        self.target, self.count, self.done, self.dropped = target, connections, threading.Event(), 0

    def _open(self, index):
        sock = socket.create_connection(self.target, timeout=5)
        sock.sendall(self.BODY if index % 2 else self.HEAD + b"X-Trickle: ")
        return sock

    def run(self):
        socks = [self._open(i) for i in range(self.count)]
        while not self.done.wait(TRICKLE_EVERY_S):
            for i, sock in enumerate(socks):
                try:
                    sock.sendall(b"1")
                except OSError:
                    self.dropped += 1
                    sock.close()
                    socks[i] = self._open(i)
        for sock in socks:
            sock.close()

    def stop(self):
        self.done.set()
        self.join()


def slowloris(target, connections, normal):
    """SLOWLORIS_S of `connections` trickling clients; meanwhile the probes, and a normal read
    (`normal`: body and content type) every NORMAL_EVERY_S."""
    trickle = Trickle(target, connections)
    trickle.start()
    time.sleep(TRICKLE_EVERY_S)  # every connection open and holding its thread
    probes = Probes(target)
    probes.start()
    reads = []
    ends = time.perf_counter() + SLOWLORIS_S
    while time.perf_counter() < ends:
        reads.append(send(target, *normal))
        time.sleep(NORMAL_EVERY_S)
    health = probes.stop()
    trickle.stop()
    answered = [seconds for status, _, seconds in reads if status == 200]
    return {"connections": connections, "seconds": SLOWLORIS_S, "reconnections": trickle.dropped, "health": health,
            "reads": len(reads), "reads_answered": len(answered), "read_worst_s": max(answered, default=None)}


def checks(report):
    """(name, value as text, passed) for each target of issue #14 that the phases measured."""
    rows = []
    alone = report.get("one_by_one")
    if alone:
        worst = max(alone.items(), key=lambda item: item[1]["seconds"])
        rows.append(("pathological: worst request", f"{worst[1]['seconds']:.2f} s ({worst[0]})", worst[1]["seconds"] <= WORST_REQUEST_S))
        rises = [(row["rise_mb"], name) for name, row in alone.items() if row["rise_mb"] is not None]
        if rises:
            mb, name = max(rises)
            rows.append(("pathological: worst worker memory rise", f"{mb:.0f} MB ({name})", mb <= WORST_RISE_MB))
        failed = [name for name, row in alone.items() if row["status"] == 0 or row["status"] >= 500]
        rows.append(("pathological: 5xx or no answer", str(len(failed)), not failed))
    if report.get("at_once"):
        failed = [status for status in report["at_once"]["statuses"] if status == 0 or status >= 500]
        rows.append(("at_once: 5xx or no answer", str(len(failed)), not failed))
    for phase in ("at_once", "slowloris"):
        result = report.get(phase)
        if result:
            health = result["health"]
            rows.append((f"{phase}: health within {HEALTH_WITHIN_S:g} s", f"{health['within_1s']} of {health['probes']}",
                         health["within_1s"] == health["probes"] > 0))
    if report.get("slowloris"):
        result = report["slowloris"]
        rows.append(("slowloris: normal reads answered", f"{result['reads_answered']} of {result['reads']}",
                     result["reads_answered"] == result["reads"] > 0))
    return rows
