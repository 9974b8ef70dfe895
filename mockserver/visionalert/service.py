"""VisionAlert read rules: what an account may see, in the seed's shapes.

Every list is one keyset page (``core.pagination``) plus at most one extra query for the
page's children (camera tags, alert cameras): a page costs a constant number of queries
whatever its size, its depth and the size of the tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, false, func, select, true

from ..core.auth import Account
from ..core.emulator import Emulator
from ..core.errors import NotFound, PermissionDenied
from ..core.numbers import parse_id
from ..core.pagination import Page, PageRequest, fetch_page
from . import queries, schema, serializers
from .filters import AlertFilters, CameraFilters, LogFilters

#: Up to this many tagged cameras, a tag filter scans each camera's own log index (cost
#: bounded by cameras x page, however rare their logs); more, and it scans the license's
#: index for logs of those cameras (cheaper per request while the tag is common).
TAG_SCANS = 8


# -- tenancy --------------------------------------------------------------------------------


def license_for(conn: Connection, account: Account, license_id: str) -> Any:
    """The license named in the path: 404 if there is none, 403 if it is someone else's."""
    number = parse_id(license_id)
    if number is None:
        raise NotFound()
    lic = schema.va_licenses.c
    row = conn.execute(select(lic.id, lic.code, lic.account_id).where(lic.id == number)).first()
    if row is None:
        raise NotFound()
    if row.account_id != account.id:
        raise PermissionDenied()
    return row


def camera_for(conn: Connection, license_row: Any, serial: str) -> Any:
    """The camera with ``serial`` under the license, or 404."""
    cam = schema.va_cameras.c
    row = conn.execute(
        select(cam.id, cam.serial, cam.name, cam.reference_id).where(
            cam.account_id == license_row.account_id,  # the unique (account, serial) index
            cam.serial == serial,
            cam.license_id == license_row.id,
        )
    ).first()
    if row is None:
        raise NotFound()
    return row


def check_license(emulator: Emulator, account: Account, license_id: str) -> None:
    """Raise the tenancy error of the license in the path, if any."""
    emulator.store.query(lambda conn: license_for(conn, account, license_id))


def check_camera(emulator: Emulator, account: Account, license_id: str, serial: str) -> None:
    """Raise the tenancy error of the license and serial in the path, if any."""
    emulator.store.query(
        lambda conn: camera_for(conn, license_for(conn, account, license_id), serial)
    )


def next_appearance(emulator: Emulator, now_us: int) -> int | None:
    """The next instant a log appears (every list may change then), or None."""
    log = schema.va_logs.c
    query = select(func.min(log.visible_us)).where(log.visible_us > now_us)
    return emulator.store.query(lambda conn: conn.execute(query).scalar())


# -- licenses -------------------------------------------------------------------------------


def list_licenses(emulator: Emulator, account: Account) -> list[dict]:
    """Bare array, newest first (ties: higher id first)."""
    lic = schema.va_licenses.c
    query = (
        select(schema.va_licenses)
        .where(lic.account_id == account.id)
        .order_by(lic.created_us.desc(), lic.id.desc())
    )
    rows = emulator.store.query(lambda conn: conn.execute(query).all())
    return [serializers.license_json(row) for row in rows]


# -- cameras --------------------------------------------------------------------------------


def list_cameras(
    emulator: Emulator,
    account: Account,
    license_id: str,
    filters: CameraFilters,
    page: PageRequest,
    now_us: int,
) -> tuple[Page, list[dict]]:
    cam = schema.va_cameras.c
    latest_status = queries.latest_status_column(now_us)

    def read(conn: Connection) -> tuple[Page, list[dict]]:
        lic = license_for(conn, account, license_id)
        query = select(
            cam.id,
            cam.serial,
            cam.name,
            cam.notes,
            latest_status.label("latest_status"),
            cam.created_us,
            cam.modified_us,
        ).where(cam.license_id == lic.id)
        if filters.status == "no_data":
            query = query.where(latest_status.is_(None))
        elif filters.status is not None:
            query = query.where(latest_status == filters.status)
        result = fetch_page(conn, query, cam.created_us, cam.id, page)
        tags = _tags_of(conn, [row.id for row in result.rows])
        return result, [
            serializers.camera_json(row, lic.code, tags.get(row.id, [])) for row in result.rows
        ]

    return emulator.store.query(read)


def _tags_of(conn: Connection, camera_ids: list[int]) -> dict[int, list[str]]:
    """Tag names of a page of cameras in one query, in the order they were assigned."""
    if not camera_ids:
        return {}
    link = schema.va_camera_tags
    tag = schema.va_tags
    rows = conn.execute(
        select(link.c.camera_id, tag.c.name)
        .join(tag, tag.c.id == link.c.tag_id)
        .where(link.c.camera_id.in_(camera_ids))
        .order_by(link.c.camera_id, link.c.ordinal)
    ).all()
    tags: dict[int, list[str]] = {}
    for row in rows:
        tags.setdefault(row.camera_id, []).append(row.name)
    return tags


# -- logs -----------------------------------------------------------------------------------


def _log_query():
    log = schema.va_logs
    cam = schema.va_cameras
    media = schema.media
    return select(
        log.c.id,
        log.c.status,
        log.c.anomalies,
        log.c.created_us,
        cam.c.serial.label("camera_serial"),
        cam.c.name.label("camera_name"),
        media.c.name.label("snapshot_name"),
        media.c.kind.label("snapshot_kind"),
    ).select_from(
        log.join(cam, cam.c.id == log.c.camera_id).outerjoin(media, media.c.id == log.c.snapshot_id)
    )


def _filter_logs(query, filters: LogFilters, now_us: int):
    """The filters, and the visibility rule: a log appears at its ``visible_us``."""
    log = schema.va_logs.c
    query = query.where(log.visible_us <= now_us)
    if filters.status is not None:
        query = query.where(log.status == filters.status)
    if filters.created.start_us is not None:
        query = query.where(log.created_us >= filters.created.start_us)
    if filters.created.end_us is not None:
        query = query.where(log.created_us <= filters.created.end_us)
    return query


def list_camera_logs(
    emulator: Emulator,
    account: Account,
    license_id: str,
    serial: str,
    filters: LogFilters,
    page: PageRequest,
    base: str,
    now_us: int,
) -> tuple[Page, list[dict]]:
    log = schema.va_logs.c

    def read(conn: Connection) -> tuple[Page, list[dict]]:
        camera = camera_for(conn, license_for(conn, account, license_id), serial)
        query = _filter_logs(_log_query().where(log.camera_id == camera.id), filters, now_us)
        result = fetch_page(conn, query, log.created_us, log.id, page)
        return result, [serializers.log_json(row, base) for row in result.rows]

    return emulator.store.query(read)


def list_license_logs(
    emulator: Emulator,
    account: Account,
    license_id: str,
    filters: LogFilters,
    page: PageRequest,
    base: str,
    now_us: int,
) -> tuple[Page, list[dict]]:
    log = schema.va_logs.c
    cam = schema.va_cameras.c

    def read(conn: Connection) -> tuple[Page, list[dict]]:
        lic = license_for(conn, account, license_id)
        scope = log.license_id == lic.id
        if filters.serial is not None:
            # One camera: its own index; the license is implied by the camera.
            camera = conn.execute(
                select(cam.id).where(
                    cam.account_id == lic.account_id,
                    cam.serial == filters.serial,
                    cam.license_id == lic.id,
                )
            ).first()
            scope = log.camera_id == camera.id if camera else false()
        partitions = None
        if filters.tag is not None:
            tagged = conn.execute(_tagged_cameras(lic, filters.tag)).scalars().all()
            if not tagged:
                scope = false()
            elif filters.serial is None and filters.status is None and len(tagged) <= TAG_SCANS:
                # One keyset scan per tagged camera: bounded however rare their logs are.
                partitions = [log.camera_id == camera_id for camera_id in tagged]
                scope = None
            else:
                scope = and_(scope, log.camera_id.in_(tagged))
        query = _log_query() if scope is None else _log_query().where(scope)
        query = _filter_logs(query, filters, now_us)
        result = fetch_page(conn, query, log.created_us, log.id, page, partitions)
        return result, [serializers.log_json(row, base) for row in result.rows]

    return emulator.store.query(read)


def _tagged_cameras(lic: Any, tag_name: str):
    """Ids of the license's cameras that carry the tag."""
    link = schema.va_camera_tags.c
    tag = schema.va_tags.c
    cam = schema.va_cameras.c
    return (
        select(link.camera_id)
        .join(schema.va_tags, tag.id == link.tag_id)
        .join(schema.va_cameras, cam.id == link.camera_id)
        .where(tag.account_id == lic.account_id, tag.name == tag_name, cam.license_id == lic.id)
        .order_by(link.camera_id)
    )


# -- alerts ---------------------------------------------------------------------------------


def list_alerts(
    emulator: Emulator,
    account: Account,
    license_id: str,
    filters: AlertFilters,
    page: PageRequest,
    base: str,
) -> tuple[Page, list[dict]]:
    alert = schema.va_alerts.c

    def read(conn: Connection) -> tuple[Page, list[dict]]:
        lic = license_for(conn, account, license_id)
        query = select(alert.id, alert.sent, alert.created_us).where(
            alert.license_id == lic.id, alert.emitted == true()
        )
        if filters.license_code is not None and filters.license_code != lic.code:
            query = query.where(false())
        if filters.sent is not None:
            query = query.where(alert.sent == filters.sent)
        if filters.created.start_us is not None:
            query = query.where(alert.created_us >= filters.created.start_us)
        if filters.created.end_us is not None:
            query = query.where(alert.created_us <= filters.created.end_us)
        result = fetch_page(conn, query, alert.created_us, alert.id, page)
        cameras = _alert_cameras(conn, [row.id for row in result.rows], base)
        return result, [
            serializers.alert_json(row, lic.code, cameras.get(row.id, [])) for row in result.rows
        ]

    return emulator.store.query(read)


def _alert_cameras(conn: Connection, alert_ids: list[int], base: str) -> dict[int, list[dict]]:
    """The cameras of a page of alerts in one query, with their images as at alert time."""
    if not alert_ids:
        return {}
    entry = schema.va_alert_cameras
    snapshot = schema.media.alias("snapshot")
    reference = schema.media.alias("reference")
    rows = conn.execute(
        select(
            entry.c.alert_id,
            entry.c.serial,
            entry.c.name,
            entry.c.status,
            entry.c.anomalies,
            snapshot.c.name.label("snapshot_name"),
            snapshot.c.kind.label("snapshot_kind"),
            reference.c.name.label("reference_name"),
            reference.c.kind.label("reference_kind"),
        )
        .select_from(
            entry.outerjoin(snapshot, snapshot.c.id == entry.c.snapshot_id).outerjoin(
                reference, reference.c.id == entry.c.reference_media_id
            )
        )
        .where(entry.c.alert_id.in_(alert_ids))
        .order_by(entry.c.alert_id, entry.c.id)
    ).all()
    cameras: dict[int, list[dict]] = {}
    for row in rows:
        cameras.setdefault(row.alert_id, []).append(serializers.alert_camera_json(row, base))
    return cameras
