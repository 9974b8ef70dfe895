"""Processing accepted uploads: judged at acceptance, visible ``processing_delay`` later.

The upload's analysis runs while it is validated, so everything its log needs is known
when it is accepted: the log is written in the accept transaction (one write per upload)
with ``visible_us`` = upload time + ``processing_delay``, and every read filters on it. The
log, the camera's ``latest_status`` and an adopted reference therefore appear at exactly
that instant of the emulator clock, with no work run then.

What a control-plane change would have altered before the log appears — forced scores or a
forced failure queued or cleared, the camera's thresholds, ``default_threshold`` or
``review_band``, a new reference — judges the camera's pending logs again at once
(``rejudge_pending``): a log is judged with what is in force when it appears.

Work with effects beyond the log stays due work, run by the background tick and by a clock
advance (never by another client's request), each at its own due time:
``va.turned`` (a log's instant: the camera turned anomalous → alert), ``va.retry`` (a
failed analysis, ``pending_retry``, is retried ``retry_delay`` later) and ``va.offline``
(``offline_after`` after a camera's last accepted upload: its offline log, and the alert).

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
from .references import drop_pending_adoptions, reference_at, set_reference

LEGACY_PROCESS = "va.process"  # see _legacy_process
TURNED = "va.turned"
RETRY = "va.retry"
OFFLINE = "va.offline"
MAX_ATTEMPTS = 5  # a failing analysis is tried this many times in all, then left as is
MIN_WIDTH, MIN_HEIGHT = 320, 240
REFERENCE_KIND = "camera_reference"
TURNING = ("anomaly", "offline")
#: settings whose change judges pending logs again
JUDGING_SETTINGS = ("default_threshold", "review_band")

LOGS = schema.va_logs
CAMERAS = schema.va_cameras


@dataclass(frozen=True)
class Verdict:
    status: str
    anomalies: dict[str, float]
    scores: dict[str, float]
    adopt: bool = False  # the snapshot becomes the camera's reference


# -- judging --------------------------------------------------------------------------------


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


def verdict(
    analysis: scoring.Analysis | None,
    comparison: dict[str, float] | None,
    forced: dict | None,
    thresholds: dict[str, float],
    settings: dict,
    has_reference: bool,
) -> Verdict:
    """The log of one analysis: ``comparison`` holds the scores against the reference."""
    if analysis is None or (forced is not None and forced.get("fail")):
        return Verdict("pending_retry", {}, {})
    if analysis.width < MIN_WIDTH or analysis.height < MIN_HEIGHT:
        return Verdict("config_issue", {}, {})
    scores = dict(analysis.scores)
    if comparison:
        scores.update(comparison)
    if forced is not None and forced.get("scores"):
        scores.update({k: float(v) for k, v in forced["scores"].items()})
    scores = {k: round(min(max(v, 0.0), 1.0), 2) for k, v in scores.items()}
    status, anomalies = judge(scores, thresholds, settings["review_band"])
    adopt = not has_reference and _clearly_normal(scores, thresholds, settings)
    return Verdict(status, anomalies, scores, adopt)


def _clearly_normal(scores: dict, thresholds: dict, settings: dict) -> bool:
    band = settings["review_band"]
    return all(scores.get(k, 0.0) < thresholds[k] - band for k in scoring.CONTENT_TYPES)


def comparison_with(emulator: Emulator, conn, analysis: scoring.Analysis | None, reference_sha):
    """Scores against the reference with ``reference_sha`` (None: no reference)."""
    if analysis is None or reference_sha is None:
        return None
    try:
        reference = analysis_of(emulator, reference_sha, conn)
    except Exception:  # a reference that cannot be analysed: scored as without one
        return None
    return scoring.compare(analysis.signature, reference.signature)


# -- analysis, cached per content (references) ----------------------------------------------


def cached_analysis(conn: Connection, sha: str) -> scoring.Analysis | None:
    row = conn.execute(
        select(schema.image_analysis).where(schema.image_analysis.c.sha256 == sha)
    ).first()
    if row is None:
        return None
    return scoring.Analysis(
        row.width, row.height, json.loads(row.scores), json.loads(row.signature)
    )


def analysis_of(emulator: Emulator, sha: str, conn: Connection | None = None) -> scoring.Analysis:
    """From the cache, else decoded from the stored file."""
    found = (
        cached_analysis(conn, sha)
        if conn is not None
        else emulator.store.query(lambda read: cached_analysis(read, sha))
    )
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


def take_forced(conn: Connection, camera_id: int) -> dict | None:
    """The next queued forced entry of the camera, consumed: ``{"scores", "fail"}``."""
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
    return {"scores": json.loads(row.scores) if row.scores else None, "fail": bool(row.fail)}


# -- the accepted upload's log ---------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The accepted image: its media row, content hash and analysis (size and content type
    when known, for a reference made of it)."""

    media_id: int
    sha: str
    analysis: scoring.Analysis
    size: int | None = None
    content_type: str | None = None


def record_upload(
    emulator: Emulator,
    conn: Connection,
    camera,
    snapshot: Snapshot,
    comparison: dict | None,
    has_reference: bool,
    forced: dict | None,
    tag: str | None,
    now_us: int,
    settings: dict,
) -> int:
    """Write the upload's log, visible ``processing_delay`` from now; returns its id."""
    visible_us = now_us + seconds_to_us(settings["processing_delay"])
    thresholds = thresholds_of(camera.thresholds, settings["default_threshold"])
    result = verdict(snapshot.analysis, comparison, forced, thresholds, settings, has_reference)
    log_id = conn.execute(
        LOGS.insert(),
        {
            "license_id": camera.license_id,
            "camera_id": camera.id,
            "status": result.status,
            "anomalies": json.dumps(result.anomalies),
            "scores": json.dumps(result.scores),
            "snapshot_id": snapshot.media_id,
            "tag": tag,
            "created_us": now_us,
            "visible_us": visible_us,
            "forced": None if forced is None else json.dumps(forced),
        },
    ).inserted_primary_key[0]
    _follow_up(emulator, conn, camera.id, log_id, snapshot, result, visible_us, settings)
    return log_id


def _follow_up(emulator, conn, camera_id, log_id, snapshot, result: Verdict, at_us, settings):
    """What a verdict implies beyond the log: the adopted reference (from ``at_us`` on), the
    alert check at ``at_us``, the retry of a failed analysis."""
    if result.adopt:
        _adopt(emulator, conn, camera_id, snapshot, at_us)
    payload = {"log_id": log_id, "camera_id": camera_id}
    if result.status == "anomaly":
        duework.schedule(conn, TURNED, at_us, payload, key=f"{TURNED}:{log_id}")
    if result.status == "pending_retry":
        due = at_us + seconds_to_us(settings["retry_delay"])
        duework.schedule(conn, RETRY, due, {**payload, "attempt": 2}, key=f"{RETRY}:{log_id}")


def _adopt(
    emulator: Emulator, conn: Connection, camera_id: int, snapshot: Snapshot, at_us: int
) -> None:
    """The snapshot becomes the camera's reference from ``at_us`` on (a second media row
    for the same bytes), and its analysis is kept for the comparisons to come."""
    size, content_type = snapshot.size, snapshot.content_type
    if size is None or content_type is None:
        media = schema.media.c
        size, content_type = conn.execute(
            select(media.size, media.content_type).where(media.id == snapshot.media_id)
        ).one()
    media_id = emulator.media.add(conn, snapshot.sha, size, content_type, REFERENCE_KIND, at_us)
    set_reference(conn, camera_id, media_id, at_us, posted=False)
    remember(conn, snapshot.sha, snapshot.analysis)


def schedule_offline(conn: Connection, settings: dict, camera_id: int, now_us: int) -> None:
    """The camera's offline check, moved to ``offline_after`` after this upload."""
    duework.schedule(
        conn,
        OFFLINE,
        now_us + seconds_to_us(settings["offline_after"]),
        {"camera_id": camera_id, "since_us": now_us},
        key=f"{OFFLINE}:{camera_id}",
    )


# -- judging pending logs again ---------------------------------------------------------------


def rejudge_pending(
    emulator: Emulator, conn: Connection, camera_id: int, now_us: int, drop_forced: bool = False
) -> int:
    """Judge the camera's logs that have not appeared yet with what is in force now (forced
    entries, thresholds, settings, reference); ``drop_forced``: the queue was cleared, so
    the entries they had taken are gone too. Returns how many were judged."""
    pending = conn.execute(
        select(
            LOGS.c.id, LOGS.c.snapshot_id, LOGS.c.forced, LOGS.c.visible_us, schema.media.c.sha256
        )
        .join(schema.media, schema.media.c.id == LOGS.c.snapshot_id)
        .where(LOGS.c.camera_id == camera_id, LOGS.c.visible_us > now_us)
        .order_by(LOGS.c.visible_us, LOGS.c.id)
    ).all()
    if not pending:
        return 0
    camera = conn.execute(select(CAMERAS).where(CAMERAS.c.id == camera_id)).one()
    settings = emulator.settings(conn)
    emulator.media.delete_rows(conn, drop_pending_adoptions(conn, camera_id, now_us))
    thresholds = thresholds_of(camera.thresholds, settings["default_threshold"])
    for log in pending:
        if drop_forced:
            forced = None
        elif log.forced is not None:
            forced = json.loads(log.forced)
        else:
            forced = take_forced(conn, camera_id)
        try:
            analysis = analysis_of(emulator, log.sha256, conn)
        except Exception:  # an unreadable stored file: the analysis failed, retried later
            analysis = None
        reference = reference_at(conn, camera_id, log.visible_us)
        comparison = comparison_with(
            emulator, conn, analysis, reference.sha256 if reference else None
        )
        result = verdict(analysis, comparison, forced, thresholds, settings, reference is not None)
        conn.execute(
            update(LOGS)
            .where(LOGS.c.id == log.id)
            .values(
                status=result.status,
                anomalies=json.dumps(result.anomalies),
                scores=json.dumps(result.scores),
                forced=None if forced is None else json.dumps(forced),
            )
        )
        duework.cancel(conn, f"{TURNED}:{log.id}")
        duework.cancel(conn, f"{RETRY}:{log.id}")
        if analysis is not None:
            snapshot = Snapshot(log.snapshot_id, log.sha256, analysis)
            _follow_up(
                emulator, conn, camera_id, log.id, snapshot, result, log.visible_us, settings
            )
        elif result.status == "pending_retry":
            due = log.visible_us + seconds_to_us(settings["retry_delay"])
            payload = {"log_id": log.id, "camera_id": camera_id, "attempt": 2}
            duework.schedule(conn, RETRY, due, payload, key=f"{RETRY}:{log.id}")
    return len(pending)


def settings_changed(emulator: Emulator, conn: Connection, changes: dict, now_us: int) -> None:
    """A new default threshold or review band judges every pending log again."""
    if not any(key in changes for key in JUDGING_SETTINGS):
        return
    cameras = conn.execute(
        select(LOGS.c.camera_id)
        .where(LOGS.c.visible_us > now_us, LOGS.c.snapshot_id.is_not(None))
        .distinct()
    ).scalars()
    for camera_id in list(cameras):
        rejudge_pending(emulator, conn, camera_id, now_us)


# -- the camera's status, derived from its logs ------------------------------------------------


def status_before(conn: Connection, camera_id: int, at_us: int, log=None) -> str | None:
    """The camera's ``latest_status`` at ``at_us``, not counting ``log`` and what came after
    it: the status its newest visible log had."""
    query = select(LOGS.c.status).where(LOGS.c.camera_id == camera_id, LOGS.c.visible_us <= at_us)
    if log is not None:
        query = query.where(
            (LOGS.c.created_us < log.created_us)
            | ((LOGS.c.created_us == log.created_us) & (LOGS.c.id < log.id))
        )
    return conn.execute(
        query.order_by(LOGS.c.created_us.desc(), LOGS.c.id.desc()).limit(1)
    ).scalar()


def latest_status_column(now_us: int):
    """``latest_status`` of ``va_cameras`` rows at ``now_us``, as a correlated subquery."""
    return (
        select(LOGS.c.status)
        .where(LOGS.c.camera_id == CAMERAS.c.id, LOGS.c.visible_us <= now_us)
        .order_by(LOGS.c.created_us.desc(), LOGS.c.id.desc())
        .limit(1)
        .correlate(CAMERAS)
        .scalar_subquery()
    )


def reference_id_column(now_us: int):
    """The id of a ``va_cameras`` row's reference at ``now_us``, as a correlated subquery."""
    refs = schema.va_references.c
    return (
        select(refs.id)
        .where(refs.camera_id == CAMERAS.c.id, refs.created_us <= now_us)
        .order_by(refs.created_us.desc(), refs.id.desc())
        .limit(1)
        .correlate(CAMERAS)
        .scalar_subquery()
    )


def _camera(conn: Connection, camera_id: int):
    return conn.execute(select(CAMERAS).where(CAMERAS.c.id == camera_id)).first()


def feed_alert(
    emulator: Emulator, conn, camera, status: str, anomalies: dict, snapshot_id, at_us, before
) -> None:
    """A camera that turns anomalous or offline (from another status) feeds an alert."""
    if status in TURNING and before != status:
        alerts.camera_turned(emulator, conn, camera, status, anomalies, snapshot_id, at_us)


# -- due work: turned, retry, offline ---------------------------------------------------------


def _turned(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    """At a log's instant: an anomalous log of a camera that was not anomalous → alert."""
    log = conn.execute(select(LOGS).where(LOGS.c.id == job.payload["log_id"])).first()
    if log is None or log.status not in TURNING:
        return  # the camera was deleted, or the log was judged again
    camera = _camera(conn, log.camera_id)
    before = status_before(conn, camera.id, job.due_us, log)
    anomalies = json.loads(log.anomalies)
    feed_alert(emulator, conn, camera, log.status, anomalies, log.snapshot_id, job.due_us, before)


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
        analysis = analysis_of(emulator, row.sha256)
        comparison = comparison_with(
            emulator, None, analysis, reference.sha256 if reference else None
        )
    except Exception:  # an unreadable stored file: the analysis failed again
        return _Retry(None, None, None)
    return _Retry(analysis, reference.id if reference else None, comparison)


def _retry(emulator: Emulator, conn: Connection, job: duework.Job, prepared: _Retry | None) -> None:
    log = conn.execute(select(LOGS).where(LOGS.c.id == job.payload["log_id"])).first()
    if log is None or prepared is None or log.status != "pending_retry":
        return
    camera = _camera(conn, log.camera_id)
    settings = emulator.settings(conn)
    forced = take_forced(conn, camera.id)
    before = status_before(conn, camera.id, job.due_us)
    reference = reference_at(conn, camera.id, job.due_us)
    comparison = prepared.comparison
    if (reference.id if reference else None) != prepared.reference_id:
        comparison = comparison_with(
            emulator, conn, prepared.analysis, reference.sha256 if reference else None
        )
    thresholds = thresholds_of(camera.thresholds, settings["default_threshold"])
    result = verdict(
        prepared.analysis, comparison, forced, thresholds, settings, reference is not None
    )
    conn.execute(
        update(LOGS)
        .where(LOGS.c.id == log.id)
        .values(
            status=result.status,
            anomalies=json.dumps(result.anomalies),
            scores=json.dumps(result.scores),
        )
    )
    if result.status == "pending_retry":
        attempt = int(job.payload.get("attempt", 2))
        if attempt < MAX_ATTEMPTS:
            due = job.due_us + seconds_to_us(settings["retry_delay"])
            payload = {**job.payload, "attempt": attempt + 1}
            duework.schedule(conn, RETRY, due, payload, key=f"{RETRY}:{log.id}")
        return
    if result.adopt:
        media = schema.media.c
        sha = conn.execute(select(media.sha256).where(media.id == log.snapshot_id)).scalar_one()
        _adopt(
            emulator, conn, camera.id, Snapshot(log.snapshot_id, sha, prepared.analysis), job.due_us
        )
    feed_alert(
        emulator, conn, camera, result.status, result.anomalies, log.snapshot_id, job.due_us, before
    )


def _offline(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    camera = _camera(conn, job.payload["camera_id"])
    if camera is None or camera.last_accepted_us != job.payload["since_us"]:
        return  # deleted, or it uploaded since (that upload scheduled its own check)
    before = status_before(conn, camera.id, job.due_us)
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
    feed_alert(emulator, conn, camera, "offline", {}, None, job.due_us, before)


def _legacy_process(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    """A store written before logs were written at acceptance may hold uploads whose log
    is still to be processed (``va.process`` jobs): their log is written now, as then."""
    uploads, media = schema.va_uploads.c, schema.media.c
    row = conn.execute(
        select(uploads.camera_id, uploads.uploaded_us, uploads.media_id, media.sha256)
        .join(schema.media, media.id == uploads.media_id)
        .where(uploads.id == job.payload.get("upload_id"))
    ).first()
    camera = _camera(conn, row.camera_id) if row is not None else None
    if camera is None:
        return  # the camera was deleted meanwhile
    settings = emulator.settings(conn)
    try:
        analysis = analysis_of(emulator, row.sha256, conn)
    except Exception:  # an unreadable stored file: the analysis failed, retried later
        analysis = None
    reference = reference_at(conn, camera.id, job.due_us)
    comparison = comparison_with(emulator, conn, analysis, reference.sha256 if reference else None)
    snapshot = Snapshot(row.media_id, row.sha256, analysis)
    forced = take_forced(conn, camera.id)
    record_upload(
        emulator,
        conn,
        camera,
        snapshot,
        comparison,
        reference is not None,
        forced,
        job.payload.get("tag"),
        row.uploaded_us,
        {**settings, "processing_delay": (job.due_us - row.uploaded_us) / 1_000_000},
    )


def job_keys(camera_id: int, log_ids: list[int], upload_ids: list[int] = ()) -> list[str]:
    """The keys of every job that can be pending for the camera, its logs and its uploads
    of before logs were written at acceptance."""
    return [
        f"{OFFLINE}:{camera_id}",
        *(f"{kind}:{log_id}" for log_id in log_ids for kind in (TURNED, RETRY)),
        *(f"{LEGACY_PROCESS}:{upload_id}" for upload_id in upload_ids),
    ]


JOBS = (
    duework.JobKind(LEGACY_PROCESS, _legacy_process),
    duework.JobKind(TURNED, _turned),
    duework.JobKind(RETRY, _retry, prepare=_prepare_retry),
    duework.JobKind(OFFLINE, _offline),
)
