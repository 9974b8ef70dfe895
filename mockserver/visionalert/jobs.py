"""VisionAlert's due work: what a verdict left for later, run by the background tick and
by a clock advance (never by another client's request), each at its own due time.

``va.turned`` (a log's instant: the camera turned anomalous → alert), ``va.retry`` (a
failed analysis, ``pending_retry``, is tried again ``retry_delay`` later; the image is
decoded before the transaction) and ``va.offline`` (``offline_after`` after a camera's
last accepted upload: its offline log, and the alert).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from ..core import duework
from ..core.clock import seconds_to_us
from ..core.emulator import Emulator
from . import judging, queries, schema, scoring
from .judging import OFFLINE, RETRY, TURNED, TURNING
from .references import reference_at

MAX_ATTEMPTS = 5  # a failing analysis is tried this many times in all, then left as is

LOGS = schema.va_logs


def _turned(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    """At a log's instant: an anomalous log of a camera that was not anomalous → alert."""
    log = conn.execute(select(LOGS).where(LOGS.c.id == job.payload["log_id"])).first()
    if log is None or log.status not in TURNING:
        return  # the camera was deleted, or the log was judged again
    camera = queries.camera(conn, log.camera_id)
    before = queries.status_before(conn, camera.id, job.due_us, log)
    anomalies = json.loads(log.anomalies)
    judging.feed_alert(
        emulator, conn, camera, log.status, anomalies, log.snapshot_id, job.due_us, before
    )


@dataclass(frozen=True)
class _Retry:
    analysis: scoring.Analysis | None
    reference_id: int | None
    comparison: dict | None


def _prepare_retry(emulator: Emulator, job: duework.Job) -> _Retry | None:
    """Outside the transaction: the snapshot's analysis and its comparison."""

    def read(conn: Connection):
        row = conn.execute(
            select(LOGS.c.camera_id, schema.media.c.sha256)
            .join(schema.media, schema.media.c.id == LOGS.c.snapshot_id)
            .where(LOGS.c.id == job.payload["log_id"])
        ).first()
        if row is None:
            return None
        return row, reference_at(conn, row.camera_id, job.due_us)

    found = emulator.store.query(read)
    if found is None:
        return None
    row, reference = found
    try:
        analysis = judging.analysis_of(emulator, row.sha256)
    except Exception:  # an unreadable stored file: the analysis failed again
        return _Retry(None, None, None)
    if reference is None:
        return _Retry(analysis, None, None)
    try:
        reference_analysis = judging.analysis_of(emulator, reference.sha256)
    except Exception:  # a reference that cannot be analysed: scored as without one
        reference_analysis = None
    return _Retry(analysis, reference.id, judging.compared_with(analysis, reference_analysis))


def _retry(emulator: Emulator, conn: Connection, job: duework.Job, prepared: _Retry | None) -> None:
    log = conn.execute(select(LOGS).where(LOGS.c.id == job.payload["log_id"])).first()
    if log is None or prepared is None or log.status != "pending_retry":
        return
    camera = queries.camera(conn, log.camera_id)
    settings = judging.JudgingSettings.read(emulator, conn)
    forced = judging.take_forced(conn, camera.id)
    before = queries.status_before(conn, camera.id, job.due_us)
    reference = reference_at(conn, camera.id, job.due_us)
    comparison = prepared.comparison
    if (reference.id if reference else None) != prepared.reference_id:
        comparison = judging.compare_inside(conn, prepared.analysis, reference)
    result = judging.verdict(
        prepared.analysis,
        comparison,
        forced,
        settings.thresholds(camera.thresholds),
        settings.review_band,
        reference is not None,
    )
    conn.execute(update(LOGS).where(LOGS.c.id == log.id).values(**result.columns()))
    if result.status == "pending_retry":
        attempt = int(job.payload.get("attempt", 2))
        if attempt < MAX_ATTEMPTS:
            due = job.due_us + seconds_to_us(settings.retry_delay)
            payload = {**job.payload, "attempt": attempt + 1}
            duework.schedule(conn, RETRY, due, payload, key=f"{RETRY}:{log.id}")
        return
    if result.adopt:
        media = schema.media.c
        sha = conn.execute(select(media.sha256).where(media.id == log.snapshot_id)).scalar_one()
        snapshot = judging.Snapshot(log.snapshot_id, sha, prepared.analysis)
        judging.adopt(emulator, conn, camera.id, snapshot, job.due_us)
        judging.remember(conn, sha, prepared.analysis)
    judging.feed_alert(
        emulator, conn, camera, result.status, result.anomalies, log.snapshot_id, job.due_us, before
    )


def _offline(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    camera = queries.camera(conn, job.payload["camera_id"])
    if camera is None or camera.last_accepted_us != job.payload["since_us"]:
        return  # deleted, or it uploaded since (that upload scheduled its own check)
    before = queries.status_before(conn, camera.id, job.due_us)
    conn.execute(
        LOGS.insert().values(
            license_id=camera.license_id,
            camera_id=camera.id,
            status="offline",
            anomalies="{}",
            scores="{}",
            snapshot_id=None,
            created_us=job.due_us,
            visible_us=job.due_us,
        )
    )
    emulator.tally.note(conn, "logs", ("visionalert", "offline"))
    judging.feed_alert(emulator, conn, camera, "offline", {}, None, job.due_us, before)


def job_keys(camera_id: int, log_ids: list[int]) -> list[str]:
    """The keys of every job that can be pending for the camera and its logs."""
    return [
        f"{OFFLINE}:{camera_id}",
        *(f"{kind}:{log_id}" for log_id in log_ids for kind in (TURNED, RETRY)),
    ]


JOBS = (
    duework.JobKind(TURNED, _turned),
    duework.JobKind(RETRY, _retry, prepare=_prepare_retry),
    duework.JobKind(OFFLINE, _offline),
)
