"""The dashboard's pages (GET only): parse the query, one read, render a template."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, send_file

from ...core import faults, schema
from ...core.errors import FieldErrors, NotFound
from ...core.keyset import parse_after
from ...core.numbers import ID_ERROR, parse_id
from ...core.timefmt import iso_z_precise
from ...core.web import current_emulator, json_response
from ...vendors import VENDORS
from .. import assertions, journal
from ..metrics import rates
from . import chart, thumbs

blueprint = Blueprint("pages", __name__)

#: the vendors' read-models for the pages, by role (``Vendor.dashboard``)
_VIEWS = {role: view for vendor in VENDORS for role, view in vendor.dashboard.items()}
fleet, notices, overlay, parking = (
    _VIEWS[role] for role in ("fleet", "alerts", "overlay", "parking")
)

JOURNAL_ROWS = 200


def _clock() -> dict:
    state = current_emulator().clock.state()
    return {"now_us": state.now_us, "frozen": state.frozen}


def _render(template: str, **context) -> Response:
    page = render_template(f"dashboard/{template}", clock=_clock(), **context)
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        raise FieldErrors({name: [ID_ERROR]})
    return number


# -- overview and VisionAlert -------------------------------------------------------------


@blueprint.get("/")
def index():
    emulator = current_emulator()

    def read(conn):
        now_us = emulator.clock.now_us(conn)
        return fleet.licenses(conn, now_us), parking.accounts(conn), faults.list_all(conn)

    licenses, parkpow_accounts, fault_list = emulator.store.query(read)
    return _render(
        "index.html",
        licenses=licenses,
        parkpow_accounts=parkpow_accounts,
        faults=fault_list,
        settings=emulator.settings(),
        rates=chart.rates_svg(rates.recent(emulator)),
    )


@blueprint.get("/licenses/<int:license_id>")
def license_cameras(license_id: int):
    after = parse_after(request.args.get("after"))
    emulator = current_emulator()
    settings = emulator.settings()

    def read(conn):
        lic = fleet.license_row(conn, license_id)
        now_us = emulator.clock.now_us(conn)
        return lic, *fleet.camera_page(conn, license_id, settings, after, now_us)

    lic, page, cards = emulator.store.query(read)
    return _render("license.html", license=lic, page=page, cards=cards, after=after)


@blueprint.get("/licenses/<int:license_id>/cameras/<serial>")
def camera(license_id: int, serial: str):
    after = parse_after(request.args.get("after"))
    log_id = _int_arg("log")
    emulator = current_emulator()
    settings = emulator.settings()

    def read(conn):
        lic = fleet.license_row(conn, license_id)
        now_us = emulator.clock.now_us(conn)
        return lic, fleet.camera_view(conn, license_id, serial, settings, after, log_id, now_us)

    lic, view = emulator.store.query(read)
    return _render(
        "camera.html",
        license=lic,
        camera=view,
        after=after,
        colours=overlay.COLOURS,
        overlay_on=request.args.get("overlay") == "1",
    )


@blueprint.get("/logs/<int:log_id>/overlay.svg")
def log_overlay(log_id: int):
    emulator = current_emulator()
    found = emulator.store.query(lambda conn: fleet.explained_log(conn, log_id))
    if found is None:
        raise NotFound()
    svg = overlay.explanation(emulator, *found)
    if svg is None:
        raise NotFound()
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"  # a log's images never change
    return response


@blueprint.get("/thumbs/<name>")
def thumbnail(name: str):
    emulator = current_emulator()
    row = emulator.store.query(lambda conn: emulator.media.lookup(conn, name))
    if row is None:
        raise NotFound()
    path = thumbs.thumbnail_path(
        emulator.config.data_dir, lambda: emulator.media.read(row.sha256), row.sha256
    )
    if path is None:
        raise NotFound()
    return send_file(path, mimetype="image/jpeg", max_age=86400, etag=row.sha256)


@blueprint.get("/licenses/<int:license_id>/alerts")
def alerts(license_id: int):
    after = parse_after(request.args.get("after"))
    emulator = current_emulator()

    def read(conn):
        lic = fleet.license_row(conn, license_id)
        return lic, *notices.alert_page(conn, license_id, after)

    lic, page, views = emulator.store.query(read)
    return _render("alerts.html", license=lic, page=page, alerts=views, after=after)


# -- ParkPow ------------------------------------------------------------------------------


@blueprint.get("/parkpow")
def parkpow():
    after = parse_after(request.args.get("after"))
    wanted = _int_arg("account")
    emulator = current_emulator()

    def read(conn):
        accounts = parking.accounts(conn)
        ids = [account_id for account_id, _ in accounts]
        if wanted is not None and wanted not in ids:
            raise NotFound()
        account_id = wanted if wanted is not None else (ids[0] if ids else None)
        if account_id is None:
            return accounts, None, [], [], None
        return (
            accounts,
            account_id,
            parking.lots(conn, account_id),
            parking.open_visits(conn, account_id),
            parking.visit_page(conn, account_id, after),
        )

    accounts, account_id, lots, open_visits, page = emulator.store.query(read)
    return _render(
        "parkpow.html",
        accounts=accounts,
        account_id=account_id,
        lots=lots,
        open_visits=open_visits,
        page=page,
        after=after,
    )


# -- control: journal and faults ----------------------------------------------------------


@blueprint.get("/journal")
def journal_tail():
    args = {k: v for k, v in request.args.items() if k in ("token", "path", "status", "method")}
    emulator = current_emulator()
    keyed = emulator.control_plane.journal.keyed
    wanted = keyed(journal.parse_filter({**args, "limit": str(JOURNAL_ROWS)}))
    emulator.control_plane.journal.sync()
    rows = emulator.journal_store.query(lambda conn: journal.entries(conn, wanted))
    verdicts = None
    if request.args.get("check"):
        client = keyed(journal.JournalFilter(token=request.args["check"]))
        history = emulator.journal_store.query(
            lambda conn: journal.rows_for_assertions(conn, client)
        )
        verdicts = [check(history) for check in assertions.ASSERTIONS.values()]
    return _render(
        "journal.html",
        rows=list(reversed(rows)),
        filters=args,
        last_id=rows[-1]["id"] if rows else 0,
        verdicts=verdicts,
        check=request.args.get("check", ""),
    )


# -- the live parts' JSON (under /_mock/ui, so a browser's Basic credentials reach them) ----


@blueprint.get("/feed/requests")
def feed_requests():
    """The journal tail's poll: ``/_mock/requests`` with the same filters and answer."""
    emulator = current_emulator()
    wanted = emulator.control_plane.journal.keyed(journal.parse_filter(request.args))
    emulator.control_plane.journal.sync()
    rows = emulator.journal_store.query(lambda conn: journal.entries(conn, wanted))
    last = rows[-1]["id"] if rows else wanted.since
    return json_response({"count": len(rows), "next_since": last, "requests": rows})


@blueprint.get("/feed/clock")
def feed_clock():
    """The header clock's poll: ``/_mock/clock``'s answer."""
    state = current_emulator().clock.state()
    return json_response({"now": iso_z_precise(state.now_us), "frozen": state.frozen})


@blueprint.get("/journal/<int:entry_id>")
def journal_entry(entry_id: int):
    emulator = current_emulator()
    emulator.control_plane.journal.sync()
    table = schema.journal
    row = emulator.journal_store.query(
        lambda conn: conn.execute(table.select().where(table.c.id == entry_id)).first()
    )
    if row is None:
        raise NotFound()
    entry = journal.public(row)
    return _render("request.html", entry=entry, fault_id=row.fault_id)


@blueprint.get("/faults")
def fault_list():
    emulator = current_emulator()
    return _render("faults.html", faults=emulator.store.query(faults.list_all))
