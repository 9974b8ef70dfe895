"""Alerts: grouping per license and window, emission time, entries, reference at alert time."""

from __future__ import annotations

import io

from sqlalchemy import event

from ..conftest import auth
from .va_support import TOKEN, advance, alerts, force, photo, seed, settings, upload


def _public_alerts(client, lic):
    reply = client.get(f"/v1/vision-alert/{lic}/alerts/", headers=auth(TOKEN))
    assert reply.status_code == 200, reply.json
    return reply.json["results"]


def _seed_cameras(client, *serials, licenses=None):
    licenses = licenses or [{"code": "L1", "size": 10, "cameras": [{"serial": s} for s in serials]}]
    return seed(client, licenses=licenses)


def _start(client, lic, *serials):
    """Every camera uploads a normal frame (becomes its reference)."""
    for serial in serials:
        upload(client, serial)
    advance(client, 5)


def test_cameras_turning_within_one_window_share_one_alert(client):
    (lic,) = _seed_cameras(client, "A", "B", "C")
    _start(client, lic, "A", "B", "C")
    advance(client, 900)
    force(client, lic, "A", scores={"Blur": 0.9})
    upload(client, "A")  # processed at +5 s: opens the alert
    advance(client, 300)
    force(client, lic, "B", scores={"Glare": 0.8})
    upload(client, "B")
    advance(client, 5)
    (pending,) = alerts(client, lic)
    assert pending["emitted"] is False
    assert _public_alerts(client, lic) == []  # not visible before its window closes
    advance(client, 600)
    (alert,) = _public_alerts(client, lic)
    assert alert["license"] == "L1" and alert["sent"] is False
    assert alert["created"] == "2026-04-10T15:00:10Z"  # opened 14:45:10 + 15 min
    entries = {entry["serial"]: entry for entry in alert["cameras"]}
    assert set(entries) == {"A", "B"}
    assert entries["A"]["status"] == "Anomaly" and entries["A"]["anomalies"] == {"Blur": 0.9}
    assert entries["B"]["anomalies"] == {"Glare": 0.8}
    assert entries["A"]["snapshot"].startswith("http://localhost/media/camera_snapshot/")
    assert entries["A"]["reference_image"].startswith("http://localhost/media/camera_reference/")
    # C turns after the window closed: a new alert
    force(client, lic, "C", scores={"Obstruction": 0.99})
    upload(client, "C")
    advance(client, 905)
    public = _public_alerts(client, lic)
    assert [sorted(c["serial"] for c in a["cameras"]) for a in public] == [["C"], ["A", "B"]]


def test_staying_anomalous_raises_no_new_alert(client):
    (lic,) = _seed_cameras(client, "A")
    _start(client, lic, "A")
    force(client, lic, "A", count=3, scores={"Blur": 0.9})
    for _ in range(3):
        advance(client, 900)
        upload(client, "A")
    advance(client, 2000)
    assert len(_public_alerts(client, lic)) == 1


def test_normal_then_anomaly_again_raises_a_new_alert(client):
    (lic,) = _seed_cameras(client, "A")
    _start(client, lic, "A")
    settings(client, alert_window=60)
    for forced in ({"Blur": 0.9}, None, {"Blur": 0.9}):
        if forced:
            force(client, lic, "A", scores=forced)
        advance(client, 900)
        upload(client, "A")
        advance(client, 5)
    advance(client, 100)
    assert len(_public_alerts(client, lic)) == 2


def test_offline_alert_entry(client):
    (lic,) = _seed_cameras(client, "A")
    _start(client, lic, "A")
    advance(client, 3600 + 900)
    (alert,) = _public_alerts(client, lic)
    (entry,) = alert["cameras"]
    assert entry["status"] == "Offline" and entry["anomalies"] == {} and entry["snapshot"] is None
    assert alert["created"] == "2026-04-10T15:45:00Z"


def test_alerts_are_per_license(client):
    licenses = [
        {"code": "L1", "size": 5, "cameras": [{"serial": "A"}]},
        {"code": "L2", "size": 5, "cameras": [{"serial": "B"}]},
    ]
    l1, l2 = _seed_cameras(client, licenses=licenses)
    _start(client, l1, "A", "B")
    advance(client, 900)
    force(client, l1, "A", scores={"Blur": 0.9})
    force(client, l2, "B", scores={"Blur": 0.9})
    upload(client, "A")
    upload(client, "B")
    advance(client, 1000)
    assert [c["serial"] for a in _public_alerts(client, l1) for c in a["cameras"]] == ["A"]
    assert [c["serial"] for a in _public_alerts(client, l2) for c in a["cameras"]] == ["B"]


def test_reference_image_is_the_one_at_alert_time(client):
    (lic,) = _seed_cameras(client, "A")
    _start(client, lic, "A")
    advance(client, 900)
    force(client, lic, "A", scores={"Blur": 0.9})
    upload(client, "A")
    advance(client, 905)
    (alert,) = _public_alerts(client, lic)
    before = alert["cameras"][0]["reference_image"]
    reply = client.post(
        f"/v1/vision-alert/{lic}/cameras/A/reference/",
        data={"upload": (io.BytesIO(photo(800)), "new.jpg")},
        headers=auth(TOKEN),
    )
    assert reply.status_code == 201
    current = client.get(f"/v1/vision-alert/{lic}/cameras/A/reference/", headers=auth(TOKEN))
    assert current.json["reference_image"] != before
    (alert,) = _public_alerts(client, lic)
    assert alert["cameras"][0]["reference_image"] == before
    assert client.get(before.removeprefix("http://localhost")).status_code == 200


def _offline_alerts(client, count):
    """``count`` licenses whose one camera goes offline: one alert each."""
    licenses = [
        {"code": f"L{n}", "size": 1, "cameras": [{"serial": f"S{n}"}]} for n in range(count)
    ]
    seed(client, licenses=licenses)
    for n in range(count):
        upload(client, f"S{n}")
    advance(client, 3600 + 900)
    assert len(alerts(client)) == count


def _statements_of_listing(app, client) -> int:
    engine = app.extensions["mockserver"].store.engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        reply = client.get("/_mock/visionalert/alerts")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert reply.status_code == 200, reply.json
    return len(seen)


def test_the_alert_listing_costs_the_same_for_two_alerts_as_for_eight(make_app):
    counts = []
    for count in (2, 8):
        app = make_app()
        client = app.test_client()
        _offline_alerts(client, count)
        counts.append(_statements_of_listing(app, client))
    assert counts[0] == counts[1]


def test_an_alert_deleted_while_the_listing_reads_is_left_out(app, client):
    _offline_alerts(client, 3)
    engine = app.extensions["mockserver"].store.engine
    reads = []

    def delete_the_newest(conn, cursor, statement, parameters, context, executemany):
        """Once the list has been read, the newest alert goes (as a reset on another
        host would take it): the listing reads on."""
        if "va_alerts" not in statement or statement.lstrip().upper().startswith("DELETE"):
            return
        reads.append(statement)
        if len(reads) == 2:
            raw = cursor.connection
            newest = raw.execute("SELECT max(id) FROM va_alerts").fetchone()[0]
            raw.execute(f"DELETE FROM va_alert_cameras WHERE alert_id = {int(newest)}")
            raw.execute(f"DELETE FROM va_alerts WHERE id = {int(newest)}")

    event.listen(engine, "before_cursor_execute", delete_the_newest)
    try:
        reply = client.get("/_mock/visionalert/alerts")
    finally:
        event.remove(engine, "before_cursor_execute", delete_the_newest)
    assert reply.status_code == 200, reply.json
    assert 2 <= len(reply.json["alerts"]) <= 3
    assert all(alert["cameras"] for alert in reply.json["alerts"])
