"""The request journal: what clients sent and what they got, as a bounded ring.

Recording must not slow requests down, so each worker process buffers its entries and a
background thread writes them in batches (within ~50 ms of the request; one transaction
per batch, which also trims the ring to ``journal_size`` rows). Readers first write their
own process's buffer, then wait (at most two seconds) until every other worker has written
what it had recorded before the read; workers publish those counts in shared memory
(``core/shared.py``). A sequential client therefore always reads its own requests.

Emulator time (``at``) is derived at write time from the wall time of arrival and the
clock's state; the wall time itself is kept too, for the client-behaviour assertions
(Retry-After and back-off are real waits, not emulator time).

Secrets are masked when an entry is written (``secrets.py``): the token, the headers, the
query string and both body excerpts. Ids keep growing across a clear, on either database,
so a reader asking for the entries after the last id it saw never misses one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets as random_secrets
import threading
import time
from dataclasses import dataclass, replace

from sqlalchemy import Connection, func, select

from ..core import outages, schema
from ..core.clock import wall_us
from ..core.dialect import glob, insert_or_ignore
from ..core.errors import FieldErrors
from ..core.numbers import MAX_ID, parse_whole
from ..core.shared import SharedState
from ..core.timefmt import iso_z_precise
from .secrets import mask, masked_headers, masked_text, token_key

log = logging.getLogger(__name__)

BODY_EXCERPT = 2048  # bytes of a request (and of a reply) body kept in the journal
FLUSH_DELAY = 0.05  # seconds a batch may gather before it is written
SYNC_TIMEOUT = 2.0  # longest a reader waits for other workers' buffers
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
UNWRITTEN_LIMIT = 10_000  # entries kept in a process while the database is unreachable


INSERT = (
    "INSERT INTO journal (at_us, method, path, query, status, duration_ms, token, body,"
    " fault_id, wall_us, retry_after, next_url, headers, reply_headers, reply_body, token_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
TRIM = "DELETE FROM journal WHERE id <= (SELECT max(id) FROM journal) - ?"
PG_STATEMENTS = (INSERT.replace("?", "%s"), TRIM.replace("?", "%s"))
#: shared-database mode (PostgreSQL), one entry: stamped with the clock row's time, inserted,
#: and the ring trimmed, in one autocommit statement
RECORD_NOW = (
    "WITH entry AS (INSERT INTO journal (at_us, method, path, query, status, duration_ms,"
    " token, body, fault_id, wall_us, retry_after, next_url, headers, reply_headers,"
    " reply_body, token_key)"
    " SELECT COALESCE(clock.frozen_us, %(wall_us)s + COALESCE(clock.offset_us, 0)),"
    " %(method)s, %(path)s, %(query)s, %(status)s, %(duration_ms)s, %(token)s, %(body)s,"
    " %(fault_id)s, %(wall_us)s, %(retry_after)s, %(next_url)s, %(headers)s,"
    " %(reply_headers)s, %(reply_body)s, %(token_key)s"
    " FROM (SELECT 1) AS one LEFT JOIN clock ON clock.id = 1 RETURNING id)"
    " DELETE FROM journal WHERE id <= (SELECT id FROM entry) - %(size)s"
)


@dataclass(slots=True)
class Entry:
    method: str
    path: str
    query: str
    status: int  # 0: no status reached the client (connection dropped)
    duration_ms: float
    token: str | None
    body: str | None
    fault_id: int | None
    wall_us: int
    retry_after: float | None
    next_url: str | None  # None: not a paginated reply; "": the last page
    #: as they came and went, unmasked and unencoded: masking, the excerpt and the JSON
    #: are made when the entry is written (off the request's path with SQLite)
    headers: list[tuple[str, str]]
    reply_headers: list[tuple[str, str]]
    reply_prefix: bytes  # the reply body's first BODY_EXCERPT bytes
    reply_total: int  # bytes of reply body sent


#: the world's key of the journal's token hashes, in ``meta``: kept across resets
KEY_NAME = "journal_key"
_KEEP_KEY = insert_or_ignore(schema.meta)


class TokenKeys:
    """Files tokens under their keyed hash (``secrets.token_key``) with the world's key,
    made by the first process that needs it."""

    def __init__(self, world_store) -> None:
        self.store = world_store
        self._key: bytes | None = None

    def of(self, token: str | None) -> str | None:
        return token_key(self._world_key(), token) if token else None

    def _world_key(self) -> bytes:
        if self._key is None:
            meta = schema.meta
            read = select(meta.c.value).where(meta.c.key == KEY_NAME)
            found = self.store.query(lambda conn: conn.execute(read).scalar_one_or_none())
            if found is None:

                def make(conn) -> str:
                    made = {"key": KEY_NAME, "value": random_secrets.token_hex(32)}
                    conn.execute(_KEEP_KEY[conn.dialect.name].values(made))
                    return conn.execute(read).scalar_one()

                found = self.store.transact(make)
            self._key = bytes.fromhex(found)
        return self._key


def stored(entry: Entry, secret: str | None, keys: TokenKeys | None) -> dict:
    """An entry's columns as they are written: every secret masked (``secrets.py``), the
    headers as JSON lists of [name, value], the reply body as an excerpt."""
    known = (entry.token, secret)
    content_type = ""
    for name, value in entry.reply_headers:
        if name.lower() == "content-type":
            content_type = value
    reply_body = body_excerpt(entry.reply_prefix, entry.reply_total, content_type)
    return {
        "query": masked_text(entry.query, known),
        "token": mask(entry.token) if entry.token else None,
        "body": masked_text(entry.body, known),
        "headers": json.dumps(masked_headers(entry.headers, secret), ensure_ascii=False),
        "reply_headers": json.dumps(
            masked_headers(entry.reply_headers, secret), ensure_ascii=False
        ),
        "reply_body": masked_text(reply_body, known),
        "token_key": keys.of(entry.token) if keys is not None else None,
    }


def body_excerpt(prefix: bytes, total: int, content_type: str) -> str | None:
    """The first bytes of a request body as text, or a placeholder for binary content."""
    if total <= 0 and not prefix:
        return None
    total = max(total, len(prefix))
    try:
        text = prefix.decode("utf-8")
    except UnicodeDecodeError as error:
        if total > len(prefix) and error.start >= len(prefix) - 3:
            text = prefix[: error.start].decode("utf-8")  # a character cut at the excerpt's end
        else:
            text = None
    if text is None or "\x00" in text:
        return f"<binary: {total} bytes, {content_type or 'no content type'}>"
    if total > len(prefix):
        text += f"... <{total} bytes in all>"
    return text


class Journal:
    """One process's writer of the ``journal`` table (see the module docstring)."""

    def __init__(
        self,
        store,
        clock,
        size: int,
        shared: SharedState | None,
        secret: str | None = None,
        immediate: bool = False,
        keys: TokenKeys | None = None,
    ) -> None:
        self.store = store
        #: the control token: masked wherever an entry carries it
        self.secret = secret
        #: files each entry's token under its keyed hash (None: the token filter finds none)
        self.keys = keys
        self.clock = clock
        self.size = size
        self.shared = shared
        #: entries written before the request ends (``Backend.journal_immediate``)
        self.immediate = immediate
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer: list[Entry] = []
        self._unwritten: list[Entry] = []  # shared-database mode, during an outage
        self._recorded = 0
        self._pid: int | None = None
        self._slot: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.size > 0

    # -- writing ------------------------------------------------------------------------

    def record(self, entry: Entry, later: bool = False) -> None:
        """``later``: the exchange met an outage; shared-database mode keeps the entry for
        the next write that reaches the database instead of waiting for it now."""
        if not self.enabled or self._stop.is_set():
            return
        if self.immediate:
            if later:
                self._keep_unwritten([entry], newest=True)
            else:
                self._write_now(entry)
            return
        if self._pid != os.getpid():
            self._start_in_this_process()
        with self._lock:
            self._buffer.append(entry)
            self._recorded += 1
            if self._slot is not None:
                self.shared.set_recorded(self._slot, self._recorded)
        self._wake.set()

    def _write_now(self, entry: Entry) -> None:
        """Shared-database mode: the entry is in the database before the request ends, so
        a reader on any host sees it without knowing about this host's buffer. One
        statement: the emulator time from the clock row, the insert, the ring's trim.

        While the database cannot be reached, entries wait in this process (at most
        ``UNWRITTEN_LIMIT``) and are written, oldest first, by the next request that
        reaches it: the exchanges of an outage (their 503s) are journaled after it."""
        self._write_waiting([entry])

    def _write_waiting(self, new: list[Entry]) -> None:
        with self._lock:
            waiting, self._unwritten = [*self._unwritten, *new], []
        for index, entry in enumerate(waiting):
            if not self._write_entry(entry):
                self._keep_unwritten(waiting[index:])
                return

    def _keep_unwritten(self, entries: list[Entry], newest: bool = False) -> None:
        with self._lock:
            if newest:
                self._unwritten = self._unwritten + entries
            else:
                self._unwritten = entries + self._unwritten
            lost = len(self._unwritten) - UNWRITTEN_LIMIT
            if lost > 0:
                del self._unwritten[:lost]
                log.warning("request journal: %d entries lost (database unreachable)", lost)

    def _write_entry(self, entry: Entry) -> bool:
        """Write one entry; False if the database could not be reached (kept for later)."""
        try:
            values = {
                **stored(entry, self.secret, self.keys),
                "wall_us": entry.wall_us,
                "method": entry.method,
                "path": entry.path,
                "status": entry.status,
                "duration_ms": entry.duration_ms,
                "fault_id": entry.fault_id,
                "retry_after": entry.retry_after,
                "next_url": entry.next_url,
                "size": self.size,
            }
            self.store.query(
                lambda conn: conn.connection.driver_connection.execute(RECORD_NOW, values)
            )
        except Exception as error:  # a journal must never take the server down
            if outages.classify(error) is not None:
                return False
            log.exception("request journal: 1 entry lost")
        return True

    def _start_in_this_process(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._buffer, self._recorded = [], 0
            self._slot = self.shared.claim_slot() if self.shared is not None else None
            self._thread = threading.Thread(
                target=self._run, name="mockserver-journal", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            if self._stop.is_set():
                break
            if not self._wake.is_set():
                continue
            time.sleep(FLUSH_DELAY)  # let a burst gather into one transaction
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write this process's buffered entries now (one transaction), trimming the ring."""
        with self._flush_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
                upto = self._recorded
            if batch:
                try:
                    state = self.clock.state()  # the emulator's clock, in its store
                    # masked first: the key may be read from the world's store
                    kept = [stored(entry, self.secret, self.keys) for entry in batch]
                    self.store.transact(lambda conn: self._write(conn, batch, kept, state))
                except Exception:  # a journal must never take the server down
                    log.exception("request journal: %d entries lost", len(batch))
            if self._slot is not None and self._pid == os.getpid():
                self.shared.set_flushed(self._slot, upto)

    def _write(self, conn: Connection, batch: list[Entry], kept: list[dict], state) -> None:
        offset = None if state.frozen else state.now_us - wall_us()
        rows = []
        for entry, masked in zip(batch, kept, strict=True):
            rows.append(
                (
                    state.now_us if offset is None else entry.wall_us + offset,
                    entry.method,
                    entry.path,
                    masked["query"],
                    entry.status,
                    entry.duration_ms,
                    masked["token"],
                    masked["body"],
                    entry.fault_id,
                    entry.wall_us,
                    entry.retry_after,
                    entry.next_url,
                    masked["headers"],
                    masked["reply_headers"],
                    masked["reply_body"],
                    masked["token_key"],
                )
            )
        insert, trim = (INSERT, TRIM) if conn.dialect.paramstyle == "qmark" else PG_STATEMENTS
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(insert, rows)
            # the ring: entries older than the newest ``size`` go (the id index makes it cheap)
            cursor.execute(trim, (self.size,))
        finally:
            cursor.close()

    def keyed(self, wanted: JournalFilter) -> JournalFilter:
        """``wanted`` with its token filed under the keyed hash entries are stored with."""
        if not wanted.token or self.keys is None:
            return wanted
        return replace(wanted, token_key=self.keys.of(wanted.token))

    def sync(self, timeout: float = SYNC_TIMEOUT) -> None:
        """Make every entry recorded so far, by any worker, visible in the store."""
        if not self.enabled:
            return
        if self.immediate and self._unwritten:
            self._write_waiting([])  # what an outage held back
        self.flush()
        if self.shared is None:
            return
        waiting = self.shared.pending_slots(self._slot)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            time.sleep(0.002)
            for slot, recorded in list(waiting.items()):
                pid, flushed = self.shared.flushed(slot)
                if pid == 0 or flushed >= recorded:
                    del waiting[slot]

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=5)
            self.flush()
            if self._slot is not None:
                self.shared.release_slot(self._slot)


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalFilter:
    method: str | None = None
    path: str | None = None  # a prefix, or a glob when it contains * ? [
    status: str | None = None  # "429" or a class: "5xx"
    token: str | None = None  # as the client sends it: matched by its keyed hash
    token_key: str | None = None  # ``token``'s keyed hash (``Journal.keyed``)
    since: int | None = None  # entries with a larger id
    limit: int = DEFAULT_LIMIT


def parse_filter(args) -> JournalFilter:
    """Read the filters from query parameters (``args``: a mapping of strings)."""
    status = args.get("status")
    if status is not None and not (
        (status.isascii() and status.isdigit() and len(status) == 3)
        or (len(status) == 3 and status[0] in "12345" and status[1:].lower() == "xx")
    ):
        raise FieldErrors({"status": ["A status code (e.g. 429) or a class (e.g. 5xx)."]})
    since = _integer(args.get("since"), "since", minimum=0)
    limit = _integer(args.get("limit"), "limit", minimum=1)
    method = args.get("method")
    return JournalFilter(
        method=method.upper() if method else None,
        path=args.get("path") or None,
        status=status.lower() if status else None,
        token=args.get("token") or None,
        since=since,
        limit=min(limit, MAX_LIMIT) if limit is not None else DEFAULT_LIMIT,
    )


def _integer(raw: str | None, name: str, minimum: int) -> int | None:
    if raw is None or raw == "":
        return None
    number = parse_whole(raw, minimum, MAX_ID)  # since: an id; limit: clamped later
    if number is None:
        raise FieldErrors({name: [f"A whole number from {minimum} to {MAX_ID}."]})
    return number


def _conditions(wanted: JournalFilter, dialect: str) -> list:
    c = schema.journal.c
    conditions = []
    if wanted.method:
        conditions.append(c.method == wanted.method)
    if wanted.path:
        if any(ch in wanted.path for ch in "*?["):
            conditions.append(glob(dialect, c.path, wanted.path))
        else:
            conditions.append(func.substr(c.path, 1, len(wanted.path)) == wanted.path)
    if wanted.status:
        if wanted.status.endswith("xx"):
            low = int(wanted.status[0]) * 100
            conditions.append(c.status.between(low, low + 99))
        else:
            conditions.append(c.status == int(wanted.status))
    if wanted.token:  # a filter not yet keyed (``Journal.keyed``) finds nothing
        conditions.append(c.token_key == (wanted.token_key or ""))
    if wanted.since is not None:
        conditions.append(c.id > wanted.since)
    return conditions


def entries(conn: Connection, wanted: JournalFilter) -> list[dict]:
    """Matching entries in arrival order: after ``since`` the oldest first, else the newest."""
    c = schema.journal.c
    query = select(schema.journal).where(*_conditions(wanted, conn.dialect.name))
    if wanted.since is not None:
        rows = conn.execute(query.order_by(c.id).limit(wanted.limit)).all()
    else:
        rows = list(reversed(conn.execute(query.order_by(c.id.desc()).limit(wanted.limit)).all()))
    return [public(row) for row in rows]


def rows_for_assertions(conn: Connection, wanted: JournalFilter) -> list:
    """Every entry of one client (``wanted``'s keyed token) under its path, in real arrival
    order."""
    c = schema.journal.c
    conditions = _conditions(wanted, conn.dialect.name)
    query = select(schema.journal).where(*conditions).order_by(c.wall_us, c.id)
    return conn.execute(query).all()


def clear(conn: Connection) -> int:
    return conn.execute(schema.journal.delete()).rowcount


def public(row) -> dict:
    return {
        "id": row.id,
        "at": iso_z_precise(row.at_us),
        "wall": iso_z_precise(row.wall_us) if row.wall_us is not None else None,
        "method": row.method,
        "path": row.path,
        "query": row.query,
        "status": row.status,
        "duration_ms": round(row.duration_ms, 3),
        "token": row.token,
        "body": row.body,
        "fault_id": row.fault_id,
        "retry_after": row.retry_after,
        "paginated": row.next_url is not None,
        "next": row.next_url or None,
        "headers": _header_list(row.headers),
        "reply_headers": _header_list(row.reply_headers),
        "reply_body": row.reply_body,
    }


def _header_list(stored: str | None) -> list[list[str]]:
    """Stored headers as [[name, value], ...]; entries written before they were kept: []."""
    return json.loads(stored) if stored else []
