"""Judging an analysed snapshot: its verdict, the thresholds, and what a verdict implies.

An upload is judged at acceptance, so everything its log needs is known then: the log is
written in the accept transaction with ``visible_us`` = upload time + ``processing_delay``,
and every read filters on it. The log, the camera's ``latest_status`` and an adopted
reference therefore appear at exactly that instant of the emulator clock.

What a control-plane change would have altered before the log appears — forced scores or a
forced failure queued or cleared, the camera's thresholds, ``default_threshold`` or
``review_band``, a new reference — judges the camera's pending logs again at once
(``rejudge_pending``): a log is judged with what is in force when it appears.

Images are decoded before any write transaction: an upload's analysis is kept with its
log (``image_analysis``), so judging again inside a transaction only reads. A snapshot
without a kept analysis (a store written by an earlier version) is judged as a failed
analysis there, and its retry (``jobs``) decodes it outside the transaction.

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

#: the due work a verdict implies (handlers in ``jobs``)
TURNED = "va.turned"  # at a log's instant: the camera turned anomalous → alert
RETRY = "va.retry"  # a failed analysis, retried ``retry_delay`` later
OFFLINE = "va.offline"  # ``offline_after`` after a camera's last accepted upload
MIN_WIDTH, MIN_HEIGHT = 320, 240
REFERENCE_KIND = "camera_reference"
TURNING = ("anomaly", "offline")
#: settings whose change judges pending logs again
JUDGING_SETTINGS = ("default_threshold", "review_band")

LOGS = schema.va_logs
CAMERAS = schema.va_cameras


@dataclass(frozen=True)
class JudgingSettings:
    """The runtime settings judging reads (seconds and scores)."""

    default_threshold: float
    review_band: float
    processing_delay: float
    retry_delay: float
    offline_after: float

    @classmethod
    def of(cls, settings: dict) -> JudgingSettings:
        return cls(
            float(settings["default_threshold"]),
            float(settings["review_band"]),
            float(settings["processing_delay"]),
            float(settings["retry_delay"]),
            float(settings["offline_after"]),
        )

    @classmethod
    def read(cls, emulator: Emulator, conn: Connection) -> JudgingSettings:
        return cls.of(emulator.settings(conn))

    def thresholds(self, camera_thresholds: str | None) -> dict[str, float]:
        return thresholds_of(camera_thresholds, self.default_threshold)


@dataclass(frozen=True)
class Verdict:
    status: str
    anomalies: dict[str, float]
    scores: dict[str, float]
    adopt: bool = False  # the snapshot becomes the camera's reference

    def columns(self) -> dict[str, str]:
        """The log's columns this verdict sets (``va_logs``: JSON text for the scores)."""
        return {
            "status": self.status,
            "anomalies": json.dumps(self.anomalies),
            "scores": json.dumps(self.scores),
        }


@dataclass(frozen=True)
class Snapshot:
    """The accepted image: its media row, content hash and analysis (size and content type
    when known, for a reference made of it)."""

    media_id: int
    sha: str
    analysis: scoring.Analysis | None
    size: int | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Compared:
    """An upload's scores against its camera's reference, computed before the write
    transaction (``reference_id`` None: no reference then)."""

    reference_id: int | None = None
    scores: dict[str, float] | None = None


# -- the verdict -------------------------------------------------------------------------------


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
    band: float,
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
    status, anomalies = judge(scores, thresholds, band)
    clearly_normal = all(scores.get(k, 0.0) < thresholds[k] - band for k in scoring.CONTENT_TYPES)
    return Verdict(status, anomalies, scores, not has_reference and clearly_normal)


# -- analyses, kept per content -----------------------------------------------------------------


def cached_analysis(conn: Connection, sha: str) -> scoring.Analysis | None:
    """The kept analysis of a content, or None (never decodes: safe in a transaction)."""
    row = conn.execute(
        select(schema.image_analysis).where(schema.image_analysis.c.sha256 == sha)
    ).first()
    if row is None:
        return None
    return scoring.Analysis(
        row.width, row.height, json.loads(row.scores), json.loads(row.signature)
    )


def analysis_of(emulator: Emulator, sha: str) -> scoring.Analysis:
    """The kept analysis, else decoded from the stored file: outside any transaction."""
    found = emulator.store.query(lambda read: cached_analysis(read, sha))
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


def compared_with(analysis: scoring.Analysis | None, reference: scoring.Analysis | None):
    """The scores against a reference (None without either analysis)."""
    if analysis is None or reference is None:
        return None
    return scoring.compare(analysis.signature, reference.signature)


def compare_before(
    emulator: Emulator, camera, analysis: scoring.Analysis, visible_us: int
) -> Compared:
    """Outside the write transaction: a known camera's reference at ``visible_us`` and the
    scores against it (a reference that cannot be analysed scores as none)."""
    if camera is None:
        return Compared()
    reference = emulator.store.query(lambda conn: reference_at(conn, camera.id, visible_us))
    if reference is None:
        return Compared()
    try:
        reference_analysis = analysis_of(emulator, reference.sha256)
    except Exception:  # an unreadable reference: scored as without one
        return Compared(reference.id, None)
    return Compared(reference.id, compared_with(analysis, reference_analysis))


def compare_inside(conn: Connection, analysis: scoring.Analysis | None, reference) -> dict | None:
    """Inside a transaction: the scores against ``reference`` from its kept analysis."""
    if analysis is None or reference is None:
        return None
    return compared_with(analysis, cached_analysis(conn, reference.sha256))


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


def record(
    emulator: Emulator,
    conn: Connection,
    camera,
    snapshot: Snapshot,
    tag: str | None,
    now_us: int,
    compared: Compared,
    settings: JudgingSettings,
) -> int:
    """Inside the accept transaction: the upload's log, visible ``processing_delay`` from
    now, judged with what is in force then; its analysis kept; the camera's offline check
    moved. Returns the log's id."""
    visible_us = now_us + seconds_to_us(settings.processing_delay)
    # a camera registered by this upload has no reference yet
    new = getattr(camera, "registered_now", False)
    reference = None if new else reference_at(conn, camera.id, visible_us)
    comparison = compared.scores
    if (reference.id if reference else None) != compared.reference_id:
        comparison = compare_inside(conn, snapshot.analysis, reference)  # changed meanwhile
    forced = take_forced(conn, camera.id) if camera.forced_queued else None
    result = verdict(
        snapshot.analysis,
        comparison,
        forced,
        settings.thresholds(camera.thresholds),
        settings.review_band,
        reference is not None,
    )
    log_id = conn.execute(
        LOGS.insert(),
        {
            "license_id": camera.license_id,
            "camera_id": camera.id,
            **result.columns(),
            "snapshot_id": snapshot.media_id,
            "tag": tag,
            "created_us": now_us,
            "visible_us": visible_us,
            "forced": None if forced is None else json.dumps(forced),
        },
    ).inserted_primary_key[0]
    emulator.tally.note(conn, "logs", ("visionalert", result.status))
    if snapshot.analysis is not None:  # kept: judging again never decodes in a transaction
        remember(conn, snapshot.sha, snapshot.analysis)
    follow_up(emulator, conn, camera.id, log_id, snapshot, result, visible_us, settings)
    duework.schedule(
        conn,
        OFFLINE,
        now_us + seconds_to_us(settings.offline_after),
        {"camera_id": camera.id, "since_us": now_us},
        key=f"{OFFLINE}:{camera.id}",
    )
    return log_id


def follow_up(
    emulator, conn, camera_id, log_id, snapshot: Snapshot, result: Verdict, at_us, settings
):
    """What a verdict implies beyond the log: the adopted reference (from ``at_us`` on), the
    alert check at ``at_us``, the retry of a failed analysis."""
    if result.adopt:
        adopt(emulator, conn, camera_id, snapshot, at_us)
    payload = {"log_id": log_id, "camera_id": camera_id}
    if result.status == "anomaly":
        duework.schedule(conn, TURNED, at_us, payload, key=f"{TURNED}:{log_id}")
    if result.status == "pending_retry":
        due = at_us + seconds_to_us(settings.retry_delay)
        duework.schedule(conn, RETRY, due, {**payload, "attempt": 2}, key=f"{RETRY}:{log_id}")


def adopt(
    emulator: Emulator, conn: Connection, camera_id: int, snapshot: Snapshot, at_us: int
) -> None:
    """The snapshot becomes the camera's reference from ``at_us`` on (a second media row
    for the same bytes); its analysis is kept by whoever decoded it."""
    size, content_type = snapshot.size, snapshot.content_type
    if size is None or content_type is None:
        media = schema.media.c
        size, content_type = conn.execute(
            select(media.size, media.content_type).where(media.id == snapshot.media_id)
        ).one()
    media_id = emulator.media.add(conn, snapshot.sha, size, content_type, REFERENCE_KIND, at_us)
    set_reference(conn, camera_id, media_id, at_us, posted=False)


def feed_alert(
    emulator: Emulator, conn, camera, status: str, anomalies: dict, snapshot_id, at_us, before
) -> None:
    """A camera that turns anomalous or offline (from another status) feeds an alert."""
    if status in TURNING and before != status:
        alerts.camera_turned(emulator, conn, camera, status, anomalies, snapshot_id, at_us)


# -- judging pending logs again ---------------------------------------------------------------


def rejudge_pending(
    emulator: Emulator, conn: Connection, camera_id: int, now_us: int, drop_forced: bool = False
) -> int:
    """Judge the camera's logs that have not appeared yet with what is in force now (forced
    entries, thresholds, settings, reference); ``drop_forced``: the queue was cleared, so
    the entries they had taken are gone too. Returns how many were judged.

    The camera's row is locked first: an upload of the camera in flight (which locks it
    too, ``ingest.take_window``) either commits before, and its log is judged here, or
    waits and then reads what this transaction changed."""
    conn.execute(select(CAMERAS.c.id).where(CAMERAS.c.id == camera_id).with_for_update())
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
    settings = JudgingSettings.read(emulator, conn)
    emulator.media.delete_rows(conn, drop_pending_adoptions(conn, camera_id, now_us))
    thresholds = settings.thresholds(camera.thresholds)
    for log in pending:
        if drop_forced:
            forced = None
        elif log.forced is not None:
            forced = json.loads(log.forced)
        else:
            forced = take_forced(conn, camera_id)
        analysis = cached_analysis(conn, log.sha256)  # None: judged as failed, retried
        reference = reference_at(conn, camera_id, log.visible_us)
        comparison = compare_inside(conn, analysis, reference)
        has_reference = reference is not None
        result = verdict(
            analysis, comparison, forced, thresholds, settings.review_band, has_reference
        )
        conn.execute(
            update(LOGS)
            .where(LOGS.c.id == log.id)
            .values(
                **result.columns(),
                forced=None if forced is None else json.dumps(forced),
            )
        )
        duework.cancel(conn, f"{TURNED}:{log.id}")
        duework.cancel(conn, f"{RETRY}:{log.id}")
        snapshot = Snapshot(log.snapshot_id, log.sha256, analysis)
        follow_up(emulator, conn, camera_id, log.id, snapshot, result, log.visible_us, settings)
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
