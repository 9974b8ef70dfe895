"""Emitting alerts and notifying them: a webhook POST in the background, an e-mail outbox.

``va.alert.emit`` (scheduled by ``alerts`` when an alert opens) makes the alert visible at
the end of its window and queues its notifications.

The webhook is a ``background`` due-work kind: only the background tick runs it, never a
request. Its *prepare* step sends the POST with no store transaction open: due work has
claimed the job first (a lease, committed, renewed while the POST is in flight), so no
other worker or host sends the same attempt meanwhile. *apply* then records the attempt
in its own short transaction and either marks the alert ``sent`` (first 2xx) or schedules
the next attempt on the emulator clock (``webhook_backoff``, doubled each time,
``webhook_retries`` retries after the first attempt). A sender that dies mid-POST loses
its claim when the lease lapses: that attempt is sent again (see ``core.duework``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import requests
from sqlalchemy import Connection, func, select, update

from ..core import duework, faults
from ..core.clock import seconds_to_us
from ..core.emulator import Emulator
from . import schema
from .alerts import EMIT, alert_body

WEBHOOK = "va.webhook"
BASE_URL_KEY = "visionalert.base_url"
FALLBACK_BASE_URL = "http://127.0.0.1:8000"
USER_AGENT = "mockserver-visionalert-webhook/1"
QUEUE_FULL = "Webhook queue full: delivery dropped (MOCKSERVER_WEBHOOK_QUEUE)."


@dataclass(frozen=True)
class Attempt:
    target: str
    ok: bool
    status_code: int | None
    error: str | None


def remembered_base_url(conn: Connection) -> str | None:
    meta = schema.meta.c
    return conn.execute(select(meta.value).where(meta.key == BASE_URL_KEY)).scalar()


def remember_base_url(conn: Connection, base_url: str) -> None:
    """The last upload's base URL: absolute URLs in webhooks when none is configured."""
    meta = schema.meta.c
    current = remembered_base_url(conn)
    if current == base_url:
        return
    if current is None:
        conn.execute(schema.meta.insert().values(key=BASE_URL_KEY, value=base_url))
    else:
        conn.execute(update(schema.meta).where(meta.key == BASE_URL_KEY).values(value=base_url))


def base_url(emulator: Emulator, conn: Connection) -> str:
    """Configured public base URL, else the base URL of the last accepted upload."""
    configured = emulator.config.public_base_url
    if configured:
        return configured.rstrip("/")
    seen = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == BASE_URL_KEY)
    ).scalar()
    return seen or FALLBACK_BASE_URL


def _license_of(conn: Connection, alert_id: int):
    alerts, licenses = schema.va_alerts.c, schema.va_licenses.c
    return conn.execute(
        select(licenses.webhook_url, licenses.notify_email, licenses.code)
        .join(schema.va_alerts, alerts.license_id == licenses.id)
        .where(alerts.id == alert_id)
    ).first()


def emit(emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    """The alert's window closed: it becomes visible, created now, and is notified."""
    alert_id = job.payload["alert_id"]
    result = conn.execute(
        update(schema.va_alerts)
        .where(schema.va_alerts.c.id == alert_id, schema.va_alerts.c.emitted == False)  # noqa: E712
        .values(emitted=True, created_us=job.due_us)
    )
    if result.rowcount == 1:
        alert_emitted(emulator, conn, alert_id, job.due_us)


def alert_emitted(emulator: Emulator, conn: Connection, alert_id: int, now_us: int) -> None:
    """Queue the webhook and write the e-mail (inside the emitting transaction)."""
    license = _license_of(conn, alert_id)
    if license is None:
        return
    if license.webhook_url:
        if queue_full(emulator, conn):
            _record(conn, alert_id, "webhook", license.webhook_url, 1, False, None, QUEUE_FULL,
                    now_us)  # fmt: skip
        else:
            duework.schedule(
                conn, WEBHOOK, now_us, {"alert_id": alert_id, "attempt": 1},
                key=f"{WEBHOOK}:{alert_id}",
            )  # fmt: skip
    if license.notify_email:
        body = alert_body(conn, alert_id, base_url(emulator, conn))
        body["sent"] = True
        conn.execute(
            schema.va_outbox.insert().values(
                alert_id=alert_id,
                to=license.notify_email,
                subject=f"VisionAlert: {len(body['cameras'])} camera(s) need attention "
                f"({license.code})",
                body=json.dumps(body, indent=2),
                at_us=now_us,
            )
        )
        _record(conn, alert_id, "email", license.notify_email, 1, True, None, None, now_us)
        _mark_sent(conn, alert_id)


def _prepare(emulator: Emulator, job: duework.Job) -> Attempt | None:
    def read(conn: Connection):
        license = _license_of(conn, job.payload["alert_id"])
        if license is None or not license.webhook_url:
            return None
        body = alert_body(conn, job.payload["alert_id"], base_url(emulator, conn))
        if body is None:  # the alert went meanwhile (a reset)
            return None
        body["sent"] = True  # what the alert reads once this delivery succeeds
        return license.webhook_url, body

    found = emulator.store.query(read)
    if found is None:
        return None
    url, body = found
    if not url.startswith(("http://", "https://")):
        return Attempt(url, False, None, "Only http(s) webhook URLs are called.")
    hit = faults.webhook_hit(emulator.store, url)
    if hit is not None:
        action = hit.action
        if action["type"] == "status":
            status = action["status"]
            ok = 200 <= status < 300
            return Attempt(url, ok, status, None if ok else f"HTTP {status} (injected fault)")
        if action["type"] == "drop":
            return Attempt(url, False, None, "ConnectionError: dropped (injected fault)")
        low, high = action["ms"]
        time.sleep(hit.rng.uniform(low, high) / 1000)  # latency: then the real delivery
    try:
        reply = requests.post(
            url,
            json=body,
            timeout=emulator.config.webhook_timeout,
            allow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
    except requests.RequestException as error:
        return Attempt(url, False, None, f"{type(error).__name__}: {error}"[:500])
    ok = 200 <= reply.status_code < 300
    return Attempt(url, ok, reply.status_code, None if ok else f"HTTP {reply.status_code}")


def _apply(emulator: Emulator, conn: Connection, job: duework.Job, attempt: Attempt | None) -> None:
    if attempt is None:
        return
    alert_id, number = job.payload["alert_id"], job.payload["attempt"]
    outcome = "delivered" if attempt.ok else "failed"
    emulator.tally.note(conn, "webhook_deliveries", ("visionalert", outcome))
    _record(
        conn, alert_id, "webhook", attempt.target, number, attempt.ok,
        attempt.status_code, attempt.error, job.due_us,
    )  # fmt: skip
    if attempt.ok:
        _mark_sent(conn, alert_id)
        return
    settings = emulator.settings(conn)
    if number <= int(settings["webhook_retries"]):
        if queue_full(emulator, conn):  # this attempt's own job is already gone: others fill it
            _record(conn, alert_id, "webhook", attempt.target, number + 1, False, None,
                    QUEUE_FULL, job.due_us)  # fmt: skip
            return
        delay = float(settings["webhook_backoff"]) * 2 ** (number - 1)
        duework.schedule(
            conn,
            WEBHOOK,
            job.due_us + seconds_to_us(delay),
            {"alert_id": alert_id, "attempt": number + 1},
            key=f"{WEBHOOK}:{alert_id}",
        )


def queue_full(emulator: Emulator, conn: Connection) -> bool:
    """At most ``webhook_queue`` deliveries (first attempts and retries) wait at a time,
    store-wide: a receiver that is down cannot make the queue grow without bound."""
    waiting = conn.execute(
        select(func.count()).select_from(schema.jobs).where(schema.jobs.c.kind == WEBHOOK)
    ).scalar_one()
    return waiting >= emulator.config.webhook_queue


def _record(conn, alert_id, channel, target, attempt, ok, status_code, error, at_us) -> None:
    conn.execute(
        schema.va_deliveries.insert().values(
            alert_id=alert_id,
            channel=channel,
            target=target,
            attempt=attempt,
            ok=ok,
            status_code=status_code,
            error=error,
            at_us=at_us,
        )
    )


def _mark_sent(conn: Connection, alert_id: int) -> None:
    conn.execute(
        update(schema.va_alerts).where(schema.va_alerts.c.id == alert_id).values(sent=True)
    )


JOBS = (
    duework.JobKind(EMIT, emit),
    duework.JobKind(WEBHOOK, _apply, prepare=_prepare, background=True),
)
