"""What a client is told when the parts under the emulator fail: the database unreachable,
the disk full.

Such a failure is not the client's fault and not a bug of ours: the request may well
succeed a moment later. So it is answered like a DRF service that cannot reach its
database, never with a 500: **503** ``{"detail": "Service temporarily unavailable, try
again later."}`` with ``Retry-After`` while the database cannot be reached (refused,
restarting, shutting down, no reply within ``db_timeout``, no pooled connection; SQLite
still busy after every retry, or an I/O error), and **507** with ``Retry-After`` when a
write finds no room on the disk (SQLite's "database or disk is full", PostgreSQL's
``disk_full``, ``ENOSPC``/``EDQUOT`` writing media). The failed unit of work rolled back;
only a commit whose acknowledgement the broken connection lost may have happened.

``classify`` is the one place that knows which errors these are; the Flask edge
(``core/web.py``) and the outer request layer (``OutageReplies``, placed by
``control/chain.py``) both answer with its verdict.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import time
from dataclasses import dataclass

import psycopg
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = "Service temporarily unavailable, try again later."  # DRF's own text
DISK_FULL_TEXT = "Insufficient storage: the emulator's disk is full, try again later."

#: SQLite result codes (low byte of the extended code)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13
#: PostgreSQL SQLSTATE classes that mean "not now" rather than "not this request":
#: connection exception, insufficient resources, operator intervention (shutdown, cancel),
#: system error
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_DISK_FULL_STATE = "53100"
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
#: the environ key of an exchange answered for an outage (the journal then writes it later)
MARK = "mockserver.outage"
#: a warning per kind at most this often (an outage fails every request)
_LOG_EVERY = 5.0


@dataclass(frozen=True)
class Outage:
    status: int
    detail: str

    @property
    def reason(self) -> str:
        return "Service Unavailable" if self.status == 503 else "Insufficient Storage"


UNAVAILABLE = Outage(503, UNAVAILABLE_TEXT)
DISK_FULL = Outage(507, DISK_FULL_TEXT)


def classify(error: BaseException) -> Outage | None:
    """The outage ``error`` (or an error it was raised from) reports; None for any other."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _classify_one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _classify_one(error: BaseException) -> Outage | None:
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return UNAVAILABLE  # no pooled connection in time; a connection found dead
    if isinstance(error, sa_exc.DBAPIError):
        if error.orig is not None and error.orig is not error:
            found = _classify_one(error.orig)
            if found is not None:
                return found
        return UNAVAILABLE if error.connection_invalidated else None
    if isinstance(error, psycopg.Error):
        state = error.sqlstate or ""
        if state == _DISK_FULL_STATE:
            return DISK_FULL
        if state[:2] in _UNAVAILABLE_CLASSES:
            return UNAVAILABLE
        # no SQLSTATE: the client library itself lost or could not make the connection
        if not state and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
            return UNAVAILABLE
        return None
    if isinstance(error, sqlite3.Error):
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == _SQLITE_FULL:  # SQLite's name for ENOSPC
            return DISK_FULL
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR):
            return UNAVAILABLE  # still busy after every retry; the storage failing
        return None
    if isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
        return DISK_FULL
    return None


def body(outage: Outage) -> bytes:
    return json.dumps({"detail": outage.detail}).encode()


def headers(retry_after: int) -> dict[str, str]:
    """A 503 or 507 says when to come back (``retry_after``, the setting)."""
    return {"Retry-After": str(retry_after)}


_last_logged: dict[int, float] = {}


def note(outage: Outage, error: BaseException, where: str) -> None:
    """One warning line per kind every few seconds (not a traceback per request)."""
    now = time.monotonic()
    if now - _last_logged.get(outage.status, -_LOG_EVERY) >= _LOG_EVERY:
        _last_logged[outage.status] = now
        log.warning("%s answered %s: %s", where, outage.status, _first_line(error))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


class OutageReplies:
    """WSGI layer: an outage raised by a layer outside Flask (the fault table's token, the
    mutants' clock reading, a control call's follow-up) is answered as Flask answers it
    (``core/web.py``), not with the server's bare 500."""

    def __init__(self, wsgi_app, retry_after: int) -> None:
        self.wsgi_app = wsgi_app
        self.retry_after = retry_after

    def __call__(self, environ, start_response):
        reply = _HeldStart(start_response)
        try:
            result = self.wsgi_app(environ, reply.start)
        except Exception as error:
            outage = classify(error)
            if outage is None or reply.sent:
                raise
            note(outage, error, environ.get("PATH_INFO") or "/")
            payload = body(outage)
            start_response(
                f"{outage.status} {outage.reason}",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(payload))),
                    *headers(self.retry_after).items(),
                ],
            )
            return [payload]
        reply.release()
        return result


class _HeldStart:
    """The inner app's ``start_response``, held until it returns: an outage raised after
    it started a reply can still replace it. Called later (from inside the body) or
    written to, it goes through at once."""

    def __init__(self, start_response) -> None:
        self.start_response = start_response
        self.held: tuple | None = None
        self.sent = False
        self.returned = False
        self._write = None

    def start(self, status, headers_, exc_info=None):
        if self.returned:
            self.sent = True
            return self.start_response(status, headers_, exc_info)
        self.held = (status, headers_, exc_info)
        return self.write

    def release(self) -> None:
        self.returned = True
        if self.held is not None and not self.sent:
            self.sent = True
            self._write = self.start_response(*self.held)

    def write(self, data: bytes) -> None:
        if not self.sent:
            self.release()
        self._write(data)
