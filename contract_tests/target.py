"""The server under test: the in-process emulator (default) or any live base URL.

One switch decides where every request of the suite goes. Options come from pytest
(``--base-url``, ``--token``, ``--allow-writes``, ``--contract-examples``,
``--contract-seed``, ``--server-timezone``) or the environment (``MOCKSERVER_CONTRACT_URL``,
``MOCKSERVER_CONTRACT_TOKEN``, ``MOCKSERVER_CONTRACT_ALLOW_WRITES``,
``MOCKSERVER_CONTRACT_EXAMPLES``, ``MOCKSERVER_CONTRACT_SEED``,
``MOCKSERVER_CONTRACT_TIMEZONE``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

from . import world
from .world import Facts

SPECS = Path(__file__).resolve().parent.parent / "specs"
#: operations that change no state, so they run against a live server without --allow-writes
READ_ONLY_POSTS = {"visitListPost"}


@dataclass
class Options:
    base_url: str | None = None
    token: str | None = None
    allow_writes: bool = False
    examples: int = 25
    seed: int = 1  # every random choice of the run (--contract-seed): same seed, same steps
    server_timezone: str = "UTC"
    mutants: list[str] = field(default_factory=list)  # in-process only: start with these on
    include: list[str] = field(default_factory=list)  # only these operationIds (generated tests)
    world_cache: str | None = None  # in-process: a directory to keep / reuse the built world
    upload_limit: int = 10 * 1024 * 1024  # the server's largest request body (bytes)

    @property
    def live(self) -> bool:
        return bool(self.base_url)

    @property
    def writes_allowed(self) -> bool:
        """In-process the suite owns its throw-away world; live servers need consent."""
        return self.allow_writes or not self.live


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def options_from(config) -> Options:
    """Read pytest options, falling back to the environment."""
    env = os.environ
    get = config.getoption
    examples = get("contract_examples") or env.get("MOCKSERVER_CONTRACT_EXAMPLES") or 25
    mutants = get("contract_mutant") or [
        name for name in env.get("MOCKSERVER_CONTRACT_MUTANTS", "").split(",") if name
    ]
    return Options(
        base_url=(get("contract_base_url") or env.get("MOCKSERVER_CONTRACT_URL") or None),
        token=get("contract_token") or env.get("MOCKSERVER_CONTRACT_TOKEN") or None,
        allow_writes=bool(get("contract_allow_writes"))
        or _truthy(env.get("MOCKSERVER_CONTRACT_ALLOW_WRITES")),
        examples=int(examples),
        seed=int(get("contract_seed") or env.get("MOCKSERVER_CONTRACT_SEED") or 1),
        server_timezone=get("contract_timezone")
        or env.get("MOCKSERVER_CONTRACT_TIMEZONE")
        or "UTC",
        mutants=list(mutants),
        world_cache=env.get("MOCKSERVER_CONTRACT_WORLD_CACHE") or None,
        upload_limit=int(env.get("MOCKSERVER_CONTRACT_UPLOAD_LIMIT") or 10 * 1024 * 1024),
        include=[
            name
            for name in (
                get("contract_include") or env.get("MOCKSERVER_CONTRACT_INCLUDE", "")
            ).split(",")
            if name
        ],
    )


class LiveClient:
    """The few calls the suite makes itself (discovery, scenarios) against a base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


class Target:
    """Where requests go, the credentials to send, and the facts about the data there."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.app = None
        self.facts: Facts | None = None
        self.dirty = False  # the world lost data a later test relies on (in-process: rebuild)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Target:
        if self.options.live:
            if not self.options.token:
                raise RuntimeError("--base-url needs --token (or MOCKSERVER_CONTRACT_TOKEN)")
            self.client = LiveClient(self.options.base_url)
            self.facts = world.discover(self.client, self.options.token)
            self.found_serials = set(self._live_cameras())
            CREATED.clear()
        else:
            self._build_in_process()
        return self

    def _build_in_process(self) -> None:
        """A fresh emulator with the suite's world; reused from ``world_cache`` when given."""
        import dataclasses
        import json
        import shutil
        import tempfile

        from mockserver import Config, create_app

        cache = self.options.world_cache
        cached = bool(cache) and os.path.exists(os.path.join(cache, "facts.json"))
        self._data_dir = tempfile.mkdtemp(prefix="mockserver-contract-")
        if cached:
            shutil.copytree(os.path.join(cache, "data"), self._data_dir, dirs_exist_ok=True)
        config = Config(
            data_dir=self._data_dir,
            seed="none",
            tick_seconds=0,
            mutants=",".join(self.options.mutants),
        )
        self.app = create_app(config)
        self.client = self.app.test_client()
        if cached:
            with open(os.path.join(cache, "facts.json"), encoding="utf-8") as handle:
                self.facts = Facts(**json.load(handle))
        else:
            self.facts = world.build(self.client)
        self._snapshot = self._copy_store()
        if cache and not cached:
            self._save_world(cache, dataclasses.asdict(self.facts))
        self.dirty = False

    def _save_world(self, cache: str, facts: dict) -> None:
        """Keep the built world (store, media, facts) for later sessions (``world_cache``)."""
        import json
        import shutil
        import sqlite3

        data = os.path.join(cache, "data")
        os.makedirs(data, exist_ok=True)
        target = sqlite3.connect(os.path.join(data, "store.sqlite3"))
        try:
            self._snapshot.backup(target)
        finally:
            target.close()
        media = self.app.extensions["mockserver"].store.media_dir
        if os.path.isdir(media):
            shutil.copytree(media, os.path.join(data, "media"), dirs_exist_ok=True)
        with open(os.path.join(cache, "facts.json"), "w", encoding="utf-8") as handle:
            json.dump(facts, handle)

    def _copy_store(self):
        """The whole store, copied into memory (SQLite's backup API)."""
        import sqlite3

        source = sqlite3.connect(self.app.extensions["mockserver"].store.path, timeout=30)
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            source.backup(copy)
        finally:
            source.close()
        return copy

    def restore(self) -> None:
        """Back to the world as built (in-process): same rows, same clock."""
        if self.options.live or self.app is None:
            return
        import sqlite3

        destination = sqlite3.connect(self.app.extensions["mockserver"].store.path, timeout=30)
        try:
            self._snapshot.backup(destination)
        finally:
            destination.close()
        self.dirty = False

    def refresh(self) -> None:
        """Every test starts from the world as built (in-process; a copy back costs ms)."""
        self.restore()

    def _live_cameras(self) -> dict[str, int]:
        """serial → license id of every camera the token sees (live)."""
        cameras: dict[str, int] = {}
        licenses = self.http("GET", "/v1/vision-alert/licenses/")
        for license_ in licenses.json() if licenses.status_code == 200 else []:
            params: dict = {"page_size": "200"}
            for _page in range(100):
                reply = self.http(
                    "GET", f"/v1/vision-alert/{license_['id']}/cameras/", params=params
                )
                if reply.status_code != 200:
                    break
                page = reply.json()
                cameras.update({camera["serial"]: license_["id"] for camera in page["results"]})
                if not page.get("next"):
                    break
                params = {"cursor": parse_qs(urlsplit(page["next"]).query)["cursor"][0]}
                params["page_size"] = "200"
        return cameras

    def clean_up(self) -> None:
        """Live, with writes allowed: delete the cameras this session's uploads registered
        (they would fill the license run after run; a full license refuses new cameras)."""
        if not (self.options.live and self.options.writes_allowed):
            return
        made = (CREATED | set(self.facts.owned_serials)) - self.found_serials
        for serial, license_id in self._live_cameras().items():
            if serial in made:
                self.http(
                    "DELETE", f"/v1/vision-alert/{license_id}/cameras/{quote(serial, safe='')}/"
                )

    def close(self) -> None:
        self.clean_up()
        if self.app is not None:
            self.app.extensions["mockserver"].close()
            self.app = None
            import shutil

            shutil.rmtree(self._data_dir, ignore_errors=True)

    def own_camera(self) -> str:
        """A camera this suite registers itself (create-log with a fresh serial), safe to delete."""
        return self.upload_camera()

    def upload_camera(self, prefix: str = "contract") -> str:
        """create-log from a fresh serial (registers a camera and, once processed, its log),
        waiting out the per-account throttle as a client does; the serial is the suite's."""
        import secrets

        from . import images

        serial = f"{prefix}-{secrets.token_hex(4)}"
        for _attempt in range(5):
            reply = self.http(
                "POST",
                "/v1/vision-alert/create-log/",
                data={"camera_id": serial},
                files={"upload": ("frame.jpg", images.frames()[0], "image/jpeg")},
            )
            if reply.status_code != 429:
                break
            self.wait_out(reply)
        self.facts.owned_serials.append(serial)
        CREATED.add(serial)
        return serial

    def wait_out(self, reply) -> None:
        """Sleep the ``Retry-After`` of a 429 (live only, at most 5 s; in-process the
        contract accounts are not throttled)."""
        import time

        if not self.options.live:
            return
        value = reply.headers.get("retry-after") or reply.headers.get("Retry-After") or "1"
        value = value[0] if isinstance(value, list) else value
        time.sleep(min(5, int(value) if str(value).isdigit() else 1))

    # -- sending ------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.facts.token if self.facts else (self.options.token or "")

    def auth_headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def call_kwargs(self) -> dict[str, Any]:
        """Transport arguments for ``case.call`` / ``case.call_and_validate``."""
        if self.options.live:
            return {"base_url": self.options.base_url.rstrip("/"), "timeout": 30}
        return {"app": self.app}

    def may_send(self, operation) -> bool:
        """Whether an operation may be sent: state-changing ones only with consent."""
        method = operation.method.upper()
        if method in ("GET", "HEAD", "OPTIONS") or self.options.writes_allowed:
            return True
        return operation.definition.raw.get("operationId") in READ_ONLY_POSTS

    def http(self, method: str, path: str, token: str | None = None, **kwargs):
        """A plain request (scenarios): Flask test client in-process, requests live."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not False:
            headers.setdefault("Authorization", f"Token {token or self.token}")
        if self.options.live:
            return self.client.request(method, path, headers=headers, **kwargs)
        return _FlaskReply(self.client.open(path, method=method, headers=headers, **_flask(kwargs)))


def _flask(kwargs: dict) -> dict:
    """``requests``-style keyword arguments for Flask's test client."""
    converted = dict(kwargs)
    if "params" in converted:
        converted["query_string"] = converted.pop("params")
    if "files" in converted:
        import io

        files = converted.pop("files")
        data = dict(converted.pop("data", {}) or {})
        for name, (filename, content, *_rest) in files.items():
            data[name] = (io.BytesIO(content), filename)
        converted["data"] = data
        converted["content_type"] = "multipart/form-data"
    body = converted.get("data")
    if hasattr(body, "read") and hasattr(body, "__len__"):  # a body made as it is read
        converted["input_stream"] = converted.pop("data")
        converted["content_length"] = len(body)
    converted.pop("timeout", None)
    return converted


class _FlaskReply:
    """A Flask test response that reads like ``requests.Response``."""

    def __init__(self, response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.content = response.get_data()
        self.text = response.get_data(as_text=True)

    def json(self):
        return self._response.get_json(force=True)


#: the options of this session (set by the conftest before test modules are imported)
CURRENT = Options()
#: serials this session's accepted uploads named (each may have registered a camera)
CREATED: set[str] = set()


def note_upload(case, response) -> None:
    """Remember the serial of an accepted create-log (generated or hand-made)."""
    if case.operation.definition.raw.get("operationId") != "createLog":
        return
    if 200 <= response.status_code < 300 and isinstance(case.body, dict):
        serial = case.body.get("camera_id")
        if isinstance(serial, str):
            CREATED.add(serial)
