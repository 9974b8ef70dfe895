"""The visibility rule: an accepted upload's log is written at acceptance and appears at
``created + processing_delay`` — absent at +4 s, present at +5 s in every list, filter,
``latest_status`` and reference — and requests do their own work only."""

from __future__ import annotations

import io
import sqlite3
import time

import pytest
import requests
from sqlalchemy import event

from mockserver.core.timefmt import parse_instant
from mockserver.testkit.plugin import LiveServer

from ..conftest import auth
from .va_rows import camera_id, store_media
from .va_support import (
    CREATE_LOG,
    START,
    TOKEN,
    advance,
    alerts,
    camera,
    force,
    photo,
    seed,
    seed_body,
    upload,
)

VA = "/v1/vision-alert"


def _views(get, lic: int) -> dict[str, object]:
    """What every read shows of camera C1 (tag site-a) and its one upload."""

    def results(path: str) -> list:
        reply = get(path)
        assert reply.status_code == 200, (path, reply.status_code)
        return reply.json()["results"] if callable(reply.json) else reply.json["results"]

    def statuses(path: str) -> list[str]:
        return [row["status"] for row in results(path)]

    def serials(path: str) -> list[str]:
        return [row["serial"] for row in results(path)]

    cameras = results(f"{VA}/{lic}/cameras/")
    return {
        "camera logs": statuses(f"{VA}/{lic}/cameras/C1/logs/"),
        "camera logs status=normal": statuses(f"{VA}/{lic}/cameras/C1/logs/?status=normal"),
        "license logs": statuses(f"{VA}/{lic}/logs/"),
        "license logs serial": statuses(f"{VA}/{lic}/logs/?serial=C1"),
        "license logs tag": statuses(f"{VA}/{lic}/logs/?tag=site-a"),
        "license logs status": statuses(f"{VA}/{lic}/logs/?status=normal"),
        "license logs day": statuses(f"{VA}/{lic}/logs/?start=2026-04-10&end=2026-04-10"),
        "license logs exact": statuses(
            f"{VA}/{lic}/logs/?start=2026-04-10T14:30:00Z&end=2026-04-10T14:30:00Z"
        ),
        "latest_status": [row["latest_status"] for row in cameras],
        "cameras status=normal": serials(f"{VA}/{lic}/cameras/?status=normal"),
        "cameras status=no_data": serials(f"{VA}/{lic}/cameras/?status=no_data"),
    }


ABSENT = {
    "camera logs": [],
    "camera logs status=normal": [],
    "license logs": [],
    "license logs serial": [],
    "license logs tag": [],
    "license logs status": [],
    "license logs day": [],
    "license logs exact": [],
    "latest_status": [None],
    "cameras status=normal": [],
    "cameras status=no_data": ["C1"],
}
PRESENT = {
    "camera logs": ["normal"],
    "camera logs status=normal": ["normal"],
    "license logs": ["normal"],
    "license logs serial": ["normal"],
    "license logs tag": ["normal"],
    "license logs status": ["normal"],
    "license logs day": ["normal"],
    "license logs exact": ["normal"],
    "latest_status": ["normal"],
    "cameras status=normal": ["C1"],
    "cameras status=no_data": [],
}


def test_absent_at_four_seconds_present_at_five_in_every_read(client):
    (lic,) = seed(client)
    assert upload(client, "C1", tag="site-a").status_code == 200

    def get(path):
        return client.get(path, headers=auth(TOKEN))

    def reference():
        return get(f"{VA}/{lic}/cameras/C1/reference/").json["reference_image"]

    assert _views(get, lic) == ABSENT
    advance(client, 4)
    assert _views(get, lic) == ABSENT
    assert reference() is None  # the adoption comes with the log
    state = camera(client, lic, "C1")
    assert state["logs"] == [] and state["latest_status"] is None
    assert state["has_reference"] is False
    advance(client, 1)
    assert _views(get, lic) == PRESENT
    assert reference().startswith("http://localhost/media/camera_reference/")
    state = camera(client, lic, "C1")
    assert [log["status"] for log in state["logs"]] == ["normal"]
    assert state["latest_status"] == "normal" and state["has_reference"] is True


def test_anomaly_appears_with_its_log_and_alerts_at_that_instant(client):
    (lic,) = seed(client)
    assert upload(client, "C1").status_code == 200
    advance(client, 900)
    force(client, lic, "C1", scores={"Blur": 0.9})
    assert upload(client, "C1").status_code == 200
    advance(client, 4)
    assert camera(client, lic, "C1")["latest_status"] == "normal"
    assert alerts(client, lic) == []
    advance(client, 1)
    assert camera(client, lic, "C1")["latest_status"] == "anomaly"
    (alert,) = alerts(client, lic)
    assert alert["opened"] == "2026-04-10T14:45:05Z"  # the log's instant, not the upload's


def test_a_log_judged_again_when_the_rules_change_before_it_appears(client):
    """What is in force when the log appears decides it, as if it were processed then."""
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    thresholds = f"/_mock/visionalert/licenses/{lic}/cameras/C1/thresholds"
    queue = f"/_mock/visionalert/licenses/{lic}/cameras/C1/forced-scores"

    def next_upload_then(change) -> str:
        advance(client, 900)
        assert upload(client, "C1").status_code == 200
        change()
        advance(client, 5)
        return camera(client, lic, "C1")["logs"][0]["status"]

    force(client, lic, "C1", scores={"Blur": 0.6})  # taken by the next upload
    assert next_upload_then(lambda: client.post(thresholds, json={"Blur": 0.9})) == "normal"
    client.post(thresholds, json={"Blur": None})
    force(client, lic, "C1", scores={"Glare": 0.95})
    assert next_upload_then(lambda: client.delete(queue)) == "normal"  # the entry is gone
    assert next_upload_then(lambda: force(client, lic, "C1", scores={"Glare": 0.95})) == "anomaly"
    force(client, lic, "C1", scores={"Blur": 0.53})  # within the review band
    assert (
        next_upload_then(lambda: client.post("/_mock/settings", json={"review_band": 0}))
        == "anomaly"
    )


def _count_writes(app):
    """The write transactions (``BEGIN IMMEDIATE``) the app's store begins."""
    began: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN IMMEDIATE"):
            began.append(statement)

    engine = app.extensions["mockserver"].store.engine
    event.listen(engine, "before_cursor_execute", seen)
    return began


def test_one_write_per_upload_and_none_for_reads(app, client):
    (lic,) = seed(client)  # no per-account throttle
    upload(client, "C1")
    advance(client, 900)
    began = _count_writes(app)
    assert upload(client, "C1", tag="site-a").status_code == 200
    assert len(began) == 1  # the known camera's upload: one transaction
    assert upload(client, "NEW-1").status_code == 200
    assert len(began) == 2  # a new camera too: registered in that same transaction
    advance(client, 5)
    began.clear()
    for path in ("cameras/", "logs/", "cameras/C1/logs/", "alerts/"):
        assert client.get(f"{VA}/{lic}/{path}", headers=auth(TOKEN)).status_code == 200
    assert began == []


def test_requests_do_their_own_work_only(app, client):
    """A read past a due time shows what appeared by reading; the alert (work with effects)
    waits for the tick or a clock move, and runs at its own due time."""
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 900)
    force(client, lic, "C1", scores={"Obstruction": 0.99})
    upload(client, "C1")
    emulator = app.extensions["mockserver"]
    due = parse_instant("2026-04-10T14:45:05Z")
    emulator.store.transact(lambda conn: emulator.clock.freeze_at(conn, due))  # no control call
    began = _count_writes(app)
    logs = client.get(f"{VA}/{lic}/cameras/C1/logs/", headers=auth(TOKEN)).json["results"]
    assert [log["status"] for log in logs] == ["anomaly", "normal"]
    cameras = client.get(f"{VA}/{lic}/cameras/", headers=auth(TOKEN)).json["results"]
    assert cameras[0]["latest_status"] == "anomaly"
    assert alerts(client, lic) == [] and began == []  # nobody ran the alert job
    advance(client, 0)  # a clock move runs what fell due
    (alert,) = alerts(client, lic)
    assert alert["opened"] == "2026-04-10T14:45:05Z" and alert["emitted"] is False


def test_the_background_tick_runs_due_work(make_app):
    app = make_app(tick_seconds=0.05)
    app.extensions["mockserver"].start_background()
    client = app.test_client()
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 900)
    force(client, lic, "C1", scores={"Obstruction": 0.99})
    upload(client, "C1")
    emulator = app.extensions["mockserver"]
    due = parse_instant("2026-04-10T14:45:05Z")
    emulator.store.transact(lambda conn: emulator.clock.freeze_at(conn, due))
    emulator.wake_background()
    deadline = time.monotonic() + 10
    while not alerts(client, lic) and time.monotonic() < deadline:
        time.sleep(0.05)
    (alert,) = alerts(client, lic)
    assert alert["opened"] == "2026-04-10T14:45:05Z"


@pytest.fixture(scope="module")
def two_workers():
    with LiveServer(workers=2, seed="none") as live:
        yield live


def test_visibility_across_two_workers(two_workers):
    url = two_workers.url
    reply = requests.post(f"{url}/_mock/seed", json=seed_body(), timeout=30)
    assert reply.status_code == 201, reply.text
    (lic,) = [row["id"] for row in reply.json()["accounts"][0]["licenses"]]
    requests.post(f"{url}/_mock/clock", json={"set": START}, timeout=30)
    session = requests.Session()
    session.headers.update(auth(TOKEN))
    sent = session.post(
        f"{url}{CREATE_LOG}",
        data={"camera_id": "C1", "tag": "site-a"},
        files={"upload": ("f.jpg", io.BytesIO(photo()))},
        timeout=30,
    )
    assert sent.status_code == 200, sent.text

    def get(path):
        return session.get(f"{url}{path}", timeout=30)

    def clock(seconds):
        assert requests.post(f"{url}/_mock/clock", json={"advance": seconds}, timeout=60).ok

    clock(4)
    for _ in range(6):  # both workers answer some of these
        assert _views(get, lic) == ABSENT
    clock(1)
    for _ in range(6):
        assert _views(get, lic) == PRESENT


#: the table an earlier version kept accepted uploads in until their log was written
OLD_UPLOADS = (
    "CREATE TABLE va_uploads (id INTEGER PRIMARY KEY, camera_id INTEGER NOT NULL,"
    " media_id INTEGER NOT NULL, uploaded_us BIGINT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0)"
)


def test_an_upload_accepted_before_logs_were_written_at_acceptance(make_app, tmp_path):
    """A store of an earlier version may hold an upload whose log is still to be written
    (a ``va.process`` job): upgraded at start, it gets its log at the job's due time, as
    it would have, tag included."""
    app = make_app(data_dir=str(tmp_path))
    client = app.test_client()
    (lic,) = seed(client, licenses=[{"code": "L1", "size": 5, "cameras": [{"serial": "C1"}]}])
    snapshot = store_media(app, photo())
    c1 = camera_id(app, lic, "C1")
    app.extensions["mockserver"].close()
    uploaded = parse_instant(START)
    with sqlite3.connect(tmp_path / "store.sqlite3") as old:
        old.execute(OLD_UPLOADS)
        old.execute(
            "INSERT INTO va_uploads (id, camera_id, media_id, uploaded_us) VALUES (7, ?, ?, ?)",
            (c1, snapshot, uploaded),
        )
        old.execute(
            "INSERT INTO jobs (kind, key, due_us, payload) VALUES (?, ?, ?, ?)",
            ("va.process", "va.process:7", uploaded + 5_000_000, '{"upload_id":7,"tag":"gate"}'),
        )
        old.execute("UPDATE alembic_version SET version_num = '0006'")
    app = make_app(data_dir=str(tmp_path))
    client = app.test_client()
    assert client.get(f"{VA}/{lic}/cameras/C1/logs/", headers=auth(TOKEN)).json["results"] == []
    advance(client, 5)
    logs = client.get(f"{VA}/{lic}/cameras/C1/logs/", headers=auth(TOKEN)).json["results"]
    assert [(log["status"], log["created"]) for log in logs] == [("normal", START)]
    tags = app.extensions["mockserver"].store.query(
        lambda conn: conn.exec_driver_sql("SELECT tag FROM va_logs").scalars().all()
    )
    assert tags == ["gate"]
    assert camera(client, lic, "C1")["latest_status"] == "normal"
