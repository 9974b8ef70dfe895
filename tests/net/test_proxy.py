"""The forward proxy and the HTTPS port under bad clients: refusals are clear, and a failed
handshake, plain HTTP on the TLS port or a slowloris costs one connection, never the server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import socketserver
import ssl
import threading
import time
from contextlib import contextmanager

import psutil
import pytest
import requests
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.net.proxy import HEAD_LIMIT, ForwardProxy, ProxySettings

from .tls_server import TOKEN, TlsServer, raw_exchange


@pytest.fixture(scope="module")
def server():
    server = TlsServer().start()
    yield server
    server.cleanup()


def reply_of(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def parking_list(server, timeout: float = 10) -> int:
    """One request of a well-behaved client through the proxy: its status."""
    return requests.get(
        "https://app.parkpow.com/api/v1/parking-list/",
        headers={"Authorization": f"Token {TOKEN}"},
        proxies={"https": server.proxy_url},
        verify=server.ca,
        timeout=timeout,
    ).status_code


# -- refusals ------------------------------------------------------------------------------


def test_connect_to_a_host_no_vendor_owns_is_refused_with_403(server):
    status, body = reply_of(
        raw_exchange(server.proxy_port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    )
    assert status == 403
    assert "example.com" in body["detail"] and "--proxy-passthrough" in body["detail"]
    status, body = reply_of(
        raw_exchange(server.proxy_port, b"GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n")
    )
    assert status == 403 and "example.com" in body["detail"]


@pytest.mark.parametrize(
    ("request_head", "status", "words"),
    [
        (b"CONNECT app.parkpow.com:80 HTTP/1.1\r\n\r\n", 403, "port 443 only"),
        (b"GET /api/v1/parking-list/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "forward proxy"),
        (b"CONNECT app.parkpow.com HTTP/1.1\r\n\r\n", 400, "host:port"),
        (b"HELLO\r\n\r\n", 400, "request line"),
        (b"GET http://app.parkpow.com/ HTTP/1.1\r\n" + b"X: " + b"a" * HEAD_LIMIT, 431, "longer"),
    ],
)
def test_bad_proxy_requests_get_a_clear_4xx(server, request_head, status, words):
    got, body = reply_of(raw_exchange(server.proxy_port, request_head))
    assert got == status and words in body["detail"]


# -- bad clients cost one connection -------------------------------------------------------


def test_plain_http_to_the_tls_port_is_closed_and_the_server_keeps_serving(server):
    raw = raw_exchange(server.port, b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert not raw.startswith(b"HTTP/")  # a TLS alert at most, then the close
    assert server.healthy() and parking_list(server) == 200


def test_a_failed_handshake_in_a_tunnel_is_closed_and_others_are_served(server):
    with socket.create_connection(("127.0.0.1", server.proxy_port), timeout=5) as sock:
        sock.sendall(b"CONNECT app.parkpow.com:443 HTTP/1.1\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.sendall(b"this is no TLS client hello\r\n\r\n")
        while sock.recv(1024):  # the emulator gives up on it; the tunnel closes
            pass
    untrusting = ssl.create_default_context()  # the system roots: not our CA
    with socket.create_connection(("127.0.0.1", server.proxy_port), timeout=5) as sock:
        sock.sendall(b"CONNECT app.parkpow.com:443 HTTP/1.1\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusting.wrap_socket(sock, server_hostname="app.parkpow.com")
    assert parking_list(server) == 200


def test_slowloris_on_connect_and_on_the_tls_port_leave_others_served(server):
    stalled = []
    try:
        for port, first_bytes in [
            (server.proxy_port, b"CONNECT app.parkpow.com:443 HTTP/1.1\r\nHost: app"),
            (server.port, b"\x16\x03\x01\x00"),  # the first bytes of a ClientHello
        ] * 5:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(first_bytes)
            stalled.append(sock)
        started = time.monotonic()
        assert [parking_list(server, timeout=5) for _ in range(5)] == [200] * 5
        assert time.monotonic() - started < 5
    finally:
        for sock in stalled:
            sock.close()
    assert server.healthy()


def test_passthrough_flag_tunnels_other_hosts_and_the_proxy_ends_with_the_server(echo_port):
    server = TlsServer(extra_args=["--proxy-passthrough"]).start()
    try:
        assert "other hosts tunnelled" in server.log()
        with socket.create_connection(("127.0.0.1", server.proxy_port), timeout=5) as sock:
            sock.sendall(f"CONNECT 127.0.0.1:{echo_port} HTTP/1.1\r\n\r\n".encode())
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
            sock.sendall(b"ping")
            assert sock.recv(1024) == b"ping"
        assert parking_list(server) == 200  # vendor hosts still go to the emulator
        os.kill(server.process.pid, signal.SIGKILL)  # the server dies without stopping it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _listening(server.proxy_port):
            time.sleep(0.2)
        assert not _listening(server.proxy_port), "the proxy outlived the server"
    finally:
        try:  # the workers, whose parent is gone
            os.killpg(server.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.cleanup()


def test_tls_alone_serves_https_without_a_proxy():
    server = TlsServer(proxy=False).start()
    try:
        log = server.log()
        assert f"mockserver on https://127.0.0.1:{server.port}" in log
        assert f"CA certificate {server.ca}" in log and "forward proxy" not in log
        assert not _listening(server.proxy_port)
        reply = requests.get(
            f"{server.url}/api/v1/parking-list/",
            headers={"Authorization": f"Token {TOKEN}"},
            verify=server.ca,
            timeout=10,
        )
        assert reply.status_code == 200
    finally:
        server.cleanup()


def test_the_proxy_needs_a_port_of_its_own():
    result = CliRunner().invoke(main, ["serve", "--port", "8123", "--proxy-port", "8123"])
    assert result.exit_code == 2 and "--proxy-port needs a port of its own" in result.output


def test_the_proxy_binds_loopback_unless_told_otherwise(server):
    tree = psutil.Process(server.process.pid)
    bound = {
        connection.laddr.ip
        for process in [tree, *tree.children(recursive=True)]
        for connection in process.net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == server.proxy_port
    }
    assert bound == {"127.0.0.1"}


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# -- the proxy's own bounds, with small numbers (in this process, against an echo server) ---


@pytest.fixture(scope="module")
def echo_port():
    class Echo(socketserver.BaseRequestHandler):
        def handle(self):
            while data := self.request.recv(65536):
                self.request.sendall(data)

    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as echo:
        threading.Thread(target=echo.serve_forever, daemon=True).start()
        yield echo.server_address[1]
        echo.shutdown()


@contextmanager
def running_proxy(**settings):
    """A ForwardProxy on an event loop of its own thread; yields its port."""
    defaults = dict(vendor_hosts=("app.parkpow.com",), upstream_host="127.0.0.1", ca_file="")
    proxy = ForwardProxy(ProxySettings(**{**defaults, **settings}))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    ready, running = threading.Event(), {}

    async def serve() -> None:
        running["loop"], running["stop"] = asyncio.get_running_loop(), asyncio.Event()
        async with await proxy.serve(listener):
            ready.set()
            await running["stop"].wait()
        # asyncio.run then cancels the open connections and lets each close

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield port
    finally:
        running["loop"].call_soon_threadsafe(running["stop"].set)
        thread.join(10)


def test_a_head_that_does_not_arrive_in_time_gets_408(echo_port):
    with running_proxy(upstream_port=echo_port, head_timeout=0.3) as port:
        started = time.monotonic()
        status, body = reply_of(raw_exchange(port, b"CONNECT app.parkpow.com:443 HTTP/1.1\r\n"))
        assert status == 408 and "in time" in body["detail"]
        assert time.monotonic() - started < 3


def test_passthrough_only_when_asked(echo_port):
    connect = f"CONNECT 127.0.0.1:{echo_port} HTTP/1.1\r\n\r\n".encode()
    with running_proxy(upstream_port=echo_port) as port:
        assert reply_of(raw_exchange(port, connect))[0] == 403
    with running_proxy(upstream_port=echo_port, passthrough=True) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(connect)
            assert sock.recv(1024) == b"HTTP/1.1 200 Connection Established\r\n\r\n"
            sock.sendall(b"ping")
            assert sock.recv(1024) == b"ping"


def test_connections_beyond_the_bound_get_503(echo_port):
    connect = b"CONNECT app.parkpow.com:443 HTTP/1.1\r\n\r\n"
    with running_proxy(upstream_port=echo_port, max_connections=2) as port:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(connect)
                assert sock.recv(1024).startswith(b"HTTP/1.1 200")
            status, body = reply_of(raw_exchange(port, connect))
            assert status == 503 and "too many" in body["detail"]
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 5
        while True:  # the closed tunnels free their places
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(connect)
                if sock.recv(1024).startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                    break
            time.sleep(0.05)
        assert time.monotonic() <= deadline


def test_a_tunnel_silent_both_ways_is_closed(echo_port):
    connect = b"CONNECT app.parkpow.com:443 HTTP/1.1\r\n\r\n"
    with running_proxy(upstream_port=echo_port, idle_timeout=0.5) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(connect + b"ping")
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            while sock.recv(1024):  # the echo, then the close
                pass
            assert 0.3 < time.monotonic() - started < 4


def test_an_emulator_that_does_not_answer_gives_502():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]  # bound, never listening: refused
        with running_proxy(upstream_port=closed_port) as port:
            status, body = reply_of(
                raw_exchange(port, b"CONNECT app.parkpow.com:443 HTTP/1.1\r\n\r\n")
            )
    assert status == 502 and f"127.0.0.1:{closed_port} did not answer" in body["detail"]
