"""Schema migrations (Alembic): the revisions build exactly the schema the code declares,
on both databases, and a store made by the last release before Alembic is upgraded at
start with its world intact."""

from __future__ import annotations

import os
import sqlite3

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from mockserver import Config, create_app
from mockserver.core import schema
from mockserver.core.migrate import alembic_config, head_revision
from mockserver.core.pgstore import PostgresStore

from ..conftest import auth

V3_DUMP = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "store_v3.sql")


def _migrated_from_nothing(url: str) -> list:
    """Run every revision on an empty database; the differences left to the metadata."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            return compare_metadata(MigrationContext.configure(conn), schema.metadata)
    finally:
        engine.dispose()


def test_revisions_build_the_declared_schema_on_sqlite(tmp_path):
    assert _migrated_from_nothing(f"sqlite:///{tmp_path / 'store.sqlite3'}") == []


def test_revisions_build_the_declared_schema_on_postgresql(postgres_server):
    url = postgres_server.url("postgres").rsplit("/", 1)[0] + "/migrations_check"
    with postgres_server.admin() as admin:
        admin.execute("CREATE DATABASE migrations_check")
    try:
        differences = _migrated_from_nothing(url.replace("postgresql://", "postgresql+psycopg://"))
        assert differences == []
    finally:
        postgres_server.drop(url)


def _beyond_metadata(url: str) -> tuple:
    """What a PostgreSQL store holds that ``compare_metadata`` does not see: the triggers
    stepping the configuration's version, its row, and the columns stored uncompressed."""
    with psycopg.connect(url) as conn:
        triggers = [
            row[0]
            for row in conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'mockserver_config_%'"
                " ORDER BY tgname"
            )
        ]
        version = conn.execute("SELECT value FROM meta WHERE key = 'config_version'").fetchone()
        storage = conn.execute(
            "SELECT attrelid::regclass::text, attname, attstorage FROM pg_attribute"
            " WHERE (attrelid::regclass::text, attname) IN"
            " (('image_analysis', 'signature'), ('media_content', 'content')) ORDER BY 1"
        ).fetchall()
    return triggers, version, storage


def test_revisions_and_a_new_store_make_the_same_postgresql_extras(postgres_server):
    base = postgres_server.url("postgres").rsplit("/", 1)[0]
    with postgres_server.admin() as admin:
        admin.execute("CREATE DATABASE extras_revisions")
        admin.execute("CREATE DATABASE extras_new")
    try:
        _migrated_from_nothing(
            f"{base}/extras_revisions".replace("postgresql://", "postgresql+psycopg://")
        )
        PostgresStore(f"{base}/extras_new").dispose()
        migrated, new = (
            _beyond_metadata(f"{base}/extras_revisions"),
            _beyond_metadata(f"{base}/extras_new"),
        )
        assert migrated == new
        triggers, version, storage = new
        assert len(triggers) == 5 and version == ("1",)
        assert [row[2] for row in storage] == ["e", "e"]
    finally:
        postgres_server.drop(f"{base}/extras_revisions")
        postgres_server.drop(f"{base}/extras_new")


#: what store version 4 (the last hand-kept one) added to version 3
V4_STEP = (
    "CREATE TABLE mutant_deletions (license VARCHAR NOT NULL, serial VARCHAR NOT NULL,"
    " PRIMARY KEY (license, serial));"
    " UPDATE meta SET value = '4' WHERE key = 'schema_version';"
)


@pytest.mark.parametrize("version", [3, 4])
def test_a_store_made_before_alembic_is_upgraded_at_start(tmp_path, version):
    with sqlite3.connect(tmp_path / "store.sqlite3") as old:
        old.executescript(open(V3_DUMP, encoding="utf-8").read())
        if version == 4:
            old.executescript(V4_STEP)
    app = create_app(Config(data_dir=str(tmp_path), seed="demo", tick_seconds=0))
    try:
        client = app.test_client()
        reply = client.get("/v1/vision-alert/licenses/", headers=auth("tok-old"))
        assert reply.status_code == 200, reply.json
        (license_row,) = reply.json
        assert license_row["code"] == "LIC-OLD"
        cameras = client.get(
            f"/v1/vision-alert/{license_row['id']}/cameras/", headers=auth("tok-old")
        )
        assert cameras.status_code == 200, cameras.json
        # the tags keep the order they were assigned in by the old release
        assert cameras.json["results"][0]["tags"] == ["mid", "zeta", "alpha"]
        # a seeded store is not seeded again (the demo seed would add its accounts)
        assert (
            client.get("/v1/vision-alert/licenses/", headers=auth("demo-token")).status_code == 401
        )
        assert client.get("/_mock/clock").json["now"] == "2026-04-10T14:30:00Z"
    finally:
        app.extensions["mockserver"].close()
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            assert "media_content" in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def test_a_store_older_than_the_oldest_upgradable_one_is_refused_with_a_reason(tmp_path):
    with sqlite3.connect(tmp_path / "store.sqlite3") as old:
        old.executescript(open(V3_DUMP, encoding="utf-8").read())
        old.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(RuntimeError, match="schema version 2"):
        create_app(Config(data_dir=str(tmp_path), seed="none", tick_seconds=0))


def _host_starts_and_serves(database_url: str) -> int:
    """One host: open the database (creating its schema if nobody has), answer a call."""
    app = create_app(Config(database_url=database_url, seed="none", tick_seconds=0))
    try:
        return app.test_client().get("/_mock/clock").status_code
    finally:
        app.extensions["mockserver"].close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_hosts_starting_together_upgrade_once(database_url):
    """Two emulators opening one fresh PostgreSQL database at once: one creates, both run.
    Each is its own process, as hosts are (building two apps in threads of one process can
    also trip CPython 3.11's AST check, which is no concern of the store)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from sqlalchemy import text

    # an empty database (the test databases are copies of a migrated template)
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        statuses = list(pool.map(_host_starts_and_serves, [database_url] * 2))
    assert statuses == [200, 200]


#: the request journal as the release before request and reply headers made it
OLD_JOURNAL = (
    "CREATE TABLE journal (id INTEGER PRIMARY KEY, at_us BIGINT NOT NULL,"
    " method VARCHAR NOT NULL, path TEXT NOT NULL, query TEXT NOT NULL, status INTEGER NOT NULL,"
    " duration_ms FLOAT NOT NULL, token VARCHAR, body TEXT, fault_id INTEGER, wall_us BIGINT,"
    " retry_after FLOAT, next_url TEXT)",
    "INSERT INTO journal (id, at_us, method, path, query, status, duration_ms)"
    " VALUES (1, 0, 'GET', '/old', '', 200, 1.5)",
)


@pytest.mark.both_backends
def test_an_older_journal_gains_the_header_and_reply_columns(backend, database_url, tmp_path):
    """The journal is outside the world's revisions (its own file on SQLite): a journal
    table an older release made is brought to the declared columns at start."""
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "journal.sqlite3") as conn:
            for statement in OLD_JOURNAL:
                conn.execute(statement)
        config = Config(data_dir=str(tmp_path), seed="demo", tick_seconds=0)
    else:
        engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE journal")  # the test database's, made as declared
            for statement in OLD_JOURNAL:
                conn.exec_driver_sql(statement.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
            conn.exec_driver_sql("SELECT setval('journal_id_seq', 1)")
        engine.dispose()
        config = Config(database_url=database_url, seed="demo", tick_seconds=0)
    app = create_app(config)
    try:
        client = app.test_client()
        client.get("/v1/vision-alert/licenses/", headers=auth("demo-token")).get_data()
        old, new = client.get("/_mock/requests").json["requests"]
        assert old["path"] == "/old" and old["headers"] == [] and old["reply_body"] is None
        assert ["Authorization", "Token demo•••en"] in new["headers"]
        assert "LIC-DEMO-1" in new["reply_body"] and new["reply_headers"]
    finally:
        app.extensions["mockserver"].close()


@pytest.mark.both_backends
def test_journal_ids_keep_growing_after_a_reset_and_on_an_older_journal(
    backend, database_url, tmp_path
):
    """A journal table an older release made (on SQLite without ``AUTOINCREMENT``) is made
    again with its rows at start; after ``DELETE /_mock/requests`` and after a reset of the
    world, new entries get ids above every id handed out before (a live tail asks for ids
    after the last one it saw)."""
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "journal.sqlite3") as conn:
            for statement in OLD_JOURNAL:
                conn.execute(statement)
        config = Config(data_dir=str(tmp_path), seed="demo", tick_seconds=0)
    else:
        config = Config(database_url=database_url, seed="demo", tick_seconds=0)
    app = create_app(config)
    try:
        client = app.test_client()
        licenses = "/v1/vision-alert/licenses/"

        def newest_id() -> int:
            client.get(licenses, headers=auth("demo-token")).get_data()
            return client.get("/_mock/requests").json["requests"][-1]["id"]

        first = newest_id()
        if backend == "sqlite":
            assert client.get("/_mock/requests").json["requests"][0]["path"] == "/old"
        assert client.delete("/_mock/requests").status_code in (200, 204)
        after_clear = newest_id()
        assert after_clear > first
        assert client.post("/_mock/reset?seed=demo").status_code == 200
        assert newest_id() > after_clear
    finally:
        app.extensions["mockserver"].close()
