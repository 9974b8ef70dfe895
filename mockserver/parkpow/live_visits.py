"""The live visit-list (page-numbered, filtered, ordered) and delete-visit.

ParkPow's own tools call visit-list with parameters the published document does not have:
``page``/``page_size`` (page-number paging), ``plate``, ``camera`` and ``ordering``. Such a
request gets the live envelope; one with only ``start``/``end`` keeps the documented bare
array. The ``visit_list_form`` setting (``auto``, ``live``, ``documented``) forces either.

* ``plate``: visits whose plate contains the text, any letter case (the tools compare the
  plate themselves, so a looser match than equality is what they are written for).
* ``camera``: visits that started or ended at the camera with that code.
* ``ordering``: ``start_date`` (oldest first) or ``-start_date`` (newest first, the
  default); as DRF's OrderingFilter, an unknown value falls back to the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Row, delete, or_, select

from ..core.auth import Account
from ..core.emulator import Emulator
from ..core.errors import NotFound
from . import schema, visits
from .paging import NumberedPage, PageNumber, fetch_numbered_page, page_number_from
from .periods import visit_period

LIVE_PARAMETERS = ("page", "page_size", "plate", "camera", "ordering")
ORDERINGS = ("start_date", "-start_date")
VC = visits.VC


@dataclass(frozen=True)
class VisitListing:
    """What visit-list answers: the documented bare array (``page`` None) or a live page."""

    rows: list[Row]
    page: NumberedPage | None = None


def visit_list(
    emulator: Emulator, account: Account, parameters: dict[str, str | None], now_us: int
) -> VisitListing:
    """``parameters``: the query string's and the form body's (start, end, and the live
    ones); which form answers follows ``visit_list_form``."""
    start_us, end_us = visit_period(
        parameters.get("start"), parameters.get("end"), emulator.server_tz, now_us
    )
    if not wants_live_form(emulator.settings()["visit_list_form"], parameters):
        rows = visits.visits_started_between(emulator.store, account.id, start_us, end_us, now_us)
        return VisitListing(rows)
    chosen = visit_filter(
        start_us,
        end_us,
        parameters.get("plate"),
        parameters.get("camera"),
        parameters.get("ordering"),
    )
    page = page_number_from(parameters.get("page"), parameters.get("page_size"))
    return VisitListing([], visit_page(emulator.store, account.id, chosen, page, now_us))


def wants_live_form(form_setting: str, parameters) -> bool:
    """``parameters``: the names the request used (query and body)."""
    if form_setting == "live":
        return True
    if form_setting == "documented":
        return False
    return any(name in parameters for name in LIVE_PARAMETERS)


@dataclass(frozen=True)
class VisitFilter:
    start_us: int | None
    end_us: int | None
    plate: str | None = None
    camera: str | None = None
    ascending: bool = False


def visit_filter(start_us, end_us, plate, camera, ordering) -> VisitFilter:
    """Blank ``plate``/``camera`` filter nothing, as an absent parameter (DRF's filters)."""
    plate = plate.strip() if isinstance(plate, str) and plate.strip() else None
    camera = camera.strip() if isinstance(camera, str) and camera.strip() else None
    ascending = isinstance(ordering, str) and ordering.strip() == "start_date"
    return VisitFilter(start_us, end_us, plate, camera, ascending)


def visit_page(
    store, account_id: int, chosen: VisitFilter, page: PageNumber, now_us: int
) -> NumberedPage:
    query = visits.visit_query(account_id, now_us)
    if chosen.start_us is not None:
        query = query.where(VC.start_us >= chosen.start_us)
    if chosen.end_us is not None:
        query = query.where(VC.start_us <= chosen.end_us)
    if chosen.plate is not None:
        escaped = chosen.plate.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(VC.license_plate.like(f"%{escaped}%", escape="\\"))
    if chosen.camera is not None:
        cameras = select(schema.pp_cameras.c.id).where(
            schema.pp_cameras.c.account_id == account_id,
            schema.pp_cameras.c.code == chosen.camera,
        )
        query = query.where(or_(VC.start_cam_id.in_(cameras), VC.end_cam_id.in_(cameras)))
    if chosen.ascending:
        query = query.order_by(VC.start_us.asc(), VC.id.asc())
    else:
        query = query.order_by(VC.start_us.desc(), VC.id.desc())
    return store.query(lambda conn: fetch_numbered_page(conn, query, page))


def delete_visit(emulator: Emulator, account: Account, visit_id: int) -> None:
    """Remove one of the account's visits, its pending absence job and the images only it
    used; 404 for a visit the account does not have."""

    def work(conn: Connection) -> list[str]:
        row = conn.execute(
            select(VC.id, VC.start_media_id, VC.end_media_id).where(
                VC.id == visit_id, VC.account_id == account.id
            )
        ).first()
        if row is None:
            raise NotFound()
        conn.execute(delete(visits.VISITS).where(VC.id == visit_id))
        visits.cancel_absence(conn, visit_id)
        media = [m for m in (row.start_media_id, row.end_media_id) if m is not None]
        still_used = {
            m
            for (m,) in conn.execute(
                select(VC.start_media_id).where(VC.start_media_id.in_(media))
            ).all()
            + conn.execute(select(VC.end_media_id).where(VC.end_media_id.in_(media))).all()
        }
        return emulator.media.delete_rows(conn, [m for m in media if m not in still_used])

    orphans = emulator.store.transact(work)
    emulator.media.remove_files(orphans)
