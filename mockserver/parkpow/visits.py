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

from sqlalchemy import Connection, Row, and_, select
from sqlalchemy.orm import aliased

from ..core import duework
from ..core.emulator import Emulator
from . import schema, service
from .sightings import VehicleLog

ABSENT_KIND = "parkpow.absent"
MINUTE_US = 60_000_000
MEDIA_KIND = "parkpow"

VISITS = schema.pp_visits
VC = VISITS.c


def log_vehicle(emulator: Emulator, account_id: int, log: VehicleLog, now_us: int) -> int:
    """Apply every sighting of one log-vehicle request; returns how many visits changed.

    The image is kept only when a visit starts or ends with it. Its file is written before
    the write transaction (no disk sync while holding the store's write lock) when a read
    shows it will be needed; the rare request that races another and needs it after all
    writes it inside.
    """
    files: list[str] = []
    if emulator.store.query(lambda conn: _image_needed(conn, account_id, log)):
        files.append(emulator.media.write_file(log.image))
    at_us = log.time_us if log.time_us is not None else now_us

    def work(conn: Connection) -> int:
        camera = service.find_camera(conn, account_id, log.camera)
        if camera is None:
            camera = service.register_spot_camera(conn, account_id, log.camera)
        timer = camera.absent_timer
        media_id: list[int] = []

        def image_id() -> int:
            if not media_id:
                sha = files[0] if files else emulator.media.write_file(log.image)
                media_id.append(
                    emulator.media.add(
                        conn, sha, len(log.image), log.image_info.content_type, MEDIA_KIND, now_us
                    )
                )
            return media_id[0]

        changed = 0
        for sighting in log.sightings:
            visit = _open_visit(conn, account_id, camera.parking_id, sighting.plate)
            prediction = (
                None
                if sighting.prediction is None
                else json.dumps(sighting.prediction, separators=(",", ":"))
            )
            if camera.type == "EXIT":
                if visit is None:
                    continue
                _close(conn, visit, at_us, camera.id, image_id(), prediction)
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
                _schedule_absence(conn, visit_id, at_us, timer, now_us)
            else:
                last_seen = max(visit.last_seen_us, at_us)
                conn.execute(
                    VISITS.update().where(VC.id == visit.id).values(last_seen_us=last_seen)
                )
                _schedule_absence(conn, visit.id, last_seen, timer, now_us)
            changed += 1
        return changed

    return emulator.store.transact(work)


def _image_needed(conn: Connection, account_id: int, log: VehicleLog) -> bool:
    """Will any sighting open or close a visit (and so keep the image)?"""
    if not log.sightings:
        return False
    camera = service.find_camera(conn, account_id, log.camera)
    if camera is None:
        return True  # a new SPOT camera: its first sighting opens a visit
    for sighting in log.sightings:
        is_open = _open_visit(conn, account_id, camera.parking_id, sighting.plate) is not None
        if is_open == (camera.type == "EXIT"):
            return True
    return False


def _open_visit(conn: Connection, account_id: int, parking_id: int, plate: str) -> Row | None:
    return conn.execute(
        select(VC.id, VC.start_us, VC.last_seen_us).where(
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
    duework.cancel(conn, _absence_key(visit.id))


def _absence_key(visit_id: int) -> str:
    return f"{ABSENT_KIND}:{visit_id}"


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


def visits_started_between(store, account_id: int, start_us: int | None, end_us: int | None):
    """The account's visits whose start lies in [start_us, end_us], newest first.

    Each row carries its cameras, image names and the vehicle's import row (if any).
    """
    start_cam = aliased(schema.pp_cameras, name="start_cam")
    end_cam = aliased(schema.pp_cameras, name="end_cam")
    start_media = aliased(schema.media, name="start_media")
    end_media = aliased(schema.media, name="end_media")
    vehicles = schema.pp_vehicles
    columns = [
        VISITS,
        vehicles.c.id.label("vehicle_id"),
        start_media.c.name.label("start_media_name"),
        end_media.c.name.label("end_media_name"),
    ]
    for prefix, cam in (("start_cam", start_cam), ("end_cam", end_cam)):
        for name in ("code", "name", "type", "latitude", "longitude", "notes"):
            columns.append(getattr(cam.c, name).label(f"{prefix}_{name}"))
    query = (
        select(*columns)
        .select_from(VISITS)
        .outerjoin(start_cam, start_cam.c.id == VC.start_cam_id)
        .outerjoin(end_cam, end_cam.c.id == VC.end_cam_id)
        .outerjoin(start_media, start_media.c.id == VC.start_media_id)
        .outerjoin(end_media, end_media.c.id == VC.end_media_id)
        .outerjoin(
            vehicles,
            and_(
                vehicles.c.account_id == VC.account_id,
                vehicles.c.license_plate == VC.license_plate,
            ),
        )
        .where(VC.account_id == account_id)
        .order_by(VC.start_us.desc(), VC.id.desc())
    )
    if start_us is not None:
        query = query.where(VC.start_us >= start_us)
    if end_us is not None:
        query = query.where(VC.start_us <= end_us)
    return store.query(lambda conn: conn.execute(query).all())
