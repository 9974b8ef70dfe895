"""What the dashboard reads of ParkPow, per account: parking lots with their cameras and
occupancy, open visits, and recent visits (keyset on start time) with their images."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import aliased

from ..core import schema
from ..core.keyset import KeysetPage, Position, newest_first
from . import schema as pp_schema

VISITS_PER_PAGE = 50
OPEN_SHOWN = 100


@dataclass
class LotView:
    id: int
    name: str
    spaces: int
    absent_timer: int
    cameras: list
    open_visits: int


def accounts(conn: Connection) -> list[tuple[int, list[str]]]:
    """Accounts with ParkPow, with their tokens."""
    rows = conn.execute(
        select(schema.accounts.c.id, schema.accounts.c.products, schema.tokens.c.token)
        .join(schema.tokens, schema.tokens.c.account_id == schema.accounts.c.id)
        .order_by(schema.accounts.c.id, schema.tokens.c.token)
    ).all()
    found: dict[int, list[str]] = {}
    for row in rows:
        if "parkpow" in row.products:
            found.setdefault(row.id, []).append(row.token)
    return list(found.items())


def lots(conn: Connection, account_id: int) -> list[LotView]:
    lot, cam, visit = pp_schema.pp_parkings.c, pp_schema.pp_cameras.c, pp_schema.pp_visits.c
    rows = conn.execute(
        select(pp_schema.pp_parkings).where(lot.account_id == account_id).order_by(lot.id)
    ).all()
    cameras: dict[int, list] = {}
    for row in conn.execute(
        select(cam.parking_id, cam.code, cam.name, cam.type)
        .where(cam.account_id == account_id)
        .order_by(cam.parking_id, cam.code)
    ):
        cameras.setdefault(row.parking_id, []).append(row)
    occupied = dict(
        conn.execute(
            select(visit.parking_id, func.count())
            .where(visit.account_id == account_id, visit.open.is_(True))
            .group_by(visit.parking_id)
        ).all()
    )
    return [
        LotView(
            row.id,
            row.name,
            row.parking_spaces,
            row.absent_timer,
            cameras.get(row.id, []),
            occupied.get(row.id, 0),
        )  # fmt: skip
        for row in rows
    ]


def _visit_query(account_id: int):
    visit, lot = pp_schema.pp_visits.c, pp_schema.pp_parkings.c
    start_cam, end_cam = aliased(pp_schema.pp_cameras), aliased(pp_schema.pp_cameras)
    start_media, end_media = aliased(schema.media), aliased(schema.media)
    return (
        select(
            visit.id,
            visit.license_plate,
            visit.open,
            visit.start_us,
            visit.end_us,
            visit.last_seen_us,
            lot.name.label("parking"),
            start_cam.c.code.label("start_cam"),
            end_cam.c.code.label("end_cam"),
            start_media.c.name.label("start_img"),
            end_media.c.name.label("end_img"),
        )  # fmt: skip
        .select_from(pp_schema.pp_visits)
        .join(pp_schema.pp_parkings, lot.id == visit.parking_id)
        .outerjoin(start_cam, start_cam.c.id == visit.start_cam_id)
        .outerjoin(end_cam, end_cam.c.id == visit.end_cam_id)
        .outerjoin(start_media, start_media.c.id == visit.start_media_id)
        .outerjoin(end_media, end_media.c.id == visit.end_media_id)
        .where(visit.account_id == account_id)
    )


def open_visits(conn: Connection, account_id: int) -> list:
    visit = pp_schema.pp_visits.c
    query = _visit_query(account_id).where(visit.open.is_(True))
    return conn.execute(
        query.order_by(visit.start_us.desc(), visit.id.desc()).limit(OPEN_SHOWN)
    ).all()


def visit_page(conn: Connection, account_id: int, after: Position | None) -> KeysetPage:
    visit = pp_schema.pp_visits.c
    query = _visit_query(account_id)
    return newest_first(conn, query, visit.start_us, visit.id, after, VISITS_PER_PAGE)
