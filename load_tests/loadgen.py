"""A small HTTP load generator that can saturate the emulator on the same machine.

Pure Python, no dependency: a pool of processes, each driving many keep-alive connections
through one ``selectors`` loop with pre-encoded requests (a few microseconds of client work
per request, so the server, not the client, is measured). Two modes:

* closed loop (``rate=None``): every connection sends its next request as soon as the
  previous reply is in — the most the server can do at that concurrency;
* open loop (``rate=R``): requests are due at a fixed rate; a request waiting for a free
  connection counts its waiting time too (no coordinated omission).
"""

from __future__ import annotations

import multiprocessing
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: builds request number ``n`` of process ``worker``: (request bytes, a tag kept with the result)
RequestFactory = Callable[[int, int], tuple[bytes, str]]


@dataclass
class Result:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    accepted: dict[str, int] = field(default_factory=dict)  # tag -> 2xx replies

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def failures(self) -> int:
        return self.errors + sum(n for code, n in self.statuses.items() if code >= 400)

    def merge(self, other: Result) -> None:
        self.seconds = max(self.seconds, other.seconds)
        self.latencies_ms.extend(other.latencies_ms)
        self.errors += other.errors
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        for tag, n in other.accepted.items():
            self.accepted[tag] = self.accepted.get(tag, 0) + n


def get_request(url: str, headers: dict[str, str] | None = None) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_request(
    url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> bytes:
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def run(
    url: str | list[str],
    factory: RequestFactory,
    *,
    seconds: float,
    processes: int = 2,
    connections: int = 16,
    rate: float | None = None,
    warmup: float = 1.0,
) -> Result:
    """Drive ``url``'s server with ``processes`` x ``connections``; results of all merged.

    ``url`` may be a list (several hosts of one world): process ``w`` drives ``url[w % n]``.
    ``factory`` must be picklable (a module-level function or a ``functools.partial``).
    """
    urls = [url] if isinstance(url, str) else list(url)
    addresses = [(parts.hostname or "127.0.0.1", parts.port or 80) for parts in map(urlsplit, urls)]
    share = rate / processes if rate else None
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        start_at = time.time() + 0.5 + processes * 0.2  # every worker starts together
        jobs = [
            pool.apply_async(
                _drive,
                (
                    addresses[worker % len(addresses)],
                    factory,
                    worker,
                    seconds,
                    connections,
                    share,
                    warmup,
                    start_at,
                ),
            )
            for worker in range(processes)
        ]
        total = Result()
        for job in jobs:
            total.merge(job.get())
    return total


class _Connection:
    __slots__ = ("sock", "buffer", "sent_at", "tag", "pending", "out")

    def __init__(self, address) -> None:
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.sent_at = 0.0
        self.tag = ""
        self.pending = False
        self.out = memoryview(b"")


def _drive(address, factory, worker, seconds, connections, rate, warmup, start_at) -> Result:
    time.sleep(max(0.0, start_at - time.time()))
    selector = selectors.DefaultSelector()
    pool = [_Connection(address) for _ in range(connections)]
    idle = list(pool)
    result = Result()
    begin = time.perf_counter()
    measure_from = begin + warmup
    stop = measure_from + seconds
    n = 0
    next_due = begin

    def send(conn: _Connection, due: float) -> None:
        nonlocal n
        payload, conn.tag = factory(worker, n)
        n += 1
        conn.sent_at = due
        conn.pending = True
        conn.out = memoryview(payload)
        _flush(conn)
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        selector.register(conn.sock, events, conn)

    while True:
        now = time.perf_counter()
        if now >= stop and not any(c.pending for c in pool):
            break
        if now < stop:
            if rate is None:
                while idle:
                    send(idle.pop(), now)
            else:
                while idle and next_due <= now:
                    send(idle.pop(), next_due)
                    next_due += 1.0 / rate
        timeout = 0.05 if rate is None else max(0.0, min(0.05, next_due - now))
        for key, events in selector.select(timeout):
            conn: _Connection = key.data
            if events & selectors.EVENT_WRITE and conn.out:
                _flush(conn)
                if not conn.out:
                    selector.modify(conn.sock, selectors.EVENT_READ, conn)
            if not events & selectors.EVENT_READ:
                continue
            try:
                chunk = conn.sock.recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:  # the server closed: count an error, reconnect
                selector.unregister(conn.sock)
                conn.sock.close()
                if conn.sent_at >= measure_from:
                    result.errors += 1
                fresh = _Connection(address)
                pool[pool.index(conn)] = fresh
                idle.append(fresh)
                continue
            conn.buffer += chunk
            status = _complete(conn.buffer)
            if status is None:
                continue
            done = time.perf_counter()
            status_code, used = status
            conn.buffer = conn.buffer[used:]
            conn.pending = False
            selector.unregister(conn.sock)
            if conn.sent_at >= measure_from:
                result.latencies_ms.append((done - conn.sent_at) * 1000)
                result.statuses[status_code] = result.statuses.get(status_code, 0) + 1
            if 200 <= status_code < 300 and conn.tag:
                result.accepted[conn.tag] = result.accepted.get(conn.tag, 0) + 1
            idle.append(conn)
    result.seconds = seconds
    for conn in pool:
        conn.sock.close()
    return result


def _flush(conn: _Connection) -> None:
    while conn.out:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            return
        conn.out = conn.out[sent:]


def _complete(buffer: bytes) -> tuple[int, int] | None:
    """(status, bytes used) when ``buffer`` holds one whole response, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    lowered = head.lower()
    marker = lowered.find("\ncontent-length:")
    if marker >= 0:
        length = int(lowered[marker + 16 :].split("\r\n", 1)[0].strip())
    elif "transfer-encoding: chunked" in lowered:
        tail = buffer.find(b"\r\n0\r\n\r\n", end)
        return (status, tail + 7) if tail >= 0 else None
    if len(buffer) < end + 4 + length:
        return None
    return status, end + 4 + length
