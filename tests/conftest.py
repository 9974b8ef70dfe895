"""Shared fixtures: a fresh app (throw-away store) per test, driven through HTTP.

``backend`` says which database holds the app's world: ``sqlite`` (the default) or
``postgresql`` (a fresh database on the suite's own throw-away server). A module runs its
app-based tests on both with ``pytestmark = BOTH_BACKENDS`` (tests that build no app, e.g.
against a live server, run once).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from mockserver import Config, create_app
from mockserver.testkit import seeds

from . import xdist_scopes
from .postgres_server import PostgresUnavailable, ThrowawayPostgres
from .s3_server import s3_server  # noqa: F401  (a fixture: the suite's S3 endpoint)

BACKENDS = ("sqlite", "postgresql")
BOTH_BACKENDS = pytest.mark.both_backends


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "both_backends: run the test on SQLite and PostgreSQL")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    return xdist_scopes.make_scheduler(config, log)


def pytest_generate_tests(metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_backends") and (
        "backend" in metafunc.fixturenames
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


SEED_EXAMPLE = seeds.world(
    seeds.account(
        "tok-a",
        rate_limit_per_second=1,
        licenses=[
            seeds.license(
                "LIC-A",
                size=50,
                va_type="meraki",
                expiration="2027-01-15T00:00:00Z",
                webhook_url=None,
                notify_email=None,
                cameras=[seeds.camera("C1", name="Front", tags=["site-a"], notes="")],
            )
        ],
        parkings=[
            seeds.parking(
                "first-parking",
                parking_spaces=100,
                absent_timer=3,
                cameras=[seeds.parking_camera("101", name="cam-101", type="ENTRANCE")],
            )
        ],
    )
)


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


@pytest.fixture(scope="session")
def postgres_server():
    """The suite's PostgreSQL server, started on first use; a test needing it fails (never
    skips) when it cannot start, with the reason and how to install one."""
    try:
        server = ThrowawayPostgres()
    except PostgresUnavailable as error:
        pytest.fail(f"PostgreSQL test server unavailable: {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def backend(request) -> str:
    """The module's parameter, else ``MOCKSERVER_TEST_BACKEND`` (to run every test on one
    backend), else SQLite."""
    return getattr(request, "param", os.environ.get("MOCKSERVER_TEST_BACKEND", "sqlite"))


@pytest.fixture
def fresh_database(request, backend):
    """Makes fresh PostgreSQL databases for this test (None on SQLite); dropped afterwards."""
    if backend != "postgresql":
        yield lambda: None
        return
    server = request.getfixturevalue("postgres_server")
    made = []

    def make() -> str:
        made.append(server.database())
        return made[-1]

    yield make
    for url in made:
        server.drop(url)


@pytest.fixture
def database_url(fresh_database):
    """One fresh PostgreSQL database for this test (None on SQLite)."""
    return fresh_database()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A data directory whose store and journal hold the current schema and nothing else:
    migrated once per session (per worker), copied into each SQLite app's fresh directory,
    as the PostgreSQL databases are copied from their template."""
    from mockserver.core import schema
    from mockserver.core.store import Store

    directory = str(tmp_path_factory.mktemp("sqlite-template"))
    Store(directory).dispose()
    Store(directory, "journal", schema.journal_metadata).dispose()
    files = sorted(name for name in os.listdir(directory) if ".sqlite3" in name)
    assert files == ["journal.sqlite3", "store.sqlite3"], files  # no WAL left behind
    return directory


@pytest.fixture
def make_app(fresh_database, request):
    """Build apps with a throw-away store each (as a fresh data directory on SQLite, a
    fresh database on PostgreSQL); each is closed after the test. Apps given the same
    ``data_dir`` or ``database_url`` share one world."""
    apps = []
    directories = []

    def build(**settings):
        settings.setdefault("seed", "none")
        settings.setdefault("tick_seconds", 0)
        if "database_url" not in settings and not settings.get("data_dir"):
            settings["database_url"] = fresh_database() or ""
            if not settings["database_url"]:
                directories.append(_copy_of(request.getfixturevalue("sqlite_template")))
                settings["data_dir"] = directories[-1]
        app = create_app(Config(**settings))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["mockserver"].close()
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)


def _copy_of(template: str) -> str:
    directory = tempfile.mkdtemp(prefix="mockserver-")
    for name in os.listdir(template):
        if name.endswith(".sqlite3"):
            shutil.copyfile(os.path.join(template, name), os.path.join(directory, name))
    return directory


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded(client):
    """The README's seed example loaded, clock frozen at 2026-04-10T14:30:00Z."""
    reply = client.post("/_mock/seed", json=SEED_EXAMPLE)
    assert reply.status_code == 201, reply.json
    client.post("/_mock/clock", json={"set": "2026-04-10T14:30:00Z"})
    return reply.json
