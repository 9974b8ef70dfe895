"""The store's shared tables: what every vendor uses (accounts, clock, jobs, media, ...).

Each vendor owns its own tables in its package's ``schema.py``, defined on this module's
``metadata`` so that one store holds them all.

Times are integers: microseconds since the Unix epoch, UTC (``*_us`` columns). That keeps
range filters and keyset pagination on plain indexed integer comparisons.
Any change needs an Alembic revision in ``mockserver/migrations/versions`` (both dialects).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

clock = Table(
    "clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("frozen_us", BigInteger, nullable=True),  # set: the clock stands still there
    Column("offset_us", BigInteger, nullable=False, server_default=text("0")),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("products", Text, nullable=False),  # JSON list: "parkpow", "visionalert"
    Column("rate_limit_per_second", Float, nullable=True),  # None: no per-account throttle
    Column("created_us", BigInteger, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token", String, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
)

throttles = Table(
    "throttles",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String, primary_key=True),
    Column("history", Text, nullable=False),  # JSON list of request times (us), newest first
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String, nullable=False),
    Column("key", String, nullable=True, unique=True),  # at most one pending job per key
    Column("due_us", BigInteger, nullable=False),
    Column("payload", Text, nullable=False, server_default=text("'{}'")),
    Column("lease_until", Float, nullable=True),  # wall-clock seconds; None: not claimed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
)
Index("ix_jobs_due", jobs.c.due_us, jobs.c.id)

media = Table(
    "media",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),  # random, unguessable URL name
    Column("sha256", String, nullable=False),
    Column("content_type", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("kind", String, nullable=False),  # camera_snapshot, camera_reference, parkpow
    Column("created_us", BigInteger, nullable=False),
)
Index("ix_media_sha", media.c.sha256)

#: media bytes, when they live in the database (PostgreSQL: every host reaches them)
media_content = Table(
    "media_content",
    metadata,
    Column("sha256", String, primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", Float, nullable=False),  # wall-clock seconds, for the orphan sweep
)

# --- Control plane -----------------------------------------------------------------------

faults = Table(
    "faults",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("spec", Text, nullable=False),  # JSON, see control/faults.py
    Column("remaining", Integer, nullable=True),  # None: until removed
    Column("hits", Integer, nullable=False, server_default=text("0")),
    Column("created_us", BigInteger, nullable=False),
    Column("seen", Integer, nullable=False, server_default=text("0")),  # matching requests
)

#: cameras deleted while a mutant was on: ``deleted_camera_reuse`` answers for them in every
#: worker process (see control/mutants.py)
mutant_deletions = Table(
    "mutant_deletions",
    metadata,
    Column("license", String, primary_key=True),  # as the path names it
    Column("serial", String, primary_key=True),
)

# --- The request journal: diagnostics, not world state --------------------------------------
# Kept in its own file (``journal.sqlite3``): its steady writes neither queue behind the
# world's writers nor change the world's data version (which read caches key on). On
# PostgreSQL it is a table of the one database, outside the world's version sequence.

journal_metadata = MetaData()

journal = Table(
    "journal",
    journal_metadata,
    Column("id", Integer, primary_key=True),
    Column("at_us", BigInteger, nullable=False),
    Column("method", String, nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("token", String, nullable=True),  # masked (``control/secrets.py``)
    Column("body", Text, nullable=True),
    Column("fault_id", Integer, nullable=True),
    Column("wall_us", BigInteger, nullable=True),  # real time of arrival (client behaviour)
    Column("retry_after", Float, nullable=True),  # the reply's Retry-After, seconds
    Column("next_url", Text, nullable=True),  # paginated reply: its next ("" = none)
    Column("headers", Text, nullable=True),  # JSON [[name, value], ...], secrets masked
    Column("reply_headers", Text, nullable=True),  # the same, of the reply
    Column("reply_body", Text, nullable=True),  # the reply body's excerpt (as ``body``)
    Column("token_key", String, nullable=True),  # the token's keyed hash: filters find it
    sqlite_autoincrement=True,  # ids keep growing after a clear (a live tail asks "since")
)

#: what happened in the world, counted by every process (``core/tally.py``): one row per
#: series, the sum of every process's deltas
metric_counts = Table(
    "metric_counts",
    journal_metadata,
    Column("name", String, primary_key=True),
    Column("labels", String, primary_key=True),  # JSON list of the label values
    Column("value", Float, nullable=False),
)

#: the same per interval of wall time, the last minutes only (rates over time)
metric_intervals = Table(
    "metric_intervals",
    journal_metadata,
    Column("start_us", BigInteger, primary_key=True),
    Column("name", String, primary_key=True),
    Column("labels", String, primary_key=True),
    Column("value", Float, nullable=False),
)
