"""Bring a store's schema to the current Alembic head, on either database, at start.

* A new store: ``create_all`` from ``schema.py`` and a stamp of the head revision (one
  statement per table, no migration machinery on the path of every throw-away test store);
  a test checks that the revisions produce exactly that schema.
* A store stamped with an older revision: ``alembic upgrade head``.
* The request journal (its own file on SQLite, its own table on PostgreSQL) is outside
  the world's revisions: ``upgrade_side`` creates it or adds the columns declared since.
* A SQLite store made before Alembic (``meta.schema_version`` 3 to 6): a stamp of the
  revision that *is* its version (3: ``0001`` ... 6: ``0004``), then the upgrade. Older
  ones (1 and 2) are refused with a message: an earlier release upgrades them first.

Everything runs in one transaction under the store's writer lock (SQLite) or an advisory
lock (PostgreSQL), so hosts and workers starting at the same moment upgrade once.
"""

from __future__ import annotations

import functools
import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text

from . import schema

#: the revision a pre-Alembic store of that version is
LEGACY_REVISIONS = {3: "0001", 4: "0002", 5: "0003", 6: "0004"}
#: any constant: the advisory lock PostgreSQL hosts take while one of them migrates
ADVISORY_KEY = 0x6D6F636B  # "mock"
#: PostgreSQL sequences every host reads (``pgstore.py``, ``core/shared.py``)
COUNTERS = ("mockserver_world_version", "mockserver_faults_token")


def alembic_config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
    )
    if conn is not None:
        config.attributes["connection"] = conn
    return config


@functools.cache
def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> str:
    """Bring the world's schema on ``conn`` to the head; returns what was done."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        if current_revision(conn) == head_revision():
            return "current"
        command.upgrade(alembic_config(conn), "head")
        return "upgraded"
    if "meta" in tables:  # made before Alembic
        row = conn.execute(
            select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
        ).first()
        version = int(row[0]) if row else 3
        if version not in LEGACY_REVISIONS:
            raise RuntimeError(
                f"This store has schema version {version}, which this release cannot upgrade:"
                " open it once with a release made before the Alembic migrations."
            )
        conn.execute(schema.meta.delete().where(schema.meta.c.key == "schema_version"))
        command.stamp(alembic_config(conn), LEGACY_REVISIONS[version])
        command.upgrade(alembic_config(conn), "head")
        return "upgraded"
    schema.metadata.create_all(conn)
    upgrade_ops_for_new_store(conn)
    command.stamp(alembic_config(conn), "head")
    return "created"


def upgrade_ops_for_new_store(conn: Connection) -> None:
    """What ``create_all`` cannot make: PostgreSQL's shared counters (see revision 0005)
    and the configuration's version (revision 0008)."""
    if conn.dialect.name == "postgresql":
        for name in COUNTERS:
            conn.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {name}")
            conn.exec_driver_sql(f"SELECT nextval('{name}')")  # last_value is then set
        make_config_version(conn)


def upgrade_side(conn: Connection, metadata) -> None:
    """A side database (the request journal): diagnostics outside the world's revisions.

    Created as declared; a table made by an older release gains the columns declared
    since (always nullable: its old rows simply lack them). Nothing else ever changes
    there, so this is its whole migration, the same on SQLite and PostgreSQL.
    """
    if conn.dialect.name == "sqlite":
        _number_forever(conn, metadata)
    metadata.create_all(conn)
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")


def _number_forever(conn: Connection, metadata) -> None:
    """A SQLite table declared ``sqlite_autoincrement`` but made without it by an older
    release is made again, its rows kept: only ``AUTOINCREMENT`` stops SQLite from handing
    out an id again once the rows holding it are deleted."""
    for table in metadata.sorted_tables:
        if not table.kwargs.get("sqlite_autoincrement"):
            continue
        made = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
        ).scalar()
        if made is None or "AUTOINCREMENT" in made.upper():
            continue
        rows = [dict(row._mapping) for row in conn.exec_driver_sql(f"SELECT * FROM {table.name}")]
        conn.exec_driver_sql(f"DROP TABLE {table.name}")  # its indexes go with it
        table.create(conn)
        declared = {column.name for column in table.columns}
        kept = [{k: v for k, v in row.items() if k in declared} for row in rows]
        if kept:
            conn.execute(table.insert(), kept)


def upgrade_sqlite(store) -> None:
    """The store's files, under its writer lock (the caller holds it)."""

    def work(conn: Connection) -> None:
        if store.metadata is not schema.metadata:
            upgrade_side(conn, store.metadata)
            return
        upgrade(conn)

    store.transact(work)


def upgrade_postgresql(store) -> None:
    """The shared database, one host at a time (an advisory lock held to the commit)."""
    with store.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
        if store.metadata is not schema.metadata:
            upgrade_side(conn, store.metadata)
            return
        upgrade(conn)


#: tables whose changes step ``meta.config_version`` (revision 0008, which made them)
CONFIG_TABLES = ("settings", "accounts", "tokens", "faults", "meta")
#: values that barely compress, stored as they are (no CPU spent trying; revision 0008)
UNCOMPRESSED = (("image_analysis", "signature"), ("media_content", "content"))
CONFIG_FUNCTION = """
CREATE OR REPLACE FUNCTION mockserver_config_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'config_version';
    END IF;
    RETURN NULL;
END $$
"""


def make_config_version(conn: Connection) -> None:
    """The row and triggers of the configuration's version and the uncompressed columns,
    in a new store (revision 0008 makes them in an older one)."""
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES ('config_version', '1') ON CONFLICT DO NOTHING"
    )
    conn.exec_driver_sql(CONFIG_FUNCTION)
    for table in CONFIG_TABLES:
        conn.exec_driver_sql(
            f"CREATE TRIGGER mockserver_config_{table} AFTER INSERT OR UPDATE OR DELETE"
            f" OR TRUNCATE ON {table} FOR EACH STATEMENT"
            " EXECUTE FUNCTION mockserver_config_changed()"
        )
    for table, column in UNCOMPRESSED:
        conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")
