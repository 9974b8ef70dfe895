"""Resource bounds, each tested at its edge: exactly at the limit passes, one over fails.

* upload limit (``MOCKSERVER_UPLOAD_LIMIT`` / ``--upload-limit``): request body bytes;
* pixel limit (``MOCKSERVER_PIXEL_LIMIT``): decoded pixels of an image;
* request journal ring (``MOCKSERVER_JOURNAL_SIZE``): rows kept;
* webhook queue (``MOCKSERVER_WEBHOOK_QUEUE``): deliveries waiting, retries included.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests

from mockserver import Config
from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

from ..bad_inputs import multipart
from ..conftest import auth
from ..images import solid

TOKEN = "tok-limits"
START = "2026-04-10T14:30:00Z"
CREATE_LOG = "/v1/vision-alert/create-log/"
README = Path(__file__).resolve().parents[2] / "README.md"


def seed(licenses: int = 1, webhook: str | None = None) -> dict:
    return seeds.world(
        seeds.account(
            TOKEN,
            licenses=[
                seeds.license(
                    f"LIC-{n}", size=10, webhook_url=webhook, cameras=[seeds.camera(f"CAM-{n}")]
                )
                for n in range(licenses)
            ],
        )
    )


def png(width: int, height: int) -> bytes:
    return solid((width, height), (10, 200, 30), "PNG")


def start(make_app, **config):
    chosen_seed = config.pop("_seed", None) or seed()
    app = make_app(**config)
    client = app.test_client()
    reply = client.post("/_mock/seed", json=chosen_seed)
    assert reply.status_code == 201, reply.json
    client.post("/_mock/clock", json={"set": START})
    return client, [lic["id"] for lic in reply.json["accounts"][0]["licenses"]]


def upload_body(serial: str, content: bytes, padding: int = 0) -> tuple[bytes, str]:
    return multipart({"camera_id": serial, "tag": "t" * padding, "upload": ("s.png", content)})


# -- upload limit ---------------------------------------------------------------------------


def test_upload_limit_edge_multipart(make_app):
    body, ctype = upload_body("EDGE", png(400, 300))
    at_limit, _ = start(make_app, upload_limit=len(body))
    reply = at_limit.post(CREATE_LOG, data=body, content_type=ctype, headers=auth(TOKEN))
    assert reply.status_code == 200, reply.json
    one_under, _ = start(make_app, upload_limit=len(body) - 1)
    reply = one_under.post(CREATE_LOG, data=body, content_type=ctype, headers=auth(TOKEN))
    assert reply.status_code == 413
    assert reply.json == {"detail": "Request body is larger than the upload limit."}
    assert one_under.get("/v1/vision-alert/1/cameras/", headers=auth(TOKEN)).json["results"][0][
        "serial"
    ] == "CAM-0"  # fmt: skip
    assert (
        len(one_under.get("/v1/vision-alert/1/cameras/", headers=auth(TOKEN)).json["results"]) == 1
    )


def test_upload_limit_edge_json(make_app):
    body = b'{"code": "C1", "name": "n", "notes": "' + b"n" * 5000 + b'"}'
    at_limit, _ = start(make_app, upload_limit=len(body))
    headers = {**auth(TOKEN), "Content-Type": "application/json"}
    assert at_limit.post("/api/v1/create-camera/", data=body, headers=headers).status_code == 200
    over, _ = start(make_app, upload_limit=len(body) - 1)
    reply = over.post("/api/v1/create-camera/", data=body, headers=headers)
    assert reply.status_code == 413 and reply.mimetype == "application/json"
    assert over.get("/api/v1/parking-list/", headers=auth(TOKEN)).json == []


# -- pixel limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["create-log", "reference", "log-vehicle"])
def test_pixel_limit_edge(make_app, endpoint):
    width, height = 400, 300
    image = png(width, height)
    for limit, expected in ((width * height, (200, 201)), (width * height - 1, (400,))):
        client, (license_id,) = start(make_app, pixel_limit=limit)
        if endpoint == "create-log":
            reply = client.post(
                CREATE_LOG,
                headers=auth(TOKEN),
                data={"camera_id": "CAM-0", "upload": (io.BytesIO(image), "a.png")},
            )
            field = "upload"
        elif endpoint == "reference":
            reply = client.post(
                f"/v1/vision-alert/{license_id}/cameras/CAM-0/reference/",
                headers=auth(TOKEN),
                data={"upload": (io.BytesIO(image), "a.png")},
            )
            field = "upload"
        else:
            reply = client.post(
                "/api/v1/log-vehicle/",
                headers=auth(TOKEN),
                data={"camera": "G", "results": '[{"plate": "ABC1"}]',
                      "image": (io.BytesIO(image), "a.png")},
            )  # fmt: skip
            field = "image"
        assert reply.status_code in expected, (limit, reply.json)
        if reply.status_code == 400:
            assert reply.json == {
                field: [
                    f"Image too large: {width}x{height} pixels exceeds the limit of {limit} pixels."
                ]
            }


# -- request journal ring -------------------------------------------------------------------


def test_journal_ring_edge(make_app):
    size = 5
    client, _ = start(make_app, journal_size=size)
    client.delete("/_mock/requests")
    paths = [f"/api/v1/parking-list/?n={n}" for n in range(size + 1)]
    for path in paths[:size]:
        assert client.get(path, headers=auth(TOKEN)).status_code == 200
    rows = client.get("/_mock/requests?limit=1000").json["requests"]
    assert [row["query"] for row in rows] == [f"n={n}" for n in range(size)]  # all kept
    assert client.get(paths[size], headers=auth(TOKEN)).status_code == 200
    rows = client.get("/_mock/requests?limit=1000").json["requests"]
    assert [row["query"] for row in rows] == [f"n={n}" for n in range(1, size + 1)]  # oldest out


def test_journal_off(make_app):
    client, _ = start(make_app, journal_size=0)
    client.get("/api/v1/parking-list/", headers=auth(TOKEN))
    assert client.get("/_mock/requests").json["count"] == 0


# -- webhook queue --------------------------------------------------------------------------


def _alerts_with_webhooks(make_app, licenses: int, queue: int) -> list[dict]:
    """One anomaly alert per license; the webhook receiver is never called (no tick)."""
    client, license_ids = start(
        make_app,
        webhook_queue=queue,
        _seed=seed(licenses, webhook="http://127.0.0.1:9/hook"),
    )
    for n, license_id in enumerate(license_ids):
        camera = f"/_mock/visionalert/licenses/{license_id}/cameras/CAM-{n}"
        reply = client.post(f"{camera}/forced-scores", json={"scores": {"Blur": 0.95}})
        assert reply.status_code == 201, reply.json
        reply = client.post(
            CREATE_LOG,
            headers=auth(TOKEN),
            data={"camera_id": f"CAM-{n}", "upload": (io.BytesIO(png(400, 300)), "a.png")},
        )
        assert reply.status_code == 200, reply.json
    client.post("/_mock/clock", json={"advance": 1000})  # processed, alert window closed
    alerts = client.get("/_mock/visionalert/alerts").json
    alerts = alerts.get("alerts", alerts) if isinstance(alerts, dict) else alerts
    assert len([a for a in alerts if a.get("emitted", True)]) == licenses, alerts
    deliveries = client.get("/_mock/visionalert/deliveries").json
    return deliveries.get("deliveries", deliveries) if isinstance(deliveries, dict) else deliveries


def test_webhook_queue_edge(make_app):
    at_limit = _alerts_with_webhooks(make_app, licenses=3, queue=3)
    assert not [d for d in at_limit if "queue full" in (d.get("error") or "")], at_limit
    over = _alerts_with_webhooks(make_app, licenses=3, queue=2)
    dropped = [d for d in over if "queue full" in (d.get("error") or "")]
    assert len(dropped) == 1, over
    assert dropped[0]["ok"] is False and dropped[0]["channel"] == "webhook"


# -- configuration and documentation --------------------------------------------------------

LIMITS = {
    "upload_limit": "MOCKSERVER_UPLOAD_LIMIT",
    "pixel_limit": "MOCKSERVER_PIXEL_LIMIT",
    "journal_size": "MOCKSERVER_JOURNAL_SIZE",
    "webhook_queue": "MOCKSERVER_WEBHOOK_QUEUE",
}


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_each_limit_is_an_env_var_and_documented(monkeypatch, name):
    monkeypatch.setenv(LIMITS[name], "1234")
    assert getattr(Config.from_env(), name) == 1234
    readme = README.read_text(encoding="utf-8")
    assert re.search(rf"`{LIMITS[name]}`[^\n]*\|", readme), f"{LIMITS[name]} not in README"
    assert "## Reliability and limits" in readme


def test_limits_reach_a_real_server_through_the_environment():
    """``mockserver serve`` (granian, a worker process) honours the env vars at the edge."""
    body, ctype = upload_body("LIVE", png(320, 240), padding=10)
    env = {"MOCKSERVER_UPLOAD_LIMIT": str(len(body)), "MOCKSERVER_PIXEL_LIMIT": str(320 * 240)}
    with LiveServer(seed="none", env=env) as live:
        requests.post(f"{live.url}/_mock/seed", json=seed())
        requests.post(f"{live.url}/_mock/clock", json={"set": START})
        headers = {**auth(TOKEN), "Content-Type": ctype}
        url = live.url + CREATE_LOG
        assert requests.post(url, data=body, headers=headers).status_code == 200
        over, _ = upload_body("LIVE2", png(320, 240), padding=11)
        reply = requests.post(url, data=over, headers=headers)
        assert reply.status_code == 413 and reply.json()["detail"]
        bigger, _ = upload_body("LIVE3", png(321, 240))
        reply = requests.post(url, data=bigger, headers=headers)
        assert reply.status_code == 400 and "Image too large" in reply.json()["upload"][0]
