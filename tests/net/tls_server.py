"""``mockserver serve --tls --proxy-port`` on free loopback ports, for clients started by tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from mockserver.testkit import seeds
from mockserver.testkit.plugin import free_port

TOKEN = "tok-tls"
LICENSE = "LIC-TLS"
CAMERA = "CAM-TLS-1"
PARKPOW_CAMERA = "301"

#: a world without the upload throttle, so clients may call back to back
WORLD = seeds.world(
    seeds.account(
        TOKEN,
        licenses=[
            seeds.license(
                LICENSE,
                cameras=[seeds.camera(CAMERA), seeds.camera("CAM-TLS-2"), seeds.camera("CAM-3")],
            )
        ],
        parkings=[seeds.parking("tls-lot", cameras=[seeds.parking_camera(PARKPOW_CAMERA)])],
    )
)


def require(program: str, install: str) -> str:
    """The program's path; skipped (failed under CI=true, where it must run) when missing."""
    path = shutil.which(program)
    if path:
        return path
    reason = f"{program} is not installed ({install})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"must run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


class TlsServer:
    """The emulator serving HTTPS on ``port`` and a forward proxy on ``proxy_port``."""

    def __init__(self, extra_args: list[str] | None = None, proxy: bool = True) -> None:
        self.directory = tempfile.mkdtemp(prefix="mockserver-tls-")
        self.ca_dir = os.path.join(self.directory, "ca")
        self.ca = os.path.join(self.ca_dir, "ca.pem")
        self.extra_args = list(extra_args or [])
        self.proxy = proxy  # False: ``--tls`` alone
        self.process: subprocess.Popen | None = None
        self.log_path = os.path.join(self.directory, "serve.log")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def start(self, timeout: float = 60.0, retries: int = 2) -> TlsServer:
        self.port, self.proxy_port = free_port(), free_port()
        seed = os.path.join(self.directory, "seed.json")
        with open(seed, "w", encoding="utf-8") as handle:
            json.dump(WORLD, handle)
        command = [
            *(sys.executable, "-m", "mockserver.cli", "serve", "--workers", "1"),
            "--port",
            str(self.port),
            *(("--proxy-port", str(self.proxy_port)) if self.proxy else ("--tls",)),
            *("--ca-dir", self.ca_dir, "--ephemeral", "--seed", seed, *self.extra_args),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            return self._wait_until_healthy(timeout, retries)
        except BaseException:
            self.cleanup()  # never a server left running by a start that failed
            raise

    def _wait_until_healthy(self, timeout: float, retries: int) -> TlsServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if retries and "in use" in self.log().lower():  # a port taken meanwhile
                    return self.start(timeout, retries - 1)
                raise RuntimeError(f"mockserver exited early:\n{self.log()}")
            if self.healthy(timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"mockserver did not start in {timeout}s:\n{self.log()}")

    def healthy(self, timeout: float = 5) -> bool:
        try:
            reply = requests.get(f"{self.url}/_mock/health", verify=self.ca, timeout=timeout)
        except OSError:  # not listening yet, or its CA not written yet
            return False
        return reply.status_code == 200

    def journal(self, since: int | None = None) -> dict:
        params = {} if since is None else {"since": since}
        reply = requests.get(
            f"{self.url}/_mock/requests", params=params, verify=self.ca, timeout=10
        )
        reply.raise_for_status()
        return reply.json()

    def mark(self) -> int:
        """The journal's newest id: ``journaled(..., since=mark)`` shows what came after."""
        return max((entry["id"] for entry in self.journal()["requests"]), default=0)

    def journaled(self, method: str, path: str, since: int = 0) -> list[dict]:
        entries = self.journal(since)["requests"]
        return [e for e in entries if e["method"] == method and e["path"] == path]

    def log(self) -> str:
        with open(self.log_path, "rb") as handle:
            return handle.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # its whole group: workers, the proxy
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def raw_exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send ``data`` on a fresh connection and read until the other side closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received
