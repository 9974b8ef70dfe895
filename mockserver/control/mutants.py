"""Mutant mode: deliberate, realistic deviations from the vendor contract.

A mutant is a bug the emulator can be told to have, so that the contract suite can be
shown to catch it (the suite run against each mutant must fail: the mutation score).
They live in one WSGI middleware around the app, never in feature code: with no mutant
on, a request costs one ``stat`` of the switch file.

Switched on by ``mockserver serve --mutant NAME`` (repeatable), ``MOCKSERVER_MUTANTS=a,b``
or ``POST /_mock/mutants {"active": [...]}``. The active set lives in a small file in the
data directory, so every worker process sees a change on its next request.
"""

from __future__ import annotations

import base64
import json
import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, request
from sqlalchemy import select

from ..core import schema
from ..core.dialect import insert_or_ignore
from ..core.errors import FieldErrors
from ..core.web import json_response
from ..vendors import VENDORS

#: the mutants of every vendor API, and those that concern them all
MUTANTS: dict[str, str] = {
    "ignored_auth": "A request without credentials is served as the first account's.",
    "unclamped_page_size": "page_size above 200 is honoured: pages are merged up to the size asked for.",
    "wrong_retry_after": "429 replies give Retry-After in milliseconds instead of seconds.",
}
for _vendor in VENDORS:
    MUTANTS.update(_vendor.mutants)

VISIONALERT = "/v1/vision-alert/"
VENDOR_PREFIXES = tuple(vendor.url_prefix for vendor in VENDORS)
CAMERA_LIST = re.compile(r"^/v1/vision-alert/[^/]+/cameras/?$")
CAMERA_ITEM = re.compile(r"^/v1/vision-alert/([^/]+)/cameras/([^/]+)/?$")
CAMERA_READ = re.compile(r"^/v1/vision-alert/([^/]+)/cameras/([^/]+)/(logs|reference)/?$")
NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
WRONG_OFFSET = "+02:00"
UTC_Z_TIMESTAMP = re.compile(rb'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z"')
MAX_PAGE = 200


def parse_names(text: str | list[str] | None) -> list[str]:
    """``a,b`` or a list → known mutant names; unknown names are an error."""
    names = text if isinstance(text, list) else [p.strip() for p in (text or "").split(",")]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in MUTANTS]
    if unknown:
        raise ValueError(f"unknown mutant(s) {unknown}; known: {sorted(MUTANTS)}")
    return sorted(set(names))


class MutantSwitch:
    """The active set, shared by every worker through a file in the data directory."""

    def __init__(self, data_dir: str, initial: list[str]) -> None:
        self.path = os.path.join(data_dir, "mutants.json")
        self._seen: tuple[int, int] | None = None
        self._active: frozenset[str] = frozenset()
        self.set(initial)

    def set(self, names: list[str]) -> None:
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(sorted(names), handle)
        os.replace(temporary, self.path)
        self._seen = None  # this process re-reads at once; others on their next request

    def active(self) -> frozenset[str]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return frozenset()
        key = (stat.st_mtime_ns, stat.st_size)
        if key != self._seen:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    self._active = frozenset(json.load(handle))
            except (OSError, ValueError):
                self._active = frozenset()
            self._seen = key
        return self._active


_REMEMBER = insert_or_ignore(schema.mutant_deletions)


class StoredMutantSwitch:
    """The active set in the shared database's ``meta`` table: hosts of one PostgreSQL
    world share no directory. One primary-key read per vendor request."""

    KEY = "mutants"

    def __init__(self, store, initial: list[str]) -> None:
        self.store = store
        self.set(initial)

    def set(self, names: list[str]) -> None:
        meta = schema.meta

        def work(conn) -> None:
            conn.execute(meta.delete().where(meta.c.key == self.KEY))
            conn.execute(meta.insert().values(key=self.KEY, value=json.dumps(sorted(names))))

        self.store.transact(work)

    def active(self) -> frozenset[str]:
        meta = schema.meta
        found = self.store.query(
            lambda conn: conn.execute(
                select(meta.c.value).where(meta.c.key == self.KEY)
            ).scalar_one_or_none()
        )
        return frozenset(json.loads(found)) if found else frozenset()


class MutantMiddleware:
    """Applies the active mutants to vendor requests and replies; passes everything else."""

    def __init__(self, wsgi_app, emulator, switch: MutantSwitch) -> None:
        self.wsgi_app = wsgi_app
        self.emulator = emulator
        self.switch = switch

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(VENDOR_PREFIXES):
            return self.wsgi_app(environ, start_response)
        active = self.switch.active()
        if not active:
            return self.wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if "ignored_auth" in active and not environ.get("HTTP_AUTHORIZATION"):
            token = self._any_token()
            if token:
                environ["HTTP_AUTHORIZATION"] = f"Token {token}"
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if "naive_timezone" in active and path.startswith(VISIONALERT):
            shifted = {
                key: value + WRONG_OFFSET
                if key in ("start", "end") and NAIVE.match(value)
                else value
                for key, value in query.items()
            }
            if shifted != query:
                environ["QUERY_STRING"] = urlencode(shifted)
        status, headers, body = _call(self.wsgi_app, environ)
        code = int(status.split()[0])
        if "unclamped_page_size" in active and method == "GET" and code == 200:
            body = self._merge_pages(environ, query, body)
        if code == 204 and method == "DELETE" and (match := CAMERA_ITEM.match(path)):
            self._remember_deleted(*match.groups())
        read = CAMERA_READ.match(path) if method == "GET" else None
        if read and code == 404:
            unknown = "found_not_404" in active
            reused = "deleted_camera_reuse" in active and self._was_deleted(*read.groups()[:2])
            if unknown or reused:
                status, code = "200 OK", 200
                empty = {"next": None, "previous": None, "results": []}
                body = json.dumps(
                    empty if read.group(3) == "logs" else {"reference_image": None}
                ).encode()
        if (
            code == 200
            and path.startswith(VISIONALERT)
            and ("renamed_field" in active or "missing_next" in active)
        ):
            body = self._reshape(path, body, active)
        if code == 200 and path.startswith(VISIONALERT):
            if "offset_timestamps" in active:
                body = UTC_Z_TIMESTAMP.sub(rb'"\1+00:00"', body)
            if "reversed_previous_page" in active and _reverse_cursor(query.get("cursor")):
                body = _reversed_results(body)
        if code == 429 and "wrong_retry_after" in active:
            headers = [
                (
                    name,
                    str(int(value) * 1000)
                    if name.lower() == "retry-after" and value.isascii() and value.isdigit()
                    else value,
                )
                for name, value in headers
            ]
        headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _remember_deleted(self, license_id: str, serial: str) -> None:
        """In the store, so that every worker process answers for the deleted camera."""
        row = {"license": license_id, "serial": serial}
        self.emulator.store.transact(
            lambda conn: conn.execute(_REMEMBER[conn.dialect.name].values(row))
        )

    def _was_deleted(self, license_id: str, serial: str) -> bool:
        gone = schema.mutant_deletions.c
        query = select(gone.license).where(gone.license == license_id, gone.serial == serial)
        return self.emulator.store.query(lambda conn: conn.execute(query).first() is not None)

    def _any_token(self) -> str | None:
        table = schema.tokens
        return self.emulator.store.query(
            lambda conn: conn.execute(
                select(table.c.token).order_by(table.c.account_id).limit(1)
            ).scalar()
        )

    def _merge_pages(self, environ, query: dict, body: bytes) -> bytes:
        raw = query.get("page_size", "")
        if not (raw.isascii() and raw.isdigit()) or int(raw) <= MAX_PAGE:
            return body
        wanted = int(raw)
        page = _json(body)
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            return body
        while page.get("next") and len(page["results"]) < wanted:
            follow = dict(environ)
            follow["QUERY_STRING"] = urlsplit(page["next"]).query
            status, _headers, more = _call(self.wsgi_app, follow)
            following = _json(more)
            if not status.startswith("200") or not isinstance(following, dict):
                break
            page["results"].extend(following.get("results", []))
            page["next"] = following.get("next")
        page["results"] = page["results"][:wanted]
        return json.dumps(page).encode()

    @staticmethod
    def _reshape(path: str, body: bytes, active: frozenset[str]) -> bytes:
        page = _json(body)
        if not isinstance(page, dict) or "results" not in page:
            return body
        if "missing_next" in active:
            page.pop("next", None)
        if "renamed_field" in active and CAMERA_LIST.match(path):
            for camera in page.get("results", []):
                if isinstance(camera, dict) and "latest_status" in camera:
                    camera["status"] = camera.pop("latest_status")
        return json.dumps(page).encode()


def _call(app, environ) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run the wrapped app to completion and return its whole reply."""
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], body


def _reverse_cursor(cursor: str | None) -> bool:
    """Whether a cursor (DRF's base64 of ``o=…&r=1&p=…``) walks backward (``r=1``)."""
    if not cursor:
        return False
    try:
        tokens = dict(parse_qsl(base64.b64decode(cursor.encode("ascii")).decode("ascii")))
    except (ValueError, UnicodeError):
        return False
    return tokens.get("r") == "1"


def _reversed_results(body: bytes) -> bytes:
    page = _json(body)
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        return body
    page["results"].reverse()
    return json.dumps(page).encode()


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


def install(app, emulator) -> MutantSwitch:
    """Wrap the app (inside the control middleware) and start with the configured set."""
    initial = parse_names(emulator.config.mutants)
    if emulator.store.dialect == "sqlite":
        switch = MutantSwitch(emulator.config.data_dir, initial)
    else:  # hosts share the database, not a directory
        switch = StoredMutantSwitch(emulator.store, initial)
    app.extensions["mockserver_mutants"] = switch
    app.wsgi_app = MutantMiddleware(app.wsgi_app, emulator, switch)
    return switch


# -- control plane ----------------------------------------------------------------------------

blueprint = Blueprint("mutants", __name__, url_prefix="/_mock")


def _body() -> dict:
    from flask import current_app

    switch = current_app.extensions["mockserver_mutants"]
    return {"active": sorted(switch.active()), "available": MUTANTS}


@blueprint.get("/mutants")
def get_mutants():
    return json_response(_body())


@blueprint.post("/mutants")
def set_mutants():
    from flask import current_app

    try:
        body = request.get_json(silent=True)  # declared JSON only: no text/plain from a page
    except RecursionError:  # nested too deep to read: not a list of names either
        body = None
    names = body.get("active") if isinstance(body, dict) else None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise FieldErrors({"active": ["A list of mutant names."]})
    try:
        chosen = parse_names(names)
    except ValueError as error:
        raise FieldErrors({"active": [str(error)]}) from None
    current_app.extensions["mockserver_mutants"].set(chosen)
    return json_response(_body())
