"""PostgreSQL stopped under two live hosts: 503s that a client can retry on, never a 500 or
a hang; both hosts serve again within seconds of the restart; no acknowledged write lost
or doubled; a webhook in flight when the database went away is recorded once.

The module runs its own PostgreSQL server (it stops and starts it); each host is a
``mockserver serve`` process of its own, as on two machines.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import psycopg
import pytest
import requests
from sqlalchemy import text

from mockserver.core.outages import UNAVAILABLE_TEXT
from mockserver.core.pgstore import PostgresStore

from ..control.test_control_hardening import HangingReceiver, raise_alert
from ..control.test_control_hardening import jpeg as hook_jpeg
from ..control.test_control_hardening import seed as hook_seed
from ..postgres_server import PostgresUnavailable, ThrowawayPostgres
from .test_two_hosts import START, start_hosts

TOKEN = {"Authorization": "Token tok-hard"}
DB_TIMEOUT = 2.0
OUTAGE = 2.5  # seconds the database stays down
RECOVERY = 5.0  # seconds each host may take to serve again after the restart
CLIENT_TIMEOUT = 15.0
JOURNAL_LAG = 1.0  # seconds of journal commits a database crash may lose (asynchronous)
SETTINGS = {
    "MOCKSERVER_DB_TIMEOUT": str(DB_TIMEOUT),
    "MOCKSERVER_JOURNAL_SIZE": "100000",
    "MOCKSERVER_WEBHOOK_TIMEOUT": "30",
}
CREATE_LOG = "/v1/vision-alert/create-log/"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def database():
    """A server of this module's own (its tests stop it), and one fresh database on it;
    durable (fsync, synchronous commit), since PostgreSQL's own promise is the anchor: a
    commit acknowledged is kept, also through ``pg_ctl stop -m immediate``."""
    try:
        server = ThrowawayPostgres(durable=True)
    except PostgresUnavailable as error:
        pytest.fail(f"PostgreSQL test server unavailable: {error}", pytrace=False)
    try:
        yield server, server.database()
    finally:
        server.stop()


@dataclass
class Call:
    began: float
    ended: float
    kind: str  # upload | read
    key: str
    status: int  # 0: no reply (a client-side error)
    retry_after: str | None
    body: object


class Load:
    """Client threads alternating uploads (each a new camera) and reads over the hosts."""

    def __init__(self, hosts: list[str], threads: int = 4) -> None:
        self.hosts = hosts
        self.calls: list[Call] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _run(self, index: int) -> None:
        session, number = requests.Session(), 0
        while not self.stop.is_set():
            number += 1
            host = self.hosts[(index + number) % len(self.hosts)]
            key = f"O{index}N{number:05d}"
            kind = "upload" if number % 2 else "read"
            began = time.monotonic()
            try:
                if kind == "upload":
                    reply = session.post(
                        f"{host}{CREATE_LOG}",
                        headers=TOKEN,
                        data={"camera_id": key},
                        files={"upload": ("a.jpg", hook_jpeg(number % 200), "image/jpeg")},
                        timeout=CLIENT_TIMEOUT,
                    )
                else:
                    reply = session.get(
                        f"{host}/v1/vision-alert/licenses/", headers=TOKEN, timeout=CLIENT_TIMEOUT
                    )
                status, retry_after = reply.status_code, reply.headers.get("Retry-After")
                try:
                    body = reply.json()
                except ValueError:
                    body = reply.text
            except requests.RequestException as error:
                status, retry_after, body = 0, None, repr(error)
            self.calls.append(Call(began, time.monotonic(), kind, key, status, retry_after, body))
            time.sleep(0.01)


def _serving_again(hosts: list[str], since: float) -> list[float]:
    """Seconds after ``since`` until each host answers a read with 200."""
    took = []
    for host in hosts:
        while True:
            try:
                status = requests.get(
                    f"{host}/v1/vision-alert/licenses/", headers=TOKEN, timeout=CLIENT_TIMEOUT
                ).status_code
            except requests.RequestException:
                status = 0
            if status == 200:
                took.append(time.monotonic() - since)
                break
            assert time.monotonic() - since < RECOVERY, f"{host} not serving after {RECOVERY}s"
            time.sleep(0.05)
    return took


def _logs_per_camera(url: str) -> Counter:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.serial FROM va_logs l JOIN va_cameras c ON c.id = l.camera_id"
        ).fetchall()
    return Counter(serial for (serial,) in rows)


def _journaled_uploads(host: str, status: str = "200") -> int:
    """How many create-log exchanges the request journal holds as answered ``status``
    (the body's excerpt names no camera: the image's bytes come first)."""
    found, since = 0, 0
    while True:
        page = requests.get(
            f"{host}/_mock/requests",
            params={"path": CREATE_LOG, "status": status, "since": since, "limit": 1000},
            timeout=CLIENT_TIMEOUT,
        ).json()["requests"]
        if not page:
            return found
        found += len(page)
        since = page[-1]["id"]


def test_stopped_database_answers_503_and_loses_no_acknowledged_upload(database):
    server, url = database
    hosts = start_hosts(url, **SETTINGS)
    urls = [host.url for host in hosts]
    try:
        seeded = requests.post(f"{urls[0]}/_mock/seed", json=hook_seed())
        assert seeded.status_code == 201, seeded.text
        outages, recoveries = [], []
        with Load(urls) as load:
            for mode in ("fast", "immediate"):
                time.sleep(1.0)
                server.halt(mode)
                down = time.monotonic()
                time.sleep(OUTAGE)
                up_from = time.monotonic()
                server.resume()
                restarted = time.monotonic()
                outages.append((mode, down, up_from))
                recoveries.append(_serving_again(urls, restarted))
            time.sleep(1.0)
        calls = load.calls
        statuses = Counter(call.status for call in calls)
        # never a 500, never a hang, never a broken connection: 2xx, or 503 to retry on
        assert set(statuses) <= {200, 503}, statuses
        unavailable = [call for call in calls if call.status == 503]
        assert all(call.retry_after == "2" for call in unavailable)
        assert all(call.body == {"detail": UNAVAILABLE_TEXT} for call in unavailable)
        slowest = max(call.ended - call.began for call in calls)
        assert slowest < DB_TIMEOUT + 3, slowest
        for mode, down, up_from in outages:
            inside = [call for call in calls if call.began > down and call.ended < up_from]
            assert len(inside) >= 10, (mode, len(inside))
            codes = Counter(call.status for call in inside)
            assert set(codes) == {503}, (mode, codes)
        # every acknowledged upload is there once, in the store and in the journal
        acked = Counter(c.key for c in calls if c.kind == "upload" and c.status == 200)
        assert len(acked) >= 20 and set(acked.values()) == {1}
        stored = _logs_per_camera(url)
        assert {key: stored[key] for key in acked} == dict(acked)
        # the journal's commits do not wait for the disk (it is diagnostics): a crash
        # (``-m immediate``) may lose the entries of its last moment, never more, never twice
        crash = outages[1][1]
        at_crash = sum(
            1
            for c in calls
            if c.kind == "upload" and c.status == 200 and crash - JOURNAL_LAG <= c.ended <= crash
        )
        journaled = _journaled_uploads(urls[1])
        assert len(acked) - at_crash <= journaled <= len(acked), (journaled, len(acked), at_crash)
        # the outage's own exchanges, kept by each host, are journaled once it is over
        refused = sum(1 for c in calls if c.kind == "upload" and c.status == 503)
        assert 0 < _journaled_uploads(urls[0], "503") <= refused
        print(
            f"\n[db outage] {len(calls)} requests {dict(statuses)}; slowest {slowest:.2f}s; "
            f"recovery after restart {[[round(s, 2) for s in r] for r in recoveries]} s; "
            f"{len(acked)} acknowledged uploads, each stored once, {journaled} journaled"
        )
    finally:
        for host in hosts:
            host.stop()


def test_a_webhook_in_flight_when_the_database_stops_is_sent_and_recorded_once(database):
    server, url = database
    receiver = HangingReceiver()
    hosts = start_hosts(url, **SETTINGS)
    first, second = (host.url for host in hosts)
    try:
        requests.post(f"{first}/_mock/reset?seed=none")
        seeded = requests.post(f"{first}/_mock/seed", json=hook_seed(webhook=receiver.url))
        license_id = seeded.json()["accounts"][0]["licenses"][0]["id"]
        requests.post(f"{second}/_mock/clock", json={"set": START})
        raise_alert(requests, first, license_id, api_url=second)
        assert receiver.arrived.wait(30), "the webhook never reached the receiver"
        server.halt("fast")  # the POST is in flight: its result cannot be recorded now
        receiver.release.set()
        time.sleep(OUTAGE)
        server.resume()

        def webhooks() -> list[tuple[int, bool]]:
            found = requests.get(f"{second}/_mock/visionalert/deliveries").json()["deliveries"]
            return [(d["attempt"], d["ok"]) for d in found if d["channel"] == "webhook"]

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if webhooks():
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.2)
        time.sleep(2.0)  # a second sender, if there were one, would have arrived by now
        assert webhooks() == [(1, True)]
        assert receiver.hits == 1
    finally:
        for host in hosts:
            host.stop()
        receiver.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_after_a_restart_no_dead_pooled_connection_is_handed_out(database, mode):
    """Connections pooled before a restart are dead; the first unit of work after it, a
    write (never retried: its commit may have happened), still gets a live one."""
    server, url = database
    store = PostgresStore(url, timeout=DB_TIMEOUT)
    try:
        pooled = []

        def hold(depth: int) -> None:  # several connections checked out at once, then pooled
            if depth:
                store.query(lambda conn: (pooled.append(1), hold(depth - 1)))

        hold(4)
        server.halt(mode)
        server.resume()
        began = time.monotonic()
        for _ in range(4):
            store.transact(lambda conn: conn.execute(text("SELECT 1")))
        assert time.monotonic() - began < DB_TIMEOUT
    finally:
        store.dispose()
