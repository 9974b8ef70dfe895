"""Which database holds the world: SQLite files under the data directory (one machine, the
default) or PostgreSQL at ``database_url`` (any number of hosts, one world)."""

from __future__ import annotations

from . import schema
from .media import MediaStore
from .store import Store


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


def open_stores(config):
    """The world's store, the journal's store and the media store of one emulator."""
    url = check_url(config.database_url)
    if url:
        from .media_db import DatabaseMedia
        from .pgstore import PostgresStore

        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        store = PostgresStore(url)
        journal = PostgresStore(
            url, "journal", schema.journal_metadata, isolation="READ COMMITTED", durable=False
        )
        return store, journal, DatabaseMedia(store)
    store = Store(config.data_dir)
    # the request journal lives beside the world, in its own file (see core/schema.py)
    journal = Store(config.data_dir, "journal", schema.journal_metadata)
    return store, journal, MediaStore(store.media_dir)


def redacted(url: str) -> str:
    """The URL with its password hidden, for logs and banners."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
