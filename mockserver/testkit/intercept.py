"""In-process interception: ``requests`` calls to the vendor hosts go to an emulator.

Code with hard-coded vendor URLs runs unchanged in a test::

    import mockserver

    with mockserver.intercept() as emulator:       # a fresh emulator, demo seed
        requests.get("https://api.platerecognizer.com/v1/vision-alert/licenses/",
                     headers={"Authorization": f"Token {emulator.token}"})
        emulator.client.advance(3600)               # the control plane, same host

``intercept()`` is a context manager, a decorator (a fresh emulator per call) and, through
the pytest plugin, the ``mockserver_intercept`` fixture. Calls to ``app.parkpow.com``,
``api.platerecognizer.com`` and ``app.platerecognizer.com`` (http and https, any port) are
answered by the emulator's WSGI app in the calling thread, with method, path, query,
headers and body (multipart included) as sent; the URLs it hands back (``next``, media)
name the vendor host, so clients can follow them. Every other URL goes to the network as
usual. Built on the ``responses`` library. An injected ``drop`` or ``truncate`` fault
raises ``requests.exceptions.ChunkedEncodingError``, as the live server's does.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import ContextDecorator
from urllib.parse import urlsplit

from ..core.vendor import hosts
from ..vendors import VENDORS
from .client import SeededAccounts

VENDOR_HOSTS = hosts(VENDORS)  # app.parkpow.com, api.platerecognizer.com, ...
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

_active: list[Interceptor] = []


class Interceptor(SeededAccounts, ContextDecorator):
    """One in-process emulator and the ``responses`` mock that routes the vendor hosts."""

    def __init__(
        self,
        seed: str | dict | None = "demo",
        hosts: tuple[str, ...] = VENDOR_HOSTS,
        background: bool = True,
        **config,
    ) -> None:
        self.seed_option = "none" if seed is None else seed
        self.hosts = tuple(hosts)
        self.background = background
        self.config_overrides = config
        self.app = None
        self.seeded: dict = {"accounts": []}
        self._mock = None

    # -- what a test uses ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the emulator as the code under test sees it (a vendor host)."""
        return f"https://{self.hosts[0]}"

    @property
    def client(self):
        from .client import MockServerClient

        return MockServerClient(self.url)

    @property
    def emulator(self):
        return self.app.extensions["mockserver"]

    @classmethod
    def current(cls) -> Interceptor | None:
        """The innermost active interceptor (e.g. inside a decorated function)."""
        return _active[-1] if _active else None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Interceptor:
        import responses

        from ..app import create_app
        from ..config import Config

        settings = {"seed": "none", "data_dir": "", "public_base_url": "", **self.config_overrides}
        self.app = create_app(Config(**settings), background=self.background)
        self._client = self.app.test_client(use_cookies=False)
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        hosts = "|".join(re.escape(host) for host in self.hosts)
        pattern = re.compile(rf"https?://(?:{hosts})(?::\d+)?(?:[/?#].*)?\Z", re.S)
        for method in METHODS:
            self._mock.add_callback(method, pattern, callback=self._answer)
        self._mock.add_passthru(re.compile(r".*", re.S))
        self._mock.start()
        _active.append(self)
        try:
            self._apply_seed()
        except Exception:
            self.stop()
            raise
        return self

    def _apply_seed(self) -> None:
        option = self.seed_option
        if isinstance(option, dict):
            self.seeded = self.client.seed(option)
        elif option in ("demo", "none"):
            self.seeded = self.client.reset(seed=option)
        else:
            with open(os.path.expanduser(option), encoding="utf-8") as handle:
                self.seeded = self.client.seed(json.load(handle))

    def stop(self) -> None:
        if self in _active:
            _active.remove(self)
        if self._mock is not None:
            self._mock.stop(allow_assert=False)
            self._mock.reset()
            self._mock = None
        if self.app is not None:
            self.emulator.close()
            self.app = None

    def __enter__(self) -> Interceptor:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _recreate_cm(self) -> Interceptor:
        # as a decorator: a fresh emulator for every call
        return Interceptor(self.seed_option, self.hosts, self.background, **self.config_overrides)

    # -- one intercepted call -----------------------------------------------------------

    def _answer(self, prepared):
        import requests
        from urllib3.exceptions import ProtocolError

        from ..control.middleware import ConnectionDropped

        url = urlsplit(prepared.url)
        body = prepared.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes | bytearray):
            body = b"".join(part.encode() if isinstance(part, str) else part for part in body)
        headers = [
            (name, value)
            for name, value in prepared.headers.items()
            if name.lower() not in ("content-length", "host")
        ]
        try:
            reply = self._client.open(
                url.path or "/",
                base_url=f"{url.scheme}://{url.netloc}",
                query_string=url.query,
                method=prepared.method,
                headers=headers,
                data=bytes(body) if body is not None else None,
                buffered=True,
            )
        except ConnectionDropped as dropped:
            # as from the live server: headers received, then the connection closed early
            error = requests.exceptions.ChunkedEncodingError(
                ProtocolError(f"Connection broken: IncompleteRead (injected {dropped.kind})")
            )
            error.request = prepared
            raise error from None
        reply_headers = [
            (name, value)
            for name, value in reply.headers.items()
            if name.lower() != "content-length"
        ]
        return reply.status_code, reply_headers, reply.get_data()


def intercept(
    seed: str | dict | None = "demo",
    hosts: tuple[str, ...] = VENDOR_HOSTS,
    background: bool = True,
    **config,
) -> Interceptor:
    """Route ``requests`` calls to the vendor hosts into a fresh in-process emulator.

    ``seed``: ``"demo"`` (default), ``"none"``, a seed dict or a path to a seed JSON file.
    ``config``: any ``mockserver.Config`` field (e.g. ``processing_delay=1``).
    Use as ``with intercept() as emulator:``, as ``@intercept()`` or through the
    ``mockserver_intercept`` fixture of the pytest plugin.
    """
    return Interceptor(seed, hosts, background, **config)


#: ``mockserver.intercept.current()``: the active interceptor (inside a decorated function)
intercept.current = Interceptor.current  # type: ignore[attr-defined]
