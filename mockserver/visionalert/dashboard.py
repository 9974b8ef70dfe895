"""What the dashboard reads of VisionAlert: accounts, licenses, cameras and their logs.

A page is a fixed number of statements whatever its size (no query per camera): the
camera page, its latest logs, their images and the cameras' tags are one statement each.
Reads only; the store's rules stay with ``visionalert``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from ..core import schema
from ..core.errors import NotFound
from ..core.keyset import KeysetPage, Position, newest_first
from . import judging, queries, scoring
from . import schema as va_schema
from .references import reference_at

CAMERAS_PER_PAGE = 48
LOGS_PER_PAGE = 24
STATUSES = ("normal", "anomaly", "under_review", "offline", "config_issue", "pending_retry")


@dataclass
class Score:
    """One anomaly score against its threshold and review band, for a bar."""

    name: str
    value: float | None
    threshold: float
    band: float

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "none"
        if self.value > self.threshold + self.band:
            return "over"
        if abs(self.value - self.threshold) <= self.band:
            return "review"
        return "under"


def scores_of(scores_json: str | None, thresholds: dict[str, float], band: float) -> list[Score]:
    scores = json.loads(scores_json or "{}")
    return [Score(name, scores.get(name), thresholds[name], band) for name in scoring.ANOMALY_TYPES]


# -- the overview -------------------------------------------------------------------------


@dataclass
class LicenseSummary:
    id: int
    code: str
    account_id: int
    tokens: list[str]
    size: int
    expiration_us: int
    cameras: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def licenses(conn: Connection, now_us: int) -> list[LicenseSummary]:
    """Every license with its tokens, camera count and cameras per latest status (three
    grouped statements, not one per license)."""
    lic = va_schema.va_licenses.c
    rows = conn.execute(select(va_schema.va_licenses).order_by(lic.account_id, lic.id)).all()
    tokens: dict[int, list[str]] = {}
    for token, account_id in conn.execute(
        select(schema.tokens.c.token, schema.tokens.c.account_id).order_by(schema.tokens.c.token)
    ):
        tokens.setdefault(account_id, []).append(token)
    found = {
        row.id: LicenseSummary(
            row.id,
            row.code,
            row.account_id,
            tokens.get(row.account_id, []),
            row.size,
            row.expiration_us,
        )  # fmt: skip
        for row in rows
    }
    cam = va_schema.va_cameras.c
    status = queries.latest_status_column(now_us).label("status")
    counts = conn.execute(
        select(cam.license_id, status, func.count()).group_by(cam.license_id, status)
    )
    for license_id, status, count in counts:
        summary = found.get(license_id)
        if summary is not None:
            summary.cameras += count
            summary.statuses[status or "no_data"] = count
    return list(found.values())


# -- the camera grid ----------------------------------------------------------------------


@dataclass
class CameraCard:
    id: int
    serial: str
    name: str
    status: str | None
    tags: list[str]
    snapshot: str | None  # media name of the latest log's snapshot
    reference: str | None  # media name of the current reference
    log_id: int | None
    logged_us: int | None
    scores: list[Score]


def license_row(conn: Connection, license_id: int):
    row = conn.execute(
        select(va_schema.va_licenses).where(va_schema.va_licenses.c.id == license_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


def camera_page(
    conn: Connection, license_id: int, settings: dict, after: Position | None, now_us: int
) -> tuple[KeysetPage, list[CameraCard]]:
    """The cards as the clock stands at ``now_us`` (logs that have appeared)."""
    cam, logs = va_schema.va_cameras.c, va_schema.va_logs.c
    latest = (
        select(logs.id)
        .where(logs.camera_id == cam.id, logs.visible_us <= now_us)
        .order_by(logs.created_us.desc(), logs.id.desc())
        .limit(1)
        .correlate(va_schema.va_cameras)
        .scalar_subquery()
    )
    query = select(
        cam.id, cam.serial, cam.name, cam.thresholds, cam.created_us,
        queries.reference_id_column(now_us).label("reference_id"),
        latest.label("latest_log_id"),
    ).where(cam.license_id == license_id)  # fmt: skip
    page = newest_first(conn, query, cam.created_us, cam.id, after, CAMERAS_PER_PAGE)
    log_rows = _logs_by_id(conn, [row.latest_log_id for row in page.rows if row.latest_log_id])
    references = _reference_names(conn, [row.reference_id for row in page.rows])
    tags = tags_of(conn, [row.id for row in page.rows])
    cards = []
    for row in page.rows:
        log = log_rows.get(row.latest_log_id)
        thresholds = judging.thresholds_of(row.thresholds, settings["default_threshold"])
        cards.append(
            CameraCard(
                row.id,
                row.serial,
                row.name,
                log.status if log else None,
                tags.get(row.id, []),
                log.snapshot_name if log else None,
                references.get(row.reference_id),
                log.id if log else None,
                log.created_us if log else None,
                scores_of(log.scores if log else None, thresholds, settings["review_band"]),
            )  # fmt: skip
        )
    return page, cards


def _logs_by_id(conn: Connection, log_ids: list[int]) -> dict[int, Any]:
    if not log_ids:
        return {}
    logs, media = va_schema.va_logs.c, schema.media.c
    rows = conn.execute(
        select(
            logs.id, logs.status, logs.scores, logs.created_us, media.name.label("snapshot_name")
        )
        .select_from(va_schema.va_logs)
        .outerjoin(schema.media, media.id == logs.snapshot_id)
        .where(logs.id.in_(log_ids))
    ).all()
    return {row.id: row for row in rows}


def _reference_names(conn: Connection, reference_ids: list[int | None]) -> dict[int, str]:
    wanted = [ref for ref in reference_ids if ref is not None]
    if not wanted:
        return {}
    refs, media = va_schema.va_references.c, schema.media.c
    rows = conn.execute(
        select(refs.id, media.name)
        .join(schema.media, media.id == refs.media_id)
        .where(refs.id.in_(wanted))
    )
    return {ref_id: name for ref_id, name in rows}


def tags_of(conn: Connection, camera_ids: list[int]) -> dict[int, list[str]]:
    if not camera_ids:
        return {}
    link, tag = va_schema.va_camera_tags.c, va_schema.va_tags.c
    rows = conn.execute(
        select(link.camera_id, tag.name)
        .join(va_schema.va_tags, tag.id == link.tag_id)
        .where(link.camera_id.in_(camera_ids))
        .order_by(link.camera_id, tag.id)
    )
    found: dict[int, list[str]] = {}
    for camera_id, name in rows:
        found.setdefault(camera_id, []).append(name)
    return found


# -- one camera ---------------------------------------------------------------------------


@dataclass
class LogView:
    id: int
    status: str
    created_us: int
    snapshot: str | None
    snapshot_sha: str | None
    anomalies: dict
    scores: list[Score]


@dataclass
class CameraView:
    id: int
    serial: str
    name: str
    notes: str
    status: str | None
    tags: list[str]
    reference: str | None
    thresholds: dict[str, float]
    logs: KeysetPage
    strip: list[LogView]
    shown: LogView | None


def camera_view(
    conn: Connection,
    license_id: int,
    serial: str,
    settings: dict,
    after: Position | None,
    log_id: int | None,
    now_us: int,
) -> CameraView:
    """The camera as the clock stands at ``now_us`` (logs that have appeared)."""
    cam, logs, media = va_schema.va_cameras.c, va_schema.va_logs.c, schema.media.c
    camera = conn.execute(
        select(va_schema.va_cameras).where(cam.license_id == license_id, cam.serial == serial)
    ).first()
    if camera is None:
        raise NotFound()
    thresholds = judging.thresholds_of(camera.thresholds, settings["default_threshold"])
    band = settings["review_band"]
    columns = (
        logs.id, logs.status, logs.created_us, logs.anomalies, logs.scores,
        media.name.label("snapshot_name"), media.sha256.label("snapshot_sha"),
    )  # fmt: skip
    base = (
        select(*columns)
        .select_from(va_schema.va_logs)
        .outerjoin(schema.media, media.id == logs.snapshot_id)
        .where(logs.camera_id == camera.id, logs.visible_us <= now_us)
    )
    page = newest_first(conn, base, logs.created_us, logs.id, after, LOGS_PER_PAGE)
    newest = conn.execute(
        select(logs.status)
        .where(logs.camera_id == camera.id, logs.visible_us <= now_us)
        .order_by(logs.created_us.desc(), logs.id.desc())
        .limit(1)
    ).scalar()
    reference = reference_at(conn, camera.id, now_us)
    reference_id = reference.id if reference else None

    def view(row) -> LogView:
        return LogView(
            row.id, row.status, row.created_us, row.snapshot_name, row.snapshot_sha,
            json.loads(row.anomalies), scores_of(row.scores, thresholds, band),
        )  # fmt: skip

    strip = [view(row) for row in page.rows]
    shown = None
    if log_id is not None:
        row = conn.execute(base.where(logs.id == log_id)).first()
        if row is None:
            raise NotFound()
        shown = view(row)
    elif strip:
        shown = strip[0]
    return CameraView(
        camera.id, camera.serial, camera.name, camera.notes, newest,
        tags_of(conn, [camera.id]).get(camera.id, []),
        _reference_names(conn, [reference_id]).get(reference_id),
        thresholds, page, strip, shown,
    )  # fmt: skip


def explained_log(conn: Connection, log_id: int) -> tuple[str, str | None] | None:
    """(snapshot sha256, sha256 of the reference in force when the log was made) of a log;
    None when it has no snapshot (offline)."""
    logs, media, refs = va_schema.va_logs.c, schema.media.c, va_schema.va_references.c
    row = conn.execute(
        select(logs.camera_id, logs.created_us, media.sha256)
        .join(schema.media, media.id == logs.snapshot_id)
        .where(logs.id == log_id)
    ).first()
    if row is None:
        return None
    reference = conn.execute(
        select(media.sha256)
        .select_from(va_schema.va_references)
        .join(schema.media, media.id == refs.media_id)
        .where(refs.camera_id == row.camera_id, refs.created_us <= row.created_us)
        .order_by(refs.created_us.desc(), refs.id.desc())
        .limit(1)
    ).scalar()
    return row.sha256, reference
