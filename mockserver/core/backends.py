"""Which database holds the world: SQLite files under the data directory (one machine, the
default) or PostgreSQL at ``database_url`` (any number of hosts, one world).

``open_backend`` returns one ``Backend``: every part that depends on that choice, so the
rest of the code never asks which database it runs on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import schema
from .media import Blobs, LocalFiles, Media, MediaStore
from .shared import DatabaseSharedState, SharedState, open_shared
from .store import Store


@dataclass(frozen=True)
class Backend:
    """The stores, media and shared state of one emulator, and how they behave."""

    #: the world's tables (``transact``/``query`` units of work)
    store: object
    #: the request journal's table, in a store of its own
    journal_store: object
    #: stored images: rows in ``store``, bytes in files, an object store or the database
    media: Media
    #: the faults token and journal slots every worker (and host) sees; ``None`` where a
    #: mapped file is impossible (callers then read the tables)
    shared: SharedState | DatabaseSharedState | None
    #: journal entries are written before each request ends (several hosts: no buffer
    #: another host could wait for); otherwise buffered per process and flushed
    journal_immediate: bool
    #: job claims of dead processes are leases to release at start-up; row locks (below)
    #: die with their session instead
    leases_released_at_start: bool
    #: due work is claimed with row locks held by the running transaction
    #: (``SKIP LOCKED``); otherwise with leases (a row lock would hold the single writer)
    row_locks: bool

    def close(self) -> None:
        if self.shared is not None:
            self.shared.close()
        self.store.dispose()
        self.journal_store.dispose()


def is_postgresql(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def check_url(url: str) -> str:
    """The URL, if this emulator can use it; a ``ValueError`` that says why not otherwise."""
    if url and not is_postgresql(url):
        raise ValueError(
            f"unsupported database URL {url.split(':', 1)[0]!r}: use postgresql://user@host/db"
            " (or leave it empty for SQLite under the data directory)"
        )
    return url


#: ``--media`` keeping the bytes in the shared database (PostgreSQL only)
MEDIA_IN_DATABASE = "database"


def check_media_url(media_url: str, database_url: str = "") -> str:
    """The media location, if this emulator can use it; a ``ValueError`` that says why not."""
    if not media_url:
        return media_url
    scheme = media_url.split(":", 1)[0]
    if media_url == MEDIA_IN_DATABASE:
        if not is_postgresql(database_url):
            raise ValueError("--media database keeps images in PostgreSQL: give --database too")
    elif scheme == "file":
        if not media_url.startswith("file:///"):
            raise ValueError(f"use file:///absolute/path, not {media_url!r}")
    elif scheme == "s3":
        from .media_s3 import parse_url

        parse_url(media_url)
    else:
        raise ValueError(
            f"unsupported media location {media_url!r}: use file:///path, s3://bucket/prefix"
            " or database (or leave it empty for files under the data directory)"
        )
    return media_url


def open_blobs(config, default_root: str) -> Blobs:
    """Where the bytes of stored images live: ``config.media_url``, else ``default_root``."""
    url = config.media_url
    if url.startswith("s3:"):
        from .media_s3 import S3Objects

        objects = S3Objects(url, config.s3_endpoint)
        objects.prepare()
        return objects
    if url.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        return LocalFiles(unquote(urlsplit(url).path))
    return LocalFiles(default_root)


def open_backend(config) -> Backend:
    """The backend ``config`` names: PostgreSQL at ``database_url``, else SQLite files."""
    url = check_url(config.database_url)
    check_media_url(config.media_url, url)
    if url:
        return _postgresql(url, config)
    store = Store(config.data_dir)
    # the request journal lives beside the world, in its own file (see core/schema.py)
    journal = Store(config.data_dir, "journal", schema.journal_metadata)
    return Backend(
        store=store,
        journal_store=journal,
        media=MediaStore(store, open_blobs(config, store.media_dir)),
        shared=open_shared(config.data_dir),
        journal_immediate=False,
        leases_released_at_start=True,
        row_locks=False,
    )


def _postgresql(url: str, config) -> Backend:
    from .media_db import DatabaseMedia
    from .media_shared import SharedMedia
    from .pgstore import PostgresStore

    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    store = PostgresStore(url, timeout=config.db_timeout)
    journal = PostgresStore(
        url,
        "journal",
        schema.journal_metadata,
        isolation="READ COMMITTED",
        durable=False,
        timeout=config.db_timeout,
    )
    return Backend(
        store=store,
        journal_store=journal,
        media=DatabaseMedia(store)
        if config.media_url == MEDIA_IN_DATABASE
        else SharedMedia(store, open_blobs(config, os.path.join(config.data_dir, "media"))),
        shared=DatabaseSharedState(store),
        journal_immediate=True,
        leases_released_at_start=False,
        row_locks=True,
    )


def redacted(url: str) -> str:
    """The URL with its password hidden, for logs and banners."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
