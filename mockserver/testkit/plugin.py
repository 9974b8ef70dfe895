"""Test integrations: a live emulator in a subprocess, and the pytest plugin.

The plugin is registered through the ``pytest11`` entry point, so installing the package
is enough. Fixtures:

* ``mockserver_session`` (session scope): one live emulator (``mockserver serve`` on a
  free 127.0.0.1 port, throw-away store) for the whole run;
* ``mockserver`` (function scope): that emulator reset to a fresh state for this test
  (empty store, then ``mockserver_seed``; faults, journal, clock and settings back to
  their defaults);
* ``mockserver_client``: the control-plane client of ``mockserver``;
* ``mockserver_seed``: the seed ``mockserver`` starts from (``"demo"`` unless the ini
  option ``mockserver_seed`` says otherwise); override the fixture to use your own dict;
* ``mockserver_intercept``: ``mockserver.intercept()`` for one test: ``requests`` calls to
  the vendor hosts answered by a fresh in-process emulator;
* ``mockserver_live``: a dedicated live emulator process for one test;
* ``parity_snapshot``: record a test's exchanges with the live service once, compare the
  emulator with them on every later run (``snapshot.py``).

ini options: ``mockserver_seed`` (demo | none | PATH.json), ``mockserver_workers``
(default 1), ``mockserver_args`` (extra ``mockserver serve`` arguments).
"""

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
from typing import Any

import pytest
import requests

from .client import MockServerClient, SeededAccounts
from .snapshot import parity_snapshot, pytest_runtest_call  # noqa: F401  (this plugin's)
from .snapshot import pytest_addoption as parity_options


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
        self.log_path = ""  # the server's output, in a private directory while it runs
        self._log_dir: str | None = None
        self._kept_log = ""

    def start(self, timeout: float = 30.0, port_retries: int = 2) -> LiveServer:
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
        self._forget_log()
        self._log_dir = tempfile.mkdtemp(prefix="mockserver-live-")
        self.log_path = os.path.join(self._log_dir, "serve.log")
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                if port_retries and "already in use" in self.log().lower():  # taken meanwhile
                    self.port = free_port()
                    self.url = f"http://127.0.0.1:{self.port}"
                    return self.start(timeout, port_retries - 1)
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
        """What the server printed (kept in memory once it stopped and its file is gone)."""
        if not self._log_dir:
            return self._kept_log
        with open(self.log_path, "rb") as handle:
            return handle.read().decode(errors="replace")

    def _forget_log(self) -> None:
        if self._log_dir:
            self._kept_log = self.log()
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

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
        self._forget_log()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class EmulatorHandle(SeededAccounts):
    """What a test needs of a running emulator: its URL, tokens, license ids, control."""

    def __init__(self, url: str, client: MockServerClient, server: LiveServer | None = None):
        self.url = url
        self.client = client
        self.server = server
        self.seeded: dict = {"accounts": []}

    def load(self, seed: Any) -> EmulatorHandle:
        """Reset to an empty store, then apply ``seed`` ("demo", "none", a dict or a path)."""
        if isinstance(seed, dict):
            self.client.reset(seed="none")
            self.seeded = self.client.seed(seed)
        elif seed in ("demo", "none", None):
            self.seeded = self.client.reset(seed=seed or "none")
        else:
            with open(os.path.expanduser(str(seed)), encoding="utf-8") as handle:
                self.client.reset(seed="none")
                self.seeded = self.client.seed(json.load(handle))
        return self

    def auth(self, token: str | None = None) -> dict[str, str]:
        """The ``Authorization`` header of ``token`` (default: the first seeded token)."""
        return {"Authorization": f"Token {token or self.token}"}


def pytest_addoption(parser) -> None:
    parity_options(parser)
    parser.addini("mockserver_seed", "seed of the mockserver fixtures", default="demo")
    parser.addini("mockserver_workers", "worker processes of the live emulator", default="1")
    parser.addini("mockserver_args", "extra `mockserver serve` arguments", type="args")


@pytest.fixture(scope="session")
def mockserver_session(request):
    """One live emulator for the whole test session (state persists between tests)."""
    config = request.config
    server = LiveServer(
        workers=int(config.getini("mockserver_workers") or 1),
        seed="none",
        extra_args=list(config.getini("mockserver_args") or []),
    )
    with server:
        handle = EmulatorHandle(server.url, MockServerClient(server.url), server)
        yield handle.load(config.getini("mockserver_seed") or "demo")


@pytest.fixture
def mockserver_seed(request) -> Any:
    """The seed ``mockserver`` starts from; override this fixture to give your own."""
    return request.config.getini("mockserver_seed") or "demo"


@pytest.fixture
def mockserver(mockserver_session, mockserver_seed):
    """The session's emulator, reset to a fresh state seeded with ``mockserver_seed``."""
    handle = EmulatorHandle(
        mockserver_session.url, mockserver_session.client, mockserver_session.server
    )
    yield handle.load(mockserver_seed)


@pytest.fixture
def mockserver_client(mockserver) -> MockServerClient:
    """The control-plane client of the ``mockserver`` fixture's emulator."""
    return mockserver.client


@pytest.fixture
def mockserver_intercept(mockserver_seed):
    """``requests`` calls to the vendor hosts go to a fresh in-process emulator."""
    from .intercept import intercept

    with intercept(seed=mockserver_seed) as handle:
        yield handle


@pytest.fixture
def mockserver_live():
    """A dedicated live emulator (1 worker, demo seed, throw-away store) for one test."""
    with LiveServer() as server:
        yield server
