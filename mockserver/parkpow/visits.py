"""The visit lifecycle: sightings open, keep alive and close visits, on the emulator clock.

A visit is one stay of one plate in one parking lot. At most one is open per plate and
lot: the check and the insert happen in one write transaction (``BEGIN IMMEDIATE``, so
writers queue, across threads and worker processes), and a partial unique index on
open visits backs that up.

* ENTRANCE and SPOT sightings open a visit when the plate has none open in the camera's
  lot; otherwise they keep the open one alive (its last sighting moves forward).
* EXIT closes the plate's open visit at the sighting's time; with none open it is ignored.
* A visit not seen for its lot's ``absent_timer`` minutes closes at its last sighting,
  through the due-work job ``parkpow.absent`` (one per visit, moved on each sighting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, Row, String, and_, case, cast, literal, select
from sqlalchemy.orm import aliased

from ..core import duework
from ..core.auth import Account
from ..core.emulator import Emulator
from . import schema, service
from .sightings import VehicleLog

ABSENT_KIND = "parkpow.absent"
MINUTE_US = 60_000_000
MEDIA_KIND = "parkpow"

VISITS = schema.pp_visits
VC = VISITS.c


#: what one sighting did, in the words of the live service's reply ``status``
CREATED = "Created - New visit created"
UPDATED = "Updated - Visit updated"
CLOSED = "Closed - Visit closed"
NO_OPEN_VISIT = "Ignored - No open visit to close"


@dataclass(frozen=True)
class Outcome:
    """One sighting's effect: the visit it opened, kept alive or closed (None: nothing)."""

    plate: str
    visit_id: int | None
    status: str


def log_vehicle(
    emulator: Emulator, account: Account, log: VehicleLog, now_us: int
) -> list[Outcome]:
    """Apply every sighting of one log-vehicle request; returns what each one did.

    The image is kept only when a visit starts or ends with it. Its file is written before
    the write transaction (no disk sync while holding the store's write lock) when a read
    shows it will be needed; the rare request that races another and needs it after all
    writes it inside. A log without an image (a data-only webhook) keeps none.
    """
    account_id = account.id
    files: list[str] = []
    if log.image is not None and emulator.store.query(
        lambda conn: _image_needed(conn, account_id, log, now_us)
    ):
        files.append(emulator.media.write_file(log.image))
    at_us = log.time_us if log.time_us is not None else now_us

    def work(conn: Connection) -> list[Outcome]:
        camera = service.find_camera(conn, account_id, log.camera)
        if camera is None:
            camera = service.register_spot_camera(conn, account_id, log.camera)
        timer = camera.absent_timer
        media_id: list[int] = []

        def image_id() -> int | None:
            if log.image is None or log.image_info is None:
                return None
            if not media_id:
                sha = files[0] if files else emulator.media.write_file(log.image)
                media_id.append(
                    emulator.media.add(
                        conn,
                        sha,
                        len(log.image),
                        log.image_info.content_type,
                        MEDIA_KIND,
                        now_us,
                        log.image,
                    )
                )
            return media_id[0]

        outcomes: list[Outcome] = []
        for sighting in log.sightings:
            visit = _open_visit(conn, account_id, camera.parking_id, sighting.plate)
            if visit is not None and _absent_by(visit, now_us):
                # its absence fell due before this request: closed first (this request's
                # own work; nothing else runs due work on a request's path)
                _close_absent(conn, visit)
                visit = None
            prediction = _json_text(sighting.prediction)
            if camera.type == "EXIT":
                if visit is None:
                    outcomes.append(Outcome(sighting.plate, None, NO_OPEN_VISIT))
                    continue
                _close(conn, visit, at_us, camera.id, image_id(), prediction)
                _keep_data(conn, visit.id, "end_data", sighting.data)
                outcomes.append(Outcome(sighting.plate, visit.id, CLOSED))
            elif visit is None:
                visit_id = conn.execute(
                    VISITS.insert().values(
                        account_id=account_id,
                        parking_id=camera.parking_id,
                        license_plate=sighting.plate,
                        open=True,
                        start_cam_id=camera.id,
                        start_media_id=image_id(),
                        start_us=at_us,
                        last_seen_us=at_us,
                        start_prediction=prediction,
                    )
                ).inserted_primary_key[0]
                _keep_data(conn, visit_id, "start_data", sighting.data)
                _schedule_absence(conn, visit_id, at_us, timer, now_us)
                outcomes.append(Outcome(sighting.plate, visit_id, CREATED))
            else:
                last_seen = max(visit.last_seen_us, at_us)
                conn.execute(
                    VISITS.update().where(VC.id == visit.id).values(last_seen_us=last_seen)
                )
                _schedule_absence(conn, visit.id, last_seen, timer, now_us)
                outcomes.append(Outcome(sighting.plate, visit.id, UPDATED))
        return outcomes

    return emulator.store.transact(work)


def _json_text(value: dict | None) -> str | None:
    """Compact JSON, or None when there is nothing (or nothing JSON can carry: a Python
    literal's bytes or sets, a NaN) to keep."""
    if value is None:
        return None
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None


def _keep_data(conn: Connection, visit_id: int, column: str, data: dict | None) -> None:
    """Keep the raw ALPR result a visit started (or ended) with."""
    text = _json_text(data)
    if text is None:
        return
    table = schema.pp_visit_data
    updated = conn.execute(
        table.update().where(table.c.visit_id == visit_id).values({column: text})
    ).rowcount
    if not updated:
        conn.execute(table.insert().values({"visit_id": visit_id, column: text}))


def _image_needed(conn: Connection, account_id: int, log: VehicleLog, now_us: int) -> bool:
    """Will any sighting open or close a visit (and so keep the image)?"""
    if not log.sightings:
        return False
    camera = service.find_camera(conn, account_id, log.camera)
    if camera is None:
        return True  # a new SPOT camera: its first sighting opens a visit
    for sighting in log.sightings:
        visit = _open_visit(conn, account_id, camera.parking_id, sighting.plate)
        is_open = visit is not None and not _absent_by(visit, now_us)
        if is_open == (camera.type == "EXIT"):
            return True
    return False


def _absence_due():
    """The due time of a visit's absence job (None: it never closes by absence)."""
    jobs = schema.jobs.c
    key = literal(f"{ABSENT_KIND}:") + cast(VC.id, String)
    return select(jobs.due_us).where(jobs.key == key).correlate(VISITS).scalar_subquery()


def _absent_by(visit: Row, now_us: int) -> bool:
    return visit.absent_due is not None and visit.absent_due <= now_us


def _close_absent(conn: Connection, visit: Row) -> None:
    """What the absence job does: the visit ends at its last sighting."""
    conn.execute(
        VISITS.update().where(VC.id == visit.id).values(open=False, end_us=visit.last_seen_us)
    )
    duework.cancel(conn, _absence_key(visit.id))


def _open_visit(conn: Connection, account_id: int, parking_id: int, plate: str) -> Row | None:
    return conn.execute(
        select(VC.id, VC.start_us, VC.last_seen_us, _absence_due().label("absent_due")).where(
            VC.account_id == account_id,
            VC.parking_id == parking_id,
            VC.license_plate == plate,
            VC.open == True,  # noqa: E712 (matches the partial index)
        )
    ).first()


def _close(conn, visit: Row, at_us: int, camera_id, media_id, prediction) -> None:
    conn.execute(
        VISITS.update()
        .where(VC.id == visit.id)
        .values(
            open=False,
            end_us=max(at_us, visit.start_us),
            last_seen_us=max(at_us, visit.last_seen_us),
            end_cam_id=camera_id,
            end_media_id=media_id,
            end_prediction=prediction,
        )
    )
    cancel_absence(conn, visit.id)


def _absence_key(visit_id: int) -> str:
    return f"{ABSENT_KIND}:{visit_id}"


def cancel_absence(conn: Connection, visit_id: int) -> None:
    """The visit closed or went away: no absence job may close it."""
    duework.cancel(conn, _absence_key(visit_id))


def _schedule_absence(
    conn: Connection, visit_id: int, last_seen_us: int, timer: int, received_us: int = 0
) -> None:
    """(Re)arm the visit's absence job; a timer of 0 minutes never closes visits.

    The timer runs from the later of the sighting's own ``time`` and when it arrived: a
    back-dated sighting (a client replaying a camera's buffer) keeps its visit open for
    ``absent_timer`` minutes of emulator time, so the exit that follows still closes it.
    """
    if timer <= 0:
        return
    duework.schedule(
        conn,
        ABSENT_KIND,
        max(last_seen_us, received_us) + timer * MINUTE_US,
        {"visit": visit_id},
        key=_absence_key(visit_id),
    )


def _apply_absence(_emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    """Close the visit at its last sighting if it was not seen for ``absent_timer``."""
    row = conn.execute(
        select(VC.id, VC.open, VC.last_seen_us, schema.pp_parkings.c.absent_timer)
        .join(schema.pp_parkings, schema.pp_parkings.c.id == VC.parking_id)
        .where(VC.id == job.payload.get("visit"))
    ).first()
    if row is None or not row.open or row.absent_timer <= 0:
        return
    due_us = row.last_seen_us + row.absent_timer * MINUTE_US
    if due_us > job.due_us:  # seen since: wait for the new due time
        _schedule_absence(conn, row.id, row.last_seen_us, row.absent_timer)
        return
    conn.execute(VISITS.update().where(VC.id == row.id).values(open=False, end_us=row.last_seen_us))


JOBS = (duework.JobKind(ABSENT_KIND, _apply_absence),)


def visit_query(account_id: int, now_us: int):
    """The account's visits (no order) as they are at ``now_us`` — a visit whose absence
    fell due reads as closed at its last sighting even before the job that records it has
    run — each row with its cameras, image names, the vehicle's import row (if any) and
    the raw ALPR data it started and ended with."""
    start_cam = aliased(schema.pp_cameras, name="start_cam")
    end_cam = aliased(schema.pp_cameras, name="end_cam")
    start_media = aliased(schema.media, name="start_media")
    end_media = aliased(schema.media, name="end_media")
    vehicles = schema.pp_vehicles
    absent = and_(VC.open == True, _absence_due() <= now_us)  # noqa: E712
    data = schema.pp_visit_data
    columns = [
        *(column for column in VISITS.c if column.name not in ("open", "end_us")),
        case((absent, False), else_=VC.open).label("open"),
        case((absent, VC.last_seen_us), else_=VC.end_us).label("end_us"),
        vehicles.c.id.label("vehicle_id"),
        *[vehicles.c[f"field{i}"].label(f"vehicle_field{i}") for i in range(1, 7)],
        start_media.c.name.label("start_media_name"),
        end_media.c.name.label("end_media_name"),
        data.c.start_data,
        data.c.end_data,
    ]
    for prefix, cam in (("start_cam", start_cam), ("end_cam", end_cam)):
        for name in ("code", "name", "type", "latitude", "longitude", "notes"):
            columns.append(getattr(cam.c, name).label(f"{prefix}_{name}"))
    return (
        select(*columns)
        .select_from(VISITS)
        .outerjoin(start_cam, start_cam.c.id == VC.start_cam_id)
        .outerjoin(end_cam, end_cam.c.id == VC.end_cam_id)
        .outerjoin(start_media, start_media.c.id == VC.start_media_id)
        .outerjoin(end_media, end_media.c.id == VC.end_media_id)
        .outerjoin(data, data.c.visit_id == VC.id)
        .outerjoin(
            vehicles,
            and_(
                vehicles.c.account_id == VC.account_id,
                vehicles.c.license_plate == VC.license_plate,
            ),
        )
        .where(VC.account_id == account_id)
    )


def visits_started_between(
    store, account_id: int, start_us: int | None, end_us: int | None, now_us: int
):
    """The account's visits whose start lies in [start_us, end_us], newest first, as they
    are at ``now_us``."""
    query = visit_query(account_id, now_us).order_by(VC.start_us.desc(), VC.id.desc())
    if start_us is not None:
        query = query.where(VC.start_us >= start_us)
    if end_us is not None:
        query = query.where(VC.start_us <= end_us)
    return store.query(lambda conn: conn.execute(query).all())
