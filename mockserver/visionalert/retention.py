"""Bounded storage: each camera's latest logs keep their full-size frames, older ones a
small JPEG, and an optional byte cap on every stored image.

A fleet uploads 160–250 KB frames without end; kept whole, they fill any disk. So the
frame of a log that has ``media_retention`` newer logs (with images) of its camera becomes
a ``SMALL_WIDTH``-pixel JPEG (the analysis view's width, about 10 KB), under the same media
row: the URL handed out for it still serves an image, only smaller. With
``media_byte_cap`` set and the stored images above it, the oldest logs' images become one
shared placeholder (stored once), oldest first, until they fit. An alert's images and every
reference are always kept whole, and so is the frame of a log whose analysis is still to be
retried (the retry decodes it).

The work is due work on the background tick (``PRUNE``, a recurring kind): never on a
request's path, claimed by one host at a time, and idempotent (a frame already small is
left as it is). Its cursor walks the logs in id order, so each run looks at the logs that
appeared since the last one: for each, the log ``media_retention`` places behind it in its
camera's history is the one to reduce. Changing ``media_retention`` walks every log again.
Images are decoded and encoded outside any transaction; the rows are switched inside one
by ``Media.replace`` (the content rule of ``core/media.py``), and the bytes no row names
then are removed by the next run (due at once), after that transaction committed.
"""

from __future__ import annotations

import functools
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from PIL import Image
from sqlalchemy import Connection, and_, delete, exists, func, or_, select

from ..core import duework
from ..core.clock import seconds_to_us
from ..core.emulator import Emulator
from . import schema
from .blocks import ANALYSIS_WIDTH

PRUNE = "va.prune"
#: emulator seconds between runs once the work has caught up
EVERY_SECONDS = 10.0
#: logs looked at per run (a run with a full batch is followed by the next one at once;
#: small, so a run's decoding stays well inside its claim on a loaded machine)
BATCH = 50
#: images read, reduced and written side by side in one run
PARALLEL = 4
SMALL_WIDTH = ANALYSIS_WIDTH
SMALL_QUALITY = 70
SMALL_TYPE = "image/jpeg"

LOGS = schema.va_logs.c
MEDIA = schema.media.c
_ALERT_NAMES = exists().where(schema.va_alert_cameras.c.snapshot_id == LOGS.snapshot_id)


@dataclass(frozen=True)
class Change:
    """One log image to show other content: its media row, the content it shows now, the
    new content (already stored)."""

    media_id: int
    old_sha: str
    new_sha: str
    content: bytes


@dataclass
class Plan:
    """What one run found, prepared outside the transaction."""

    keep: int
    cursor: int
    evicted: int
    changes: list[Change] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    full: bool = False  # a batch was full: more work is waiting


def small_view(content: bytes) -> bytes | None:
    """The image as a ``SMALL_WIDTH``-pixel JPEG; None when it is that small already (or
    cannot be decoded: it stays as it is)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width <= SMALL_WIDTH and image.format == "JPEG":
                    return None
                target = (SMALL_WIDTH, max(1, round(height * SMALL_WIDTH / width)))
                image.draft("RGB", target)  # JPEG: a reduced decode
                view = image.convert("RGB").resize(target, Image.Resampling.BILINEAR)
        except Exception:  # Pillow raises many kinds for a broken stream
            return None
    out = io.BytesIO()
    view.save(out, "JPEG", quality=SMALL_QUALITY)
    return out.getvalue()


@functools.cache
def placeholder() -> bytes:
    """What a log's image shows once the byte cap took it: one small gray JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (SMALL_WIDTH, SMALL_WIDTH * 9 // 16), (128, 128, 128)).save(
        out, "JPEG", quality=SMALL_QUALITY
    )
    return out.getvalue()


# -- finding the work ----------------------------------------------------------------------


def _snapshot_row(conn: Connection, log_id: int):
    """A log's image as pruning needs it, or None when it is exempt or gone."""
    return conn.execute(
        select(LOGS.snapshot_id, MEDIA.sha256, MEDIA.size)
        .join(schema.media, MEDIA.id == LOGS.snapshot_id)
        .where(LOGS.id == log_id, LOGS.status != "pending_retry", ~_ALERT_NAMES)
    ).first()


def _behind(conn: Connection, log, keep: int):
    """The log ``keep`` places behind ``log`` in its camera's history (with images)."""
    if keep == 0:
        return log.id
    older = or_(
        LOGS.created_us < log.created_us,
        and_(LOGS.created_us == log.created_us, LOGS.id < log.id),
    )
    return conn.execute(
        select(LOGS.id)
        .where(LOGS.camera_id == log.camera_id, LOGS.snapshot_id.is_not(None), older)
        .order_by(LOGS.created_us.desc(), LOGS.id.desc())
        .offset(keep - 1)
        .limit(1)
    ).scalar()


def to_reduce(conn: Connection, cursor: int, keep: int, at_us: int) -> tuple[list, int, bool]:
    """Images to reduce among the logs after ``cursor`` that appeared by ``at_us``: (rows,
    the new cursor, whether the batch was full)."""
    walked = conn.execute(
        select(LOGS.id, LOGS.camera_id, LOGS.created_us, LOGS.visible_us)
        .where(LOGS.id > cursor, LOGS.snapshot_id.is_not(None))
        .order_by(LOGS.id)
        .limit(BATCH)
    ).all()
    found = []
    for log in walked:
        if log.visible_us > at_us:
            return found, cursor, False  # not there yet: the next run starts here
        cursor = log.id
        behind = _behind(conn, log, keep)
        row = _snapshot_row(conn, behind) if behind is not None else None
        if row is not None:
            found.append(row)
    return found, cursor, len(walked) == BATCH


_CONTENTS = select(MEDIA.sha256, MEDIA.size).distinct().subquery()
#: bytes of every stored image (each content once)
_STORED = select(func.coalesce(func.sum(_CONTENTS.c.size), 0))


def to_evict(conn: Connection, evicted: int, cap: int, at_us: int, spare: str) -> tuple:
    """The oldest logs' images to replace by the placeholder (``spare``'s hash) while the
    stored images exceed ``cap``: (rows, the new eviction cursor, whether more remain)."""
    stored = conn.execute(_STORED).scalar_one()
    if stored <= cap:
        return [], evicted, False
    walked = conn.execute(
        select(LOGS.id, LOGS.visible_us)
        .where(LOGS.id > evicted, LOGS.snapshot_id.is_not(None))
        .order_by(LOGS.id)
        .limit(BATCH)
    ).all()
    found = []
    for log in walked:
        if stored <= cap or log.visible_us > at_us:
            return found, evicted, False
        evicted = log.id
        row = _snapshot_row(conn, log.id)
        if row is not None and row.sha256 != spare:
            found.append(row)
            stored -= row.size  # at most what it frees (another row may name it)
    return found, evicted, len(walked) == BATCH


# -- the recurring job ---------------------------------------------------------------------


def _prepare(emulator: Emulator, job: duework.Job) -> Plan:
    """Outside any transaction: remove what the last run left unnamed, find this run's
    images, and store their new content."""
    media = emulator.media
    media.remove_files(job.payload.get("unnamed", []))
    settings = emulator.settings()
    keep = int(settings["media_retention"])
    cap = int(settings["media_byte_cap"])
    cursor = job.payload.get("cursor", 0) if job.payload.get("keep") == keep else 0
    evicted = job.payload.get("evicted", 0)
    spare = media.write_file(placeholder()) if cap else None

    def find(conn: Connection):
        reduce = to_reduce(conn, cursor, keep, job.due_us)
        evict = to_evict(conn, evicted, cap, job.due_us, spare) if cap else ([], evicted, False)
        return reduce, evict

    (rows, cursor, more), (doomed, evicted, more_evict) = emulator.store.query(find)
    plan = Plan(keep, cursor, evicted, full=more or more_evict)

    def reduce(row) -> Change | None:
        content = media.read(row.sha256)
        small = small_view(content) if content is not None else None
        if small is None:
            return None
        return Change(row.snapshot_id, row.sha256, media.write_file(small), small)

    if len(rows) > 1:  # an object store's round trips overlap, and so do the decodes
        with ThreadPoolExecutor(min(PARALLEL, len(rows))) as pool:
            reduced = list(pool.map(reduce, rows))
    else:
        reduced = [reduce(row) for row in rows]
    plan.changes += [change for change in reduced if change is not None]
    for row in doomed:
        plan.changes.append(Change(row.snapshot_id, row.sha256, spare, placeholder()))
    plan.written = [change.new_sha for change in plan.changes]
    return plan


def _apply(emulator: Emulator, conn: Connection, job: duework.Job, plan: Plan) -> None:
    """Switch the images (unless an alert took one meanwhile) and schedule the next run."""
    unnamed = list(plan.written)  # kept if named, else written for nothing
    alerts = schema.va_alert_cameras.c
    media_ids = [change.media_id for change in plan.changes]
    taken = set(
        conn.execute(select(alerts.snapshot_id).where(alerts.snapshot_id.in_(media_ids))).scalars()
    )
    changes = [change for change in plan.changes if change.media_id not in taken]
    # each new content checked once (the placeholder serves many), the checks side by side
    emulator.media.ensure_many(conn, {change.new_sha: change.content for change in changes})
    for change in changes:
        unnamed += emulator.media.replace(
            conn,
            change.media_id,
            change.old_sha,
            change.new_sha,
            len(change.content),
            SMALL_TYPE,
            None,  # ensured above
        )
    gone = emulator.media.unnamed(conn, unnamed)
    if gone:  # their analyses go with them (judging never needs them again)
        analysis = schema.image_analysis
        conn.execute(delete(analysis).where(analysis.c.sha256.in_(gone)))
    now_us = emulator.clock.now_us(conn)
    if plan.full:  # more waiting: again in the same pass of the tick
        next_us = job.due_us
    elif gone:  # bytes to remove once this commits: the next tick
        next_us = now_us
    else:
        next_us = now_us + seconds_to_us(EVERY_SECONDS)
    payload = {
        "keep": plan.keep,
        "cursor": plan.cursor,
        "evicted": plan.evicted,
        "unnamed": sorted(set(gone)),
    }
    duework.schedule(conn, PRUNE, next_us, payload, key=PRUNE)


JOBS = (duework.JobKind(PRUNE, _apply, prepare=_prepare, background=True, every=EVERY_SECONDS),)
