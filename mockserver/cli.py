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
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS (only) on --port, with a leaf from the local CA for localhost and "
    "every vendor host name (see `mockserver ca`).",
)
@click.option(
    "--ca-dir",
    type=click.Path(file_okay=False),
    default=None,
    envvar="MOCKSERVER_CA_DIR",
    help="Where the local CA lives (default: <data-dir>/ca; ./mockserver-data/ca with "
    "--ephemeral, so clients keep trusting it).",
)
@click.option(
    "--proxy-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Also run a forward proxy on this port (HTTPS_PROXY=http://127.0.0.1:PORT): "
    "CONNECT to a vendor host reaches the emulator. Implies --tls.",
)
@click.option(
    "--proxy-host", default="127.0.0.1", show_default=True, help="Address the proxy binds."
)
@click.option(
    "--proxy-passthrough",
    is_flag=True,
    help="Tunnel hosts no vendor owns to the real ones (default: refused with 403).",
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
    tls=False,
    ca_dir=None,
    proxy_port=None,
    proxy_host="127.0.0.1",
    proxy_passthrough=False,
) -> None:
    """Start the emulator and run until interrupted (SIGINT/SIGTERM)."""
    if data_dir and ephemeral:
        raise click.UsageError("--data-dir and --ephemeral exclude each other")
    if proxy_port is not None and proxy_port == port:
        raise click.UsageError("--proxy-port needs a port of its own, not --port's")
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
    tls = tls or proxy_port is not None
    ca_dir = _ca_dir(ca_dir, data_dir)
    proxy = None
    try:
        leaf = _leaf(ca_dir, host) if tls else None
        _announce(config, host, port, workers, generated, "https" if tls else "http")
        if tls:
            _announce_tls(ca_dir)
        if proxy_port is not None:
            proxy = _start_proxy(ca_dir, host, port, proxy_host, proxy_port, proxy_passthrough)
        os.environ.update(config.to_env())
        _run_server(host, port, workers, threads, leaf)
    finally:
        if proxy is not None:
            proxy.stop()
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
    config: Config,
    host: str,
    port: int,
    workers: int,
    generated_token: bool = False,
    scheme: str = "http",
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
    echo(f"mockserver on {scheme}://{host}:{port}  ({workers} workers, store: {where})")
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


def _run_server(host: str, port: int, workers: int, threads: int = 2, leaf=None) -> None:
    from pathlib import Path

    from granian import Granian
    from granian.constants import Interfaces, SSLProtocols

    # TLS 1.2 and up: firmware and older runtimes (Java 8, .NET Framework) stop at 1.2
    tls = (
        dict(
            ssl_cert=Path(leaf.cert_path),
            ssl_key=Path(leaf.key_path),
            ssl_protocol_min=SSLProtocols.tls12,
        )
        if leaf
        else {}
    )

    server = Granian(
        "mockserver.wsgi:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        backlog=2048,
        log_access=False,
        **tls,
    )
    server.serve()


def _ca_dir(ca_dir: str | None, data_dir: str | None) -> str:
    """The local CA's directory: given, else beside the store (the default store's with
    --ephemeral: a CA clients trust outlives a throw-away world)."""
    return os.path.abspath(ca_dir or os.path.join(data_dir or "mockserver-data", "ca"))


def _leaf(ca_dir: str, host: str):
    """The leaf the server presents: this machine, every vendor host, and the bind address."""
    from .core.vendor import hosts
    from .net.authority import Authority, leaf_names
    from .vendors import VENDORS

    return Authority(ca_dir).leaf(leaf_names(hosts(VENDORS), extra=[host]))


def _announce_tls(ca_dir: str) -> None:
    from .net.authority import CA_CERT

    click.echo(f"  CA certificate {os.path.join(ca_dir, CA_CERT)}  (`mockserver ca` shows how")
    click.echo("  to make clients trust it)")


def _reach(host: str) -> str:
    """The address this machine uses to reach a server bound to ``host``."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "localhost": "127.0.0.1"}.get(
        host, host
    )


def _start_proxy(
    ca_dir: str, host: str, port: int, proxy_host: str, proxy_port: int, passthrough: bool
):
    from .core.vendor import hosts
    from .net.authority import CA_CERT
    from .net.proxy import ProxySettings
    from .net.proxy_process import ProxyProcess
    from .vendors import VENDORS

    settings = ProxySettings(
        vendor_hosts=hosts(VENDORS),
        upstream_host=_reach(host),
        upstream_port=port,
        ca_file=os.path.join(ca_dir, CA_CERT),
        passthrough=passthrough,
    )
    try:
        proxy = ProxyProcess(settings, proxy_host, proxy_port).start()
    except OSError as error:
        raise click.ClickException(str(error)) from None
    url = f"http://{proxy_host}:{proxy_port}"
    others = "tunnelled to the real hosts" if passthrough else "refused (403)"
    click.echo(f"  forward proxy on {url}  (HTTPS_PROXY={url}; other hosts {others})")
    if passthrough and not _loopback(proxy_host):
        click.echo(f"  warning: {proxy_host} is reachable from other machines and the proxy")
        click.echo("  tunnels any host: it is an open proxy")
    sys.stdout.flush()
    return proxy


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The store's directory; the CA lives in its ca/ (default: ./mockserver-data).",
)
@click.option(
    "--ca-dir",
    type=click.Path(file_okay=False),
    default=None,
    envvar="MOCKSERVER_CA_DIR",
    help="The CA's own directory (overrides --data-dir).",
)
@click.option("--env", "env_only", is_flag=True, help='Only the export lines: eval "$(...)".')
def ca(data_dir, ca_dir, env_only) -> None:
    """Print the local CA certificate's path (made now if missing) and how to trust it."""
    from .net.authority import Authority
    from .net.trust import environment, instructions

    authority = Authority(_ca_dir(ca_dir, data_dir))
    created = authority.ensure()
    if env_only:
        click.echo("\n".join(environment(authority.cert_path)))
        return
    certificate = authority.certificate()
    click.echo(authority.cert_path)
    click.echo(
        f"# {certificate.subject.rfc4514_string()} ({'made now' if created else 'existing'}), "
        f"valid until {certificate.not_valid_after_utc:%Y-%m-%d}; its key stays in "
        f"{authority.directory}"
    )
    click.echo("\n".join(instructions(authority.cert_path)))


@main.command()
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    required=True,
    help="The real service, e.g. https://app.parkpow.com (repeatable: each takes the paths "
    "of the vendor whose host it is; the first takes the rest).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The cassette folder.")
@click.option(
    "--upstream-clock",
    is_flag=True,
    help="The upstream is an emulator: take each exchange's time from its clock.",
)
def record(upstreams, host, port, out, upstream_clock) -> None:
    """Record real traffic: a reverse proxy that forwards to the upstream, answers with its
    reply unchanged and writes each exchange to a cassette (tokens redacted)."""
    from .parity.cassette import Cassette
    from .parity.recorder import RecordingProxy, RecordingServer

    proxy = RecordingProxy(list(upstreams), Cassette(out), upstream_clock=upstream_clock)
    try:
        server = RecordingServer(proxy, host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    click.echo(f"recording on {server.url} -> {', '.join(proxy.upstreams)} into {out}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("cassettes", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The emulator.")
@click.option(
    "--seed",
    "seed_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Seed JSON to start from (default: the world the cassette implies).",
)
@click.option("--control-token", default=None, help="The emulator's control token, if any.")
@click.option(
    "--report",
    "report_dir",
    default="reports/parity",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where parity.md and parity.xml go (a folder per cassette).",
)
def parity(cassettes, url, seed_path, control_token, report_dir) -> None:
    """Replay cassettes against the emulator as a contract; exit 1 on any difference."""
    import json
    from pathlib import Path

    from .parity import report
    from .parity.cassette import Cassette
    from .parity.replay import Replay

    seed = json.loads(Path(seed_path).read_text()) if seed_path else None
    different = 0
    for folder in cassettes:
        try:
            replay = Replay(Cassette(folder), url, seed=seed, control_token=control_token)
            results = replay.run()
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            # an unreadable cassette, an unreachable emulator, a control call refused
            raise click.ClickException(f"{folder}: {type(error).__name__}: {error}") from None
        counts = report.summary(results)
        markdown, xml = report.write(
            results, folder, url, Path(report_dir) / Path(folder).resolve().name
        )
        click.echo(
            f"{folder}: {len(results)} exchanges, {counts['identical']} identical, "
            f"{counts['equal except volatile']} equal except volatile, "
            f"{counts['different']} different  ({markdown}, {xml})"
        )
        different += counts["different"]
    if different:
        sys.exit(1)


if __name__ == "__main__":
    main()
