"""Real headless Chromium for the page tests: one browser per session, shared.

The browser is Debian's (``apt-get install chromium chromium-driver``) driven by
Playwright's Python package through ``executable_path`` (Playwright's own browser download
is not used). Without a Chromium the tests are skipped with that hint, except under
``CI=true``, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from mockserver.client import MockServerClient
from mockserver.testkit.plugin import LiveServer

INSTALL_HINT = (
    "no Chromium found: install it with `sudo apt-get install -y chromium chromium-driver` "
    "(Debian/Ubuntu) or point MOCKSERVER_CHROMIUM at a Chromium binary"
)
#: as root (CI) Chromium needs --no-sandbox; the rest keeps it off the network and quiet
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "ui"


def find_chromium() -> str | None:
    candidates = [os.environ.get("MOCKSERVER_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        _unavailable(INSTALL_HINT)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing: `make install-test` installs it")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as error:  # a broken install: same rule as a missing one
        playwright.stop()
        _unavailable(f"Chromium at {executable} does not start ({error}); {INSTALL_HINT}")
    yield launched
    launched.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh context (no shared cookies or credentials) and page, 1400x900."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


class ThreadedServer:
    """A WSGI app on a free 127.0.0.1 port, served from a thread of this process."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[LiveServer]:
    """One live emulator (``mockserver serve``, demo seed) for the browser tests; each test
    resets it to the world it needs through ``.control``."""
    server = LiveServer(workers=1, seed="demo").start()
    server.control = MockServerClient(server.url)
    yield server
    server.stop()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
