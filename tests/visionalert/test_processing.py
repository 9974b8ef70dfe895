"""Processing on the emulator clock: when logs appear, every status rule, reference adoption."""

from __future__ import annotations

from mockserver.visionalert import scoring

from ..conftest import BOTH_BACKENDS, auth
from .va_support import TOKEN, advance, camera, force, noise_image, photo, seed, settings, upload

pytestmark = BOTH_BACKENDS


def _logs(client, lic, serial="C1"):
    reply = client.get(f"/v1/vision-alert/{lic}/cameras/{serial}/logs/", headers=auth(TOKEN))
    assert reply.status_code == 200, reply.json
    return reply.json["results"]


def test_log_appears_after_processing_delay_created_at_upload_time(client):
    (lic,) = seed(client)
    assert upload(client, "C1").status_code == 200
    assert _logs(client, lic) == []
    advance(client, 4)
    assert _logs(client, lic) == []
    advance(client, 1)
    (log,) = _logs(client, lic)
    assert log["created"] == "2026-04-10T14:30:00Z"
    assert log["status"] == "normal" and log["anomalies"] == {}
    assert log["snapshot"].startswith("http://localhost/media/camera_snapshot/")
    assert client.get(log["snapshot"].removeprefix("http://localhost")).status_code == 200


def test_one_hour_always_shows_the_log(client):
    (lic,) = seed(client)
    settings(client, processing_delay=3599)
    upload(client, "C1")
    advance(client, 3600)
    assert "normal" in [log["status"] for log in _logs(client, lic)]


def test_no_data_before_the_first_log(client):
    (lic,) = seed(client, licenses=[{"code": "L1", "size": 5, "cameras": [{"serial": "C1"}]}])
    reply = client.get(f"/v1/vision-alert/{lic}/cameras/?status=no_data", headers=auth(TOKEN))
    assert [row["serial"] for row in reply.json["results"]] == ["C1"]
    assert reply.json["results"][0]["latest_status"] is None
    assert camera(client, lic, "C1")["latest_status"] is None


def test_first_normal_upload_becomes_the_reference(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    state = camera(client, lic, "C1")
    assert state["has_reference"] is True
    assert "Position change" not in state["logs"][0]["scores"]  # no reference when scored
    reply = client.get(f"/v1/vision-alert/{lic}/cameras/C1/reference/", headers=auth(TOKEN))
    assert reply.json["reference_image"].startswith("http://localhost/media/camera_reference/")
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    latest = camera(client, lic, "C1")["logs"][0]
    assert latest["status"] == "normal"
    assert latest["scores"]["Position change"] < 0.5


def test_anomalous_first_upload_is_not_adopted(client):
    (lic,) = seed(client, licenses=[{"code": "L1", "size": 5, "cameras": [{"serial": "C1"}]}])
    force(client, lic, "C1", scores={"Blur": 0.9})
    upload(client, "C1")
    advance(client, 5)
    state = camera(client, lic, "C1")
    assert state["logs"][0]["status"] == "anomaly"
    assert state["has_reference"] is False
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    state = camera(client, lic, "C1")
    assert state["logs"][0]["status"] == "normal"
    assert state["has_reference"] is True


def test_forced_scores_anomaly_lists_only_scores_above_threshold(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    force(client, lic, "C1", scores={"Blur": 0.91, "Glare": 0.3})
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    (log, _) = _logs(client, lic)
    assert log["status"] == "anomaly"
    assert log["anomalies"] == {"Blur": 0.91}
    assert camera(client, lic, "C1")["latest_status"] == "anomaly"


def test_per_camera_thresholds(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    path = f"/_mock/visionalert/licenses/{lic}/cameras/C1/thresholds"
    reply = client.post(path, json={"Blur": 0.95})
    assert reply.status_code == 200
    assert reply.json["thresholds"]["Blur"] == 0.95 and reply.json["thresholds"]["Glare"] == 0.5
    assert client.post(path, json={"Blur": 2}).status_code == 400
    assert client.post(path, json={"Nope": 0.2}).status_code == 400
    force(client, lic, "C1", scores={"Blur": 0.8})
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    assert _logs(client, lic)[0]["status"] == "normal"
    client.post(path, json={"Blur": None})
    assert client.get(path).json["thresholds"]["Blur"] == 0.5


def test_under_review_and_resolution(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    force(client, lic, "C1", scores={"Blur": 0.53})
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    log = camera(client, lic, "C1")["logs"][0]
    assert log["status"] == "under_review" and log["anomalies"] == {"Blur": 0.53}
    reply = client.post(f"/_mock/visionalert/logs/{log['id']}/resolve", json={"status": "anomaly"})
    assert reply.status_code == 200 and reply.json["status"] == "anomaly"
    assert camera(client, lic, "C1")["latest_status"] == "anomaly"
    again = client.post(f"/_mock/visionalert/logs/{log['id']}/resolve", json={"status": "normal"})
    assert again.status_code == 409
    assert (
        client.post("/_mock/visionalert/logs/999/resolve", json={"status": "normal"}).status_code
        == 404
    )
    bad = client.post(f"/_mock/visionalert/logs/{log['id']}/resolve", json={"status": "maybe"})
    assert bad.status_code == 400


def test_under_review_below_threshold_resolved_normal(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    force(client, lic, "C1", scores={"Glare": 0.47})
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    log = camera(client, lic, "C1")["logs"][0]
    assert log["status"] == "under_review" and log["anomalies"] == {}
    client.post(f"/_mock/visionalert/logs/{log['id']}/resolve", json={"status": "normal"})
    assert camera(client, lic, "C1")["latest_status"] == "normal"


def test_clear_anomaly_beats_review(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    force(client, lic, "C1", scores={"Blur": 0.52, "Glare": 0.9})
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    log = camera(client, lic, "C1")["logs"][0]
    assert log["status"] == "anomaly" and log["anomalies"] == {"Blur": 0.52, "Glare": 0.9}


def test_review_band_is_a_setting(client):
    (lic,) = seed(client)
    settings(client, review_band=0)
    upload(client, "C1")
    advance(client, 5)
    force(client, lic, "C1", scores={"Blur": 0.52})
    advance(client, 900)
    upload(client, "C1")
    advance(client, 5)
    assert camera(client, lic, "C1")["logs"][0]["status"] == "anomaly"


def test_small_image_is_config_issue(client):
    (lic,) = seed(client)
    upload(client, "C1", noise_image(300, 200))
    advance(client, 5)
    (log,) = _logs(client, lic)
    assert log["status"] == "config_issue" and log["anomalies"] == {}
    assert camera(client, lic, "C1")["has_reference"] is False


def test_processing_failure_is_pending_retry_then_retried(client):
    (lic,) = seed(client)
    upload(client, "C1")
    force(client, lic, "C1", fail=True)
    advance(client, 5)
    (log,) = _logs(client, lic)
    assert log["status"] == "pending_retry"
    assert camera(client, lic, "C1")["latest_status"] == "pending_retry"
    advance(client, 59)
    assert _logs(client, lic)[0]["status"] == "pending_retry"
    advance(client, 1)
    (log,) = _logs(client, lic)  # the same log, now processed
    assert log["status"] == "normal" and log["created"] == "2026-04-10T14:30:00Z"


def test_offline_once_per_outage_at_the_crossing_moment(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 3599)
    assert [log["status"] for log in _logs(client, lic)] == ["normal"]
    advance(client, 1)
    logs = _logs(client, lic)
    assert [log["status"] for log in logs] == ["offline", "normal"]
    assert logs[0]["created"] == "2026-04-10T15:30:00Z"
    assert logs[0]["snapshot"] is None and logs[0]["anomalies"] == {}
    assert camera(client, lic, "C1")["latest_status"] == "offline"
    advance(client, 5 * 3600)
    assert len(_logs(client, lic)) == 2
    upload(client, "C1")  # back online, then silent again: a second outage
    advance(client, 3605)
    assert [log["status"] for log in _logs(client, lic)] == [
        "offline",
        "normal",
        "offline",
        "normal",
    ]


def test_uploads_keep_a_camera_online(client):
    (lic,) = seed(client)
    for _ in range(6):
        upload(client, "C1")
        advance(client, 900)
    assert {log["status"] for log in _logs(client, lic)} == {"normal"}


def test_seeded_camera_never_uploading_is_not_offline(client):
    (lic,) = seed(client, licenses=[{"code": "L1", "size": 5, "cameras": [{"serial": "C1"}]}])
    advance(client, 10 * 3600)
    assert _logs(client, lic) == []


def test_forced_scores_validation(client):
    (lic,) = seed(client)
    upload(client, "C1")
    path = f"/_mock/visionalert/licenses/{lic}/cameras/C1/forced-scores"
    for body in (
        {},
        {"scores": {"Blur": 1.5}},
        {"scores": {"Bogus": 0.5}},
        {"scores": {"Blur": 0.5}, "count": 0},
        {"scores": {"Blur": 0.5}, "fail": True},
        {"fail": "yes"},
    ):
        assert client.post(path, json=body).status_code == 400, body
    assert (
        client.post(
            f"/_mock/visionalert/licenses/{lic}/cameras/NOPE/forced-scores", json={"fail": True}
        ).status_code
        == 404
    )
    assert client.get(path).json["queue"] == []


def test_forced_scores_cover_the_next_n_analyses(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 5)
    force(client, lic, "C1", count=2, scores={"Obstruction": 0.99})
    for _ in range(3):
        advance(client, 900)
        upload(client, "C1")
        advance(client, 5)
    statuses = [log["status"] for log in _logs(client, lic)]
    assert statuses == ["normal", "anomaly", "anomaly", "normal"]
    assert photo()  # the same bytes every time


def test_judging_a_pending_log_again_decodes_no_image_inside_a_write_transaction(
    app, client, monkeypatch
):
    """Forced scores, thresholds and settings judge pending logs again inside a write
    transaction (every other writer waits for it): the images were decoded before."""
    (lic,) = seed(client)
    upload(client, "C1", content=photo())  # adopted as the reference
    advance(client, 900)
    upload(client, "C1", content=photo(700))  # its log appears in 5 s
    store = app.extensions["mockserver"].store
    writing: list[bool] = []
    decoded_while_writing: list[int] = []
    real_transact, real_analyse = store.transact, scoring.analyse

    def transact(work, *args, **kwargs):
        writing.append(True)
        try:
            return real_transact(work, *args, **kwargs)
        finally:
            writing.pop()

    def analyse(content: bytes):
        if writing:
            decoded_while_writing.append(len(content))
        return real_analyse(content)

    monkeypatch.setattr(store, "transact", transact)
    monkeypatch.setattr(scoring, "analyse", analyse)
    force(client, lic, "C1", scores={"Blur": 0.9})
    settings(client, review_band=0.04)
    advance(client, 5)
    log, _ = _logs(client, lic)
    assert log["status"] == "anomaly" and log["anomalies"] == {"Blur": 0.9}
    assert decoded_while_writing == []
