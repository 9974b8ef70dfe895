"""Camera management: deleting a camera, reading and setting its reference image.

Deleting a camera removes everything that is only the camera's — logs,
reference history, forced scores, tag links, pending analysis jobs — and the stored
images nobody else names. Alerts are history: they keep their rows and their images,
so an alert's ``snapshot``/``reference_image`` URLs stay valid after the delete.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from ..core import duework
from ..core.auth import Account
from ..core.emulator import Emulator
from ..core.errors import NO_FILE, NOT_A_FILE, FieldErrors
from ..core.images import InvalidImage, inspect_image
from ..core.media import MediaStore
from . import jobs, judging, references, schema, scoring
from .ingest import whole_second
from .service import camera_for, license_for

UPDATED = "Reference image updated."
REFERENCE_KIND = "camera_reference"


def delete_camera(emulator: Emulator, account: Account, license_id: str, serial: str) -> None:
    def work(conn: Connection) -> list[str]:
        camera = camera_for(conn, license_for(conn, account, license_id), serial)
        return _delete_camera_rows(emulator, conn, camera.id)

    orphans = emulator.store.transact(work)
    # after commit (a rollback never loses content); it checks the rows again (core/media.py)
    emulator.media.remove_files(orphans)


def _delete_camera_rows(emulator: Emulator, conn: Connection, camera_id: int) -> list[str]:
    logs = schema.va_logs.c
    refs = schema.va_references.c
    media_ids: set[int] = set()
    for column, owner in (
        (logs.snapshot_id, logs.camera_id),
        (refs.media_id, refs.camera_id),
    ):
        media_ids.update(
            conn.execute(select(column).where(owner == camera_id, column.is_not(None))).scalars()
        )
    log_ids = list(conn.execute(select(logs.id).where(logs.camera_id == camera_id)).scalars())
    for key in jobs.job_keys(camera_id, log_ids):
        duework.cancel(conn, key)  # pending work for the camera has nothing left to do
    conn.execute(delete(schema.va_logs).where(logs.camera_id == camera_id))
    conn.execute(delete(schema.va_references).where(refs.camera_id == camera_id))
    conn.execute(
        delete(schema.va_forced_scores).where(schema.va_forced_scores.c.camera_id == camera_id)
    )
    conn.execute(
        delete(schema.va_camera_tags).where(schema.va_camera_tags.c.camera_id == camera_id)
    )
    conn.execute(delete(schema.va_cameras).where(schema.va_cameras.c.id == camera_id))
    free = sorted(media_ids - emulator.media.still_named(conn, media_ids))
    return emulator.media.delete_rows(conn, free)


# -- reference image ------------------------------------------------------------------------


def reference_image(
    emulator: Emulator, account: Account, license_id: str, serial: str, base: str, now_us: int
) -> dict:
    """``{"reference_image": url | null}``: the camera's reference at ``now_us``."""

    def read(conn: Connection):
        camera = camera_for(conn, license_for(conn, account, license_id), serial)
        return references.current_reference_media(conn, camera.id, now_us)

    row = emulator.store.query(read)
    if row is None:
        return {"reference_image": None}
    return {"reference_image": MediaStore.url(base, row.kind, row.name)}


def set_reference_image(
    emulator: Emulator,
    account: Account,
    license_id: str,
    serial: str,
    upload: bytes | str | None,
    now_us: int,
) -> dict:
    """Store ``upload`` as the camera's new reference; the old ones stay for alerts.

    The camera is looked up first (404/403 before 400), then the upload is validated.
    """
    emulator.store.query(
        lambda conn: camera_for(conn, license_for(conn, account, license_id), serial)
    )
    if upload is None:
        raise FieldErrors({"upload": [NO_FILE]})
    if isinstance(upload, str):
        raise FieldErrors({"upload": [NOT_A_FILE]})
    try:
        info = inspect_image(upload, emulator.config.pixel_limit)
    except InvalidImage as exc:
        raise FieldErrors({"upload": [str(exc)]}) from None
    try:  # kept: every upload of the camera is compared with it
        analysis = scoring.analyse(upload)
    except Exception:  # an image too odd to analyse is analysed (and fails) when used
        analysis = None
    sha = emulator.media.write_file(upload)

    def work(conn: Connection) -> None:
        camera = camera_for(conn, license_for(conn, account, license_id), serial)
        at_us = whole_second(now_us)
        media_id = emulator.media.add(
            conn, sha, len(upload), info.content_type, REFERENCE_KIND, at_us, upload
        )
        # a reference the camera was about to adopt from a pending log gives way to this one
        pending = references.drop_pending_adoptions(conn, camera.id, now_us)
        orphans.extend(emulator.media.delete_rows(conn, pending))
        references.set_reference(conn, camera.id, media_id, at_us)
        if analysis is not None:
            judging.remember(conn, sha, analysis)
        judging.rejudge_pending(emulator, conn, camera.id, now_us)

    orphans: list[str] = []
    try:
        emulator.store.transact(work)
    except Exception:
        emulator.media.remove_files([sha])  # written for nothing, unless another row names it
        raise
    emulator.media.remove_files(orphans)
    return {"message": UPDATED}
