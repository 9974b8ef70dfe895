"""A digest of the emulator's state, read straight from its store file and media folder.

It needs no control-plane call (so it works on a server started with ``--no-control``
and never disturbs what it measures): it opens ``<data dir>/store.sqlite3`` read-only
with ``sqlite3`` and lists ``<data dir>/media`` — or, given a ``postgresql://`` URL instead
of a data directory, reads the tables and the ``media_content`` hashes of that database.
Every table takes part except:

* ``throttles`` — the per-account create-log throttle history is DRF rate-limit
  accounting: DRF records every request that passes the throttle, including ones the
  view then rejects as invalid, so a refused upload legitimately appends to it;
* ``journal`` — the request journal records every request, refused ones included (that
  is its purpose);
* ``jobs.lease_until`` and ``jobs.attempts`` — a job's wall-clock claim and its retry
  counter are bookkeeping of whichever worker is running it, not state; the job itself
  (kind, key, due time, payload) does take part;
* ``meta.config_version`` (PostgreSQL) — the version hosts key their caches of the
  settings, accounts, faults and ``meta`` on: any write to those tables steps it, one
  that leaves them as they were too (a cache then reads them once more).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

from mockserver.visionalert.retention import PRUNE

EXCLUDED_TABLES = {"throttles", "journal", "metric_counts", "metric_intervals"}
EXCLUDED_COLUMNS = {"jobs": {"lease_until", "attempts"}}
#: rows left out, by table and first column (the key)
EXCLUDED_ROWS = {"meta": {"config_version"}}
HOUSEKEEPING = {PRUNE}


def _kept(name: str, rows: list[tuple]) -> list[tuple]:
    skip = EXCLUDED_ROWS.get(name)
    return [row for row in rows if row[0] not in skip] if skip else rows


def connect(data_dir: str) -> sqlite3.Connection:
    """A read-only connection to a data directory's store (WAL readers never block)."""
    path = os.path.join(data_dir, "store.sqlite3")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


#: one connection per database URL digested last (a digest is read many times in a row)
_CONNECTION: dict = {}
#: every relation of the ``public`` schema that ``information_schema.tables`` lists, with its
#: columns in order (the catalogue itself: the information_schema views are slow)
_COLUMNS_SQL = (
    "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a"
    " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'f')"
    " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
)


def _connection(url: str):
    import psycopg

    conn = _CONNECTION.get(url)
    if conn is None or conn.closed or conn.broken:
        for old in _CONNECTION.values():
            old.close()
        _CONNECTION.clear()
        conn = _CONNECTION[url] = psycopg.connect(url, autocommit=True)
    return conn


def _postgresql_rows(url: str, only: set[str] | None = None) -> dict[str, list[tuple]]:
    """The digested tables of a database (``only``: just these): the catalogue, then every
    table's rows in one pipelined round trip."""
    import psycopg

    try:
        return _read_tables(_connection(url), only)
    except psycopg.OperationalError:  # the server closed an idle connection: once more
        _CONNECTION.pop(url, None)
        return _read_tables(_connection(url), only)


def _read_tables(conn, only: set[str] | None) -> dict[str, list[tuple]]:
    columns: dict[str, list[str]] = {}
    for table, column in conn.execute(_COLUMNS_SQL).fetchall():
        if column not in EXCLUDED_COLUMNS.get(table, set()):
            columns.setdefault(table, []).append(column)
    names = [
        name
        for name in sorted(columns)
        if name not in EXCLUDED_TABLES and (only is None or name in only)
    ]
    statements = [
        "SELECT " + ", ".join(f'"{column}"' for column in columns[name]) + f' FROM "{name}"'
        for name in names
    ]
    with conn.pipeline():
        cursors = [conn.cursor().execute(statement) for statement in statements]
    return {
        name: sorted(_kept(name, cursor.fetchall()), key=repr)
        for name, cursor in zip(names, cursors, strict=True)
    }


def _is_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def table_rows(data_dir: str) -> dict[str, list[tuple]]:
    """Every digested table, rows sorted, in a stable order (``data_dir``: or a URL); the
    housekeeping jobs the tick keeps rescheduling are no part of the world's state."""
    rows = _all_rows(data_dir)
    if "jobs" in rows:
        rows["jobs"] = [row for row in rows["jobs"] if not HOUSEKEEPING.intersection(row)]
    return rows


def _all_rows(data_dir: str) -> dict[str, list[tuple]]:
    if _is_url(data_dir):
        return _postgresql_rows(data_dir)
    with connect(data_dir) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]
        rows: dict[str, list[tuple]] = {}
        for name in names:
            if name in EXCLUDED_TABLES:
                continue
            skip = EXCLUDED_COLUMNS.get(name, set())
            columns = [
                info[1]
                for info in conn.execute(f'PRAGMA table_info("{name}")')
                if info[1] not in skip
            ]
            listed = ", ".join(f'"{column}"' for column in columns)
            found = conn.execute(f'SELECT {listed} FROM "{name}"').fetchall()
            rows[name] = sorted(_kept(name, found), key=repr)
    conn.close()
    return rows


def media_files(data_dir: str) -> list[str]:
    """The content hashes of every file in the media folder (or content row of a URL's)."""
    if _is_url(data_dir):
        media = _postgresql_rows(data_dir, only={"media_content"})
        return sorted(row[0] for row in media.get("media_content", []))
    root = os.path.join(data_dir, "media")
    found = []
    for folder, _dirs, files in os.walk(root):
        found.extend(name for name in files if not name.startswith("tmp"))
        del folder
    return sorted(found)


def state_digest(data_dir: str) -> str:
    """One hash over the digested tables and the media files on disk."""
    hasher = hashlib.sha256()
    for name, rows in table_rows(data_dir).items():
        hasher.update(name.encode())
        for row in rows:
            hasher.update(repr(row).encode())
    for name in media_files(data_dir):
        hasher.update(b"file:" + name.encode())
    return hasher.hexdigest()


def state_diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict:
    """Which tables changed and how (for an assertion message)."""
    changed = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            changed[name] = {
                "gone": sorted(old - new, key=repr)[:5],
                "new": sorted(new - old, key=repr)[:5],
            }
    return changed


def data_dir_of(app) -> str:
    """Where an in-process app keeps its world: its data directory, or its database URL."""
    config = app.extensions["mockserver"].config
    return config.database_url or config.data_dir
