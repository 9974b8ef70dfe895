"""The ``mockserver`` command line."""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import sys
import tempfile

import click
from sqlalchemy import select

from .config import Config
from .core.backends import check_media_url, check_url, redacted


@click.group()
def main() -> None:
    """A stateful emulator of the ParkPow and VisionAlert APIs."""


#: Request threads per worker process. Measured with 1080p uploads on 2 cores: 2 threads
#: per worker sustain about 1.4x the uploads of 8 (less contention for the interpreter
#: lock); paging reads are unaffected. A latency fault holds a thread while it waits.
DEFAULT_THREADS = 2


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes sharing one store.",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    envvar="MOCKSERVER_THREADS",
    type=click.IntRange(1, 64),
    help="Request threads per worker (uploads are CPU-bound: few threads beat many).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the store and media live (default: ./mockserver-data).",
)
@click.option("--ephemeral", is_flag=True, help="Keep state in a throw-away directory.")
@click.option(
    "--database",
    "database_url",
    default=None,
    metavar="URL",
    help="postgresql://user@host:5432/db: the world lives there, shared by every host "
    "pointed at it (env MOCKSERVER_DATABASE_URL). Default: SQLite under --data-dir.",
)
@click.option(
    "--media",
    "media_url",
    default=None,
    metavar="URL",
    help="Where image bytes live: file:///shared/dir, s3://bucket/prefix (endpoint: "
    "MOCKSERVER_S3_ENDPOINT; credentials: the AWS variables) or database (with --database). "
    "Default: files under --data-dir (env MOCKSERVER_MEDIA_URL).",
)
@click.option(
    "--seed",
    default="demo",
    show_default=True,
    help="demo | none | PATH.json (the /_mock/seed format); applied to a fresh store.",
)
@click.option("--public-base-url", default=None, help="Base of the absolute URLs handed out.")
@click.option(
    "--timezone",
    "server_timezone",
    default=None,
    help="Server timezone (naive timestamps; ParkPow dates). Default UTC.",
)
@click.option("--upload-limit", type=int, default=None, help="Max request body, bytes.")
@click.option("--control-token", default=None, help="Require 'Bearer TOKEN' on /_mock/.")
@click.option("--no-control", is_flag=True, help="Remove the /_mock/ control plane.")
@click.option(
    "--mutant",
    "mutants",
    multiple=True,
    help="Mutant mode: switch on a deliberate deviation (repeatable); see GET /_mock/mutants.",
)
def serve(
    host,
    port,
    workers,
    threads,
    data_dir,
    ephemeral,
    database_url,
    media_url,
    seed,
    public_base_url,
    server_timezone,
    upload_limit,
    control_token,
    no_control,
    mutants=(),
) -> None:
    """Start the emulator and run until interrupted (SIGINT/SIGTERM)."""
    if data_dir and ephemeral:
        raise click.UsageError("--data-dir and --ephemeral exclude each other")
    throwaway = tempfile.mkdtemp(prefix="mockserver-") if ephemeral else None
    config = Config.from_env(
        data_dir=os.path.abspath(throwaway or data_dir or "mockserver-data"),
        database_url=database_url,
        media_url=media_url,
        seed=seed,
        public_base_url=public_base_url,
        server_timezone=server_timezone,
        upload_limit=upload_limit,
        control_token=control_token,
        control_enabled=False if no_control else None,
        mutants=_mutant_names(mutants),
    )
    try:
        check_media_url(config.media_url, check_url(config.database_url))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    generated = config.control_enabled and not config.control_token and not _loopback(host)
    if generated:  # reachable from other machines: never an open control plane
        config.control_token = secrets.token_urlsafe(24)
    os.makedirs(config.data_dir, exist_ok=True)
    try:
        _announce(config, host, port, workers, generated)
        os.environ.update(config.to_env())
        _run_server(host, port, workers, threads)
    finally:
        if throwaway:
            shutil.rmtree(throwaway, ignore_errors=True)


def _mutant_names(names: tuple[str, ...]) -> str | None:
    """``--mutant`` values, checked against the known mutants (None: keep the environment's)."""
    if not names:
        return None
    from .control.mutants import parse_names

    try:
        return ",".join(parse_names(list(names)))
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _loopback(host: str) -> bool:
    """Only this machine can connect to ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to, assume others can reach it


def _announce(
    config: Config, host: str, port: int, workers: int, generated_token: bool = False
) -> None:
    """Prepare the store once (seed it if fresh) and print how to reach it."""
    from .control.seeding import load_initial_seed
    from .core import schema
    from .core.emulator import Emulator
    from .vendors import VENDORS

    emulator = Emulator(config, VENDORS)
    try:
        emulator.recover()  # no worker runs yet: a crashed run's leases and stray files go
        load_initial_seed(emulator)
        rows = emulator.store.query(
            lambda conn: conn.execute(
                select(schema.tokens.c.token, schema.accounts.c.products)
                .join(schema.accounts, schema.accounts.c.id == schema.tokens.c.account_id)
                .order_by(schema.accounts.c.id)
            ).all()
        )
        vendor_lines = [
            line
            for vendor in VENDORS
            if vendor.banner is not None
            for line in emulator.store.query(vendor.banner)
        ]
    finally:
        emulator.close()
    echo = lambda text: click.echo(text, err=False)  # noqa: E731
    where = redacted(config.database_url) if config.database_url else config.data_dir
    echo(f"mockserver on http://{host}:{port}  ({workers} workers, store: {where})")
    if config.media_url:
        echo(f"  media: {config.media_url}")
    elif config.database_url:
        echo("  media: files under the data directory (this host only: give every host")
        echo("  the same --media s3://… or file:///shared/dir)")
    if generated_token:
        echo(f"  control token {config.control_token}  (generated: {host} is reachable from")
        echo("  other machines; set --control-token / MOCKSERVER_CONTROL_TOKEN to choose one)")
    for row in rows:
        echo(f"  token {row.token}  products {row.products}")
    for line in vendor_lines:
        echo(f"  {line}")
    if not rows:
        echo("  (empty store: POST /_mock/seed to add accounts)")
    sys.stdout.flush()


def _run_server(host: str, port: int, workers: int, threads: int = 2) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "mockserver.wsgi:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        backlog=2048,
        log_access=False,
    )
    server.serve()


if __name__ == "__main__":
    main()
