"""Processing accepted uploads on the emulator clock: scores, status, log, reference, alerts.

Two due-work kinds. ``va.process`` analyses an upload ``processing_delay`` after it was
accepted: *prepare* decodes and scores outside any transaction (cached per content hash in
``image_analysis``), *apply* writes the log in one transaction. ``va.offline`` fires
``offline_after`` after a camera's last accepted upload and writes its one offline log.

Status precedence (first match wins): ``pending_retry`` (the analysis failed) →
``config_issue`` (image smaller than 320×240) → ``anomaly`` (a score above its threshold
by more than the review band) → ``under_review`` (a score within the band of its
threshold) → ``normal``. ``anomalies`` lists the scores above their threshold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from ..core import duework
from ..core.clock import seconds_to_us
from ..core.dialect import insert_or_ignore
from ..core.emulator import Emulator
from . import alerts, schema, scoring
from .references import set_reference

PROCESS = "va.process"
OFFLINE = "va.offline"
MAX_ATTEMPTS = 5  # a failing analysis is retried this many times in all, then left as is
MIN_WIDTH, MIN_HEIGHT = 320, 240
REFERENCE_KIND = "camera_reference"


@dataclass(frozen=True)
class Prepared:
    analysis: scoring.Analysis | None
    reference_id: int | None
    reference: scoring.Analysis | None
    error: str | None = None


# -- scheduling (called by create-log inside its transaction) ------------------------------


def job_keys(camera_id: int, upload_ids: list[int]) -> list[str]:
    """The keys of every job that can be pending for the camera and its uploads."""
    return [f"{OFFLINE}:{camera_id}", *(f"{PROCESS}:{upload_id}" for upload_id in upload_ids)]


def schedule_upload(
    conn: Connection, settings: dict, upload_id: int, camera_id: int, tag: str | None, now_us: int
) -> None:
    due = now_us + seconds_to_us(settings["processing_delay"])
    duework.schedule(
        conn, PROCESS, due, {"upload_id": upload_id, "tag": tag}, key=f"{PROCESS}:{upload_id}"
    )
    silence = now_us + seconds_to_us(settings["offline_after"])
    duework.schedule(
        conn,
        OFFLINE,
        silence,
        {"camera_id": camera_id, "since_us": now_us},
        key=f"{OFFLINE}:{camera_id}",
    )


# -- analysis, cached per content --------------------------------------------------------


def cached_analysis(conn: Connection, sha: str) -> scoring.Analysis | None:
    row = conn.execute(
        select(schema.image_analysis).where(schema.image_analysis.c.sha256 == sha)
    ).first()
    if row is None:
        return None
    return scoring.Analysis(
        row.width, row.height, json.loads(row.scores), json.loads(row.signature)
    )


def analysis_of(emulator: Emulator, sha: str) -> scoring.Analysis:
    """From the cache, else decoded from the stored file (outside any write transaction)."""
    found = emulator.store.query(lambda conn: cached_analysis(conn, sha))
    if found is not None:
        return found
    return scoring.analyse(emulator.media.read(sha))


def remember(conn: Connection, sha: str, analysis: scoring.Analysis) -> None:
    """Keep an analysis for its content (the first one stays: same bytes, same scores)."""
    conn.execute(
        _REMEMBER[conn.dialect.name].values(
            sha256=sha,
            width=analysis.width,
            height=analysis.height,
            scores=json.dumps(analysis.scores),
            signature=json.dumps(analysis.signature),
        )
    )


_REMEMBER = insert_or_ignore(schema.image_analysis)


def _reference_sha(conn: Connection, camera_id: int) -> tuple[int | None, str | None]:
    cam, ref, media = schema.va_cameras.c, schema.va_references.c, schema.media.c
    row = conn.execute(
        select(cam.reference_id, media.sha256)
        .select_from(schema.va_cameras)
        .outerjoin(schema.va_references, ref.id == cam.reference_id)
        .outerjoin(schema.media, media.id == ref.media_id)
        .where(cam.id == camera_id)
    ).first()
    return (row.reference_id, row.sha256) if row else (None, None)


def _upload(conn: Connection, upload_id: int):
    up, media = schema.va_uploads.c, schema.media.c
    return conn.execute(
        select(up.id, up.camera_id, up.media_id, up.uploaded_us, up.attempts, media.sha256)
        .join(schema.media, media.id == up.media_id)
        .where(up.id == upload_id)
    ).first()


def _prepare(emulator: Emulator, job: duework.Job) -> Prepared | None:

    def read(conn: Connection):
        upload = _upload(conn, job.payload["upload_id"])
        return (upload, *_reference_sha(conn, upload.camera_id)) if upload else None

    found = emulator.store.query(read)
    if found is None:
        return None
    upload, reference_id, reference_sha = found
    try:
        analysis = analysis_of(emulator, upload.sha256)
    except Exception as error:  # an unreadable stored file: processing failed, retry later
        return Prepared(None, None, None, f"{type(error).__name__}: {error}")
    reference = None
    if reference_sha is not None:
        try:
            reference = analysis_of(emulator, reference_sha)
        except Exception:
            reference_id = None
    return Prepared(analysis, reference_id, reference)


# -- judging scores -------------------------------------------------------------------------


def thresholds_of(camera_thresholds: str | None, default: float) -> dict[str, float]:
    own = json.loads(camera_thresholds or "{}")
    return {name: float(own.get(name, default)) for name in scoring.ANOMALY_TYPES}


def judge(scores: dict[str, float], thresholds: dict[str, float], band: float):
    """(status, anomalies) from the scores, by the precedence in the module docstring."""
    anomalies = {k: v for k, v in scores.items() if v > thresholds[k]}
    if any(v > thresholds[k] + band for k, v in scores.items()):
        return "anomaly", anomalies
    if any(abs(v - thresholds[k]) <= band for k, v in scores.items()):
        return "under_review", anomalies
    return "normal", {}


def _take_forced(conn: Connection, camera_id: int):
    forced = schema.va_forced_scores.c
    row = conn.execute(
        select(schema.va_forced_scores)
        .where(forced.camera_id == camera_id, forced.remaining > 0)
        .order_by(forced.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    if row.remaining <= 1:
        conn.execute(delete(schema.va_forced_scores).where(forced.id == row.id))
    else:
        conn.execute(
            update(schema.va_forced_scores)
            .where(forced.id == row.id)
            .values(remaining=row.remaining - 1)
        )
    return row


# -- apply ----------------------------------------------------------------------------------


def _apply(
    emulator: Emulator, conn: Connection, job: duework.Job, prepared: Prepared | None
) -> None:
    upload = _upload(conn, job.payload["upload_id"])
    if upload is None or prepared is None:
        return  # the camera was deleted meanwhile
    cameras = schema.va_cameras.c
    camera = conn.execute(select(schema.va_cameras).where(cameras.id == upload.camera_id)).first()
    settings = emulator.settings(conn)
    if prepared.analysis is not None:
        remember(conn, upload.sha256, prepared.analysis)
    attempts = upload.attempts + 1
    conn.execute(
        update(schema.va_uploads)
        .where(schema.va_uploads.c.id == upload.id)
        .values(attempts=attempts)
    )
    forced = _take_forced(conn, camera.id)
    scores: dict[str, float] = {}
    anomalies: dict[str, float] = {}
    if prepared.analysis is None or (forced is not None and forced.fail):
        status = "pending_retry"
        if attempts < MAX_ATTEMPTS:
            due = job.due_us + seconds_to_us(settings["retry_delay"])
            duework.schedule(conn, PROCESS, due, job.payload, key=f"{PROCESS}:{upload.id}")
    elif prepared.analysis.width < MIN_WIDTH or prepared.analysis.height < MIN_HEIGHT:
        status = "config_issue"
    else:
        scores = _scores(conn, emulator, camera, prepared)
        if forced is not None and forced.scores:
            scores.update({k: float(v) for k, v in json.loads(forced.scores).items()})
        scores = {k: round(min(max(v, 0.0), 1.0), 2) for k, v in scores.items()}
        thresholds = thresholds_of(camera.thresholds, settings["default_threshold"])
        status, anomalies = judge(scores, thresholds, settings["review_band"])
        if camera.reference_id is None and _clearly_normal(scores, thresholds, settings):
            media_id = _copy_media(emulator, conn, upload.media_id, REFERENCE_KIND, job.due_us)
            set_reference(conn, camera.id, media_id, job.due_us)
    write_log(conn, camera, upload, status, anomalies, scores, job.payload.get("tag"))
    turned(emulator, conn, camera, status, anomalies, upload.media_id, job.due_us)


def _scores(conn, emulator, camera, prepared: Prepared) -> dict[str, float]:
    scores = dict(prepared.analysis.scores)
    if camera.reference_id is None:
        return scores
    reference = prepared.reference
    if reference is None or prepared.reference_id != camera.reference_id:
        # The reference changed between prepare and apply: rare, score against the new one.
        _, sha = _reference_sha(conn, camera.id)
        reference = cached_analysis(conn, sha) if sha else None
        if reference is None and sha:
            reference = scoring.analyse(emulator.media.read(sha))
            remember(conn, sha, reference)
    if reference is not None:
        scores.update(scoring.compare(prepared.analysis.signature, reference.signature))
    return scores


def _clearly_normal(scores: dict, thresholds: dict, settings: dict) -> bool:
    band = settings["review_band"]
    return all(scores.get(k, 0.0) < thresholds[k] - band for k in scoring.CONTENT_TYPES)


def _copy_media(emulator: Emulator, conn: Connection, media_id: int, kind: str, now_us: int) -> int:
    """A second name for stored bytes (e.g. a snapshot that becomes the reference)."""
    row = conn.execute(select(schema.media).where(schema.media.c.id == media_id)).first()
    return emulator.media.add(conn, row.sha256, row.size, row.content_type, kind, now_us)


def write_log(conn, camera, upload, status, anomalies, scores, tag) -> None:
    """The upload's one log (a retry updates it); ``created`` is the upload time."""
    logs = schema.va_logs
    values = {
        "status": status,
        "anomalies": json.dumps(anomalies),
        "scores": json.dumps(scores),
    }
    existing = conn.execute(select(logs.c.id).where(logs.c.upload_id == upload.id)).first()
    if existing is not None:
        conn.execute(update(logs).where(logs.c.id == existing.id).values(**values))
    else:
        conn.execute(
            logs.insert().values(
                license_id=camera.license_id,
                camera_id=camera.id,
                upload_id=upload.id,
                snapshot_id=upload.media_id,
                tag=tag,
                created_us=upload.uploaded_us,
                **values,
            )
        )


def turned(
    emulator: Emulator, conn, camera, status: str, anomalies: dict, snapshot_id, at_us: int
) -> None:
    """Set the camera's latest status; turning anomaly or offline feeds an alert."""
    conn.execute(
        update(schema.va_cameras)
        .where(schema.va_cameras.c.id == camera.id)
        .values(latest_status=status)
    )
    if status in ("anomaly", "offline") and camera.latest_status != status:
        alerts.camera_turned(emulator, conn, camera, status, anomalies, snapshot_id, at_us)


# -- offline ------------------------------------------------------------------------------


def _offline(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    cameras = schema.va_cameras.c
    camera = conn.execute(
        select(schema.va_cameras).where(cameras.id == job.payload["camera_id"])
    ).first()
    if camera is None or camera.last_accepted_us != job.payload["since_us"]:
        return  # deleted, or it uploaded since (that upload scheduled its own check)
    conn.execute(
        schema.va_logs.insert().values(
            license_id=camera.license_id,
            camera_id=camera.id,
            upload_id=None,
            status="offline",
            anomalies="{}",
            scores="{}",
            snapshot_id=None,
            created_us=job.due_us,
        )
    )
    turned(emulator, conn, camera, "offline", {}, None, job.due_us)


JOBS = (
    duework.JobKind(PROCESS, _apply, prepare=_prepare),
    duework.JobKind(OFFLINE, _offline),
)
