"""Test integrations: a live emulator in a subprocess, and pytest fixtures (plugin ``pytest11``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``mockserver serve`` on a free loopback port with a throw-away (or given) store."""

    def __init__(
        self,
        workers: int = 1,
        seed: str = "demo",
        data_dir: str | None = None,
        extra_args: list[str] | None = None,
        env: dict | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.seed = seed
        self.data_dir = data_dir
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.log_path = tempfile.mktemp(prefix="mockserver-live-", suffix=".log")

    def start(self, timeout: float = 30.0) -> LiveServer:
        store = ["--data-dir", self.data_dir] if self.data_dir else ["--ephemeral"]
        command = [
            sys.executable,
            "-m",
            "mockserver.cli",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--seed",
            self.seed,
            *store,
            *self.extra_args,
        ]
        env = {**os.environ, **self.env}
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mockserver exited early:\n{self.log()}")
            try:
                if requests.get(self.url + "/_mock/health", timeout=1).status_code < 500:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mockserver did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_path, "rb") as handle:
            return handle.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (a crash, not a shutdown)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def mockserver_live():
    """A live emulator (1 worker, demo seed, throw-away store) for one test."""
    with LiveServer() as server:
        yield server
