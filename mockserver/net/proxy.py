"""A forward proxy that sends a client's requests for the vendor hosts to the emulator.

A client started with ``HTTPS_PROXY=http://127.0.0.1:8080`` asks ``CONNECT app.parkpow.com:443``;
the proxy answers 200 and joins that connection to the emulator's HTTPS port, where the
client's own TLS handshake meets the leaf that covers the host. The request is then served
exactly as if it had arrived directly (same journal, faults, dashboard), with the ``Host``
the client sent, so absolute URLs in the reply name the vendor's host. A plain ``http://``
request (absolute-form request line) is sent on over TLS to the same port, one request per
connection, with ``X-Forwarded-Proto: http`` so the reply's links keep the client's scheme.

A host that no vendor owns is refused with 403, unless ``passthrough`` tunnels it to the
real host: by default this is never an open proxy.

Robustness: every connection is one task on one event loop (no thread per client); the
request head must arrive within ``head_timeout`` and fit in ``HEAD_LIMIT`` bytes (a
slowloris costs one connection for that long); a tunnel silent both ways for
``idle_timeout`` is closed; beyond ``max_connections`` a client gets 503 at once. Whatever
goes wrong in one connection (a failed handshake, garbage, a reset) closes that connection
only.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

#: the longest request head (request line and headers) the proxy reads, bytes
HEAD_LIMIT = 32 * 1024
CHUNK = 64 * 1024
#: headers that concern one hop only: never sent on to the emulator or a passed-through host
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "x-forwarded-proto",
    }
)


@dataclass(frozen=True)
class ProxySettings:
    vendor_hosts: tuple[str, ...]  # answered by the emulator (from the vendor descriptors)
    upstream_host: str  # the emulator's HTTPS address, as this machine reaches it
    upstream_port: int
    ca_file: str  # the local CA: checks the emulator's leaf when sending plain http on
    passthrough: bool = False  # tunnel other hosts to the real ones instead of 403
    head_timeout: float = 10.0
    idle_timeout: float = 120.0
    connect_timeout: float = 10.0
    max_connections: int = 512


class Refusal(Exception):
    """A request the proxy answers itself: status and the ``{"detail": ...}`` text."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]


class ForwardProxy:
    """Serves proxy clients on a bound listening socket (see ``serve``)."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.vendor_hosts = frozenset(_host(name) for name in settings.vendor_hosts)
        self.active = 0  # connections open now (one event loop: no lock needed)
        self._upstream_tls: ssl.SSLContext | None = None

    async def serve(self, listener: socket.socket) -> asyncio.Server:
        return await asyncio.start_server(self.handle, sock=listener, limit=HEAD_LIMIT)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        try:
            if self.active > self.settings.max_connections:
                raise Refusal(503, "The proxy has too many connections open; try again.")
            head = await self._read_head(reader)
            if head.method == "CONNECT":
                await self._tunnel(head, reader, writer)
            else:
                await self._forward(head, reader, writer)
        except Refusal as refusal:
            await _refuse(writer, refusal)
        except (OSError, EOFError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # this connection failed or went away: it alone is closed
        except Exception as error:  # noqa: BLE001 - one connection's fault never stops the proxy
            print(f"proxy: connection dropped: {error!r}", file=sys.stderr, flush=True)
        finally:
            self.active -= 1
            await _close(writer)

    async def _read_head(self, reader: asyncio.StreamReader) -> RequestHead:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.settings.head_timeout)
        except TimeoutError:
            raise Refusal(408, "The request head did not arrive in time.") from None
        except asyncio.LimitOverrunError:
            raise Refusal(431, f"The request head is longer than {HEAD_LIMIT} bytes.") from None
        return parse_head(raw)

    async def _tunnel(self, head: RequestHead, reader, writer) -> None:
        """``CONNECT host:port``: a vendor host to the emulator's HTTPS port, others refused
        (or, with passthrough, to the real host)."""
        host, port = _authority(head.target)
        if host in self.vendor_hosts:
            if port != 443:
                raise Refusal(403, f"CONNECT {host}:{port}: the emulator answers port 443 only.")
            target = (self.settings.upstream_host, self.settings.upstream_port)
        elif self.settings.passthrough:
            target = (host, port)
        else:
            raise Refusal(403, self._not_ours(f"CONNECT {host}:{port}", host))
        up_reader, up_writer = await self._open(*target)
        try:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await self._pipe(reader, writer, up_reader, up_writer)
        finally:
            await _close(up_writer)

    async def _forward(self, head: RequestHead, reader, writer) -> None:
        """``GET http://host/path``: sent on as an origin-form request, one per connection."""
        url = urlsplit(head.target)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise Refusal(
                400,
                "This port is a forward proxy: send CONNECT host:443, or a request whose "
                "target is an absolute http:// URL.",
            )
        host = _host(url.hostname)
        try:
            port = url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            raise Refusal(400, f"Bad port in {head.target!r}.") from None
        if host in self.vendor_hosts:
            target = (self.settings.upstream_host, self.settings.upstream_port)
            tls, server_name = self._emulator_tls(), host
        elif self.settings.passthrough:
            target = (host, port)
            tls = ssl.create_default_context() if url.scheme == "https" else None
            server_name = host if tls else None
        else:
            raise Refusal(403, self._not_ours(f"{head.method} {url.scheme}://{host}", host))
        up_reader, up_writer = await self._open(*target, tls=tls, server_name=server_name)
        try:
            up_writer.write(origin_form(head, url, url.scheme))
            await up_writer.drain()
            await self._pipe(reader, writer, up_reader, up_writer)
        finally:
            await _close(up_writer)

    def _not_ours(self, what: str, host: str) -> str:
        return (
            f"{what}: no emulated vendor owns {host} (the emulator answers "
            f"{', '.join(sorted(self.vendor_hosts))}); start the server with "
            "--proxy-passthrough to tunnel other hosts to the real ones."
        )

    def _emulator_tls(self) -> ssl.SSLContext:
        if self._upstream_tls is None:
            self._upstream_tls = ssl.create_default_context(cafile=self.settings.ca_file)
        return self._upstream_tls

    async def _open(self, host: str, port: int, tls=None, server_name=None):
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=server_name, limit=CHUNK
                ),
                self.settings.connect_timeout,
            )
        except (OSError, TimeoutError, ssl.SSLError) as error:
            raise Refusal(
                502, f"{host}:{port} did not answer: {str(error) or 'timed out'}"
            ) from None

    async def _pipe(self, reader, writer, up_reader, up_writer) -> None:
        """Copy both ways until the server's side ends (the client's ending first only
        half-closes: the reply still comes back), or both are silent for ``idle_timeout``."""
        activity = _Activity(self.settings.idle_timeout)
        upward = asyncio.create_task(_copy(reader, up_writer, activity))
        downward = asyncio.create_task(_copy(up_reader, writer, activity))
        try:
            done, _ = await asyncio.wait({upward, downward}, return_when=asyncio.FIRST_COMPLETED)
            if upward in done and upward.exception() is None and not downward.done():
                await asyncio.wait({downward})  # the client sent all it had: await the reply
        finally:
            for task in (upward, downward):
                task.cancel()
            await asyncio.gather(upward, downward, return_exceptions=True)


class _Activity:
    """When bytes last moved either way in one tunnel."""

    def __init__(self, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self.last = time.monotonic()

    def idle_for(self) -> float:
        return time.monotonic() - self.last


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter, activity) -> None:
    while True:
        try:
            data = await asyncio.wait_for(source.read(CHUNK), activity.idle_timeout)
        except TimeoutError:
            if activity.idle_for() >= activity.idle_timeout:
                raise
            continue  # the other way is busy: a long reply to a quiet client
        if not data:
            if sink.can_write_eof():
                sink.write_eof()
            return
        activity.last = time.monotonic()
        sink.write(data)
        await asyncio.wait_for(sink.drain(), activity.idle_timeout)


def parse_head(raw: bytes) -> RequestHead:
    """The request line and headers (ISO-8859-1, as HTTP/1.1 defines them)."""
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[0].isalpha():
        raise Refusal(400, "Malformed request line.")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise Refusal(400, "Malformed header line.")
        headers.append((name, value.strip()))
    return RequestHead(parts[0].upper(), parts[1], parts[2], headers)


def origin_form(head: RequestHead, url, scheme: str) -> bytes:
    """The head as the emulator (or the real host) expects it: the path alone on the request
    line, the authority in ``Host``, this hop's headers dropped, one request per connection."""
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    named_by_connection = {
        token.strip().lower()
        for name, value in head.headers
        if name.lower() in ("connection", "proxy-connection")
        for token in value.split(",")
    }
    authority = url.netloc.rpartition("@")[2]
    lines = [f"{head.method} {path} {head.version}", f"Host: {authority}"]
    for name, value in head.headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP or lowered in named_by_connection or lowered == "host":
            continue
        lines.append(f"{name}: {value}")
    lines += ["Connection: close", f"X-Forwarded-Proto: {scheme}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _authority(target: str) -> tuple[str, int]:
    """``host:port`` of a CONNECT (``[v6]:port`` too)."""
    refusal = Refusal(400, f"CONNECT needs host:port, not {target!r}.")
    try:
        parts = urlsplit("//" + target)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise refusal from None
    if not host or port is None or parts.path or parts.query:
        raise refusal
    return _host(host), port


def _host(name: str) -> str:
    return name.strip("[]").rstrip(".").lower()


async def _refuse(writer: asyncio.StreamWriter, refusal: Refusal) -> None:
    body = json.dumps({"detail": refusal.detail}).encode()
    head = (
        f"HTTP/1.1 {refusal.status} {REASONS.get(refusal.status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    try:
        writer.write(head.encode() + body)
        await asyncio.wait_for(writer.drain(), 5)
    except (OSError, TimeoutError):
        pass


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (OSError, TimeoutError, ssl.SSLError):
        pass
