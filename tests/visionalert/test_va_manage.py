"""Deleting a camera and managing its reference image, through HTTP."""

from __future__ import annotations

import io
import json
import os

import pytest
from sqlalchemy import func, select

from mockserver.core import duework
from mockserver.visionalert import schema
from mockserver.visionalert.alerts import EMIT
from mockserver.visionalert.judging import OFFLINE, RETRY, TURNED

from ..conftest import auth
from .va_rows import (
    VA,
    camera_id,
    get,
    image_bytes,
    insert_alert,
    insert_log,
    relative,
    seed_account,
    set_clock,
    store_media,
    world,
)

INVALID_IMAGE = (
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
)


@pytest.fixture
def lic(client):
    set_clock(client, "2026-04-10T14:00:00Z")
    ids = seed_account(
        client,
        "tok-a",
        [
            {
                "code": "LIC-A",
                "cameras": [
                    {"serial": "C1", "name": "Front", "tags": ["site-a"]},
                    {"serial": "C2", "name": "Back"},
                ],
            }
        ],
    )
    seed_account(client, "tok-b", [{"code": "LIC-Z", "cameras": [{"serial": "Z1"}]}])
    return ids["LIC-A"]


def post_reference(client, lic, serial, content=None, token="tok-a", name="ref.png", **fields):
    data = dict(fields)
    if content is not None:
        data["upload"] = (io.BytesIO(content), name)
    return client.post(
        f"{VA}/{lic}/cameras/{serial}/reference/",
        headers=auth(token),
        data=data,
        content_type="multipart/form-data",
    )


def reference_url(client, lic, serial):
    reply = get(client, f"{VA}/{lic}/cameras/{serial}/reference/")
    assert reply.status_code == 200, reply.json
    assert list(reply.json) == ["reference_image"]
    return reply.json["reference_image"]


def count(app, table, *where) -> int:
    query = select(func.count()).select_from(table).where(*where)
    return world(app).store.query(lambda conn: conn.execute(query).scalar_one())


def media_file(app, media_id: int) -> str:
    emu = world(app)
    sha = emu.store.query(
        lambda conn: conn.execute(
            select(schema.media.c.sha256).where(schema.media.c.id == media_id)
        ).scalar_one()
    )
    return emu.media.path(sha)


# -- reference image ------------------------------------------------------------------------


def test_reference_get_set_and_history(client, app, lic):
    assert reference_url(client, lic, "C1") is None
    png = image_bytes((1, 2, 3), fmt="PNG")
    reply = post_reference(client, lic, "C1", png)
    assert reply.status_code == 201
    assert reply.json == {"message": "Reference image updated."}
    first = reference_url(client, lic, "C1")
    assert first.startswith("http://localhost/media/camera_reference/") and first.endswith(".png")
    image = client.get(relative(first))
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == png

    jpeg = image_bytes((200, 100, 50), fmt="JPEG")
    assert post_reference(client, lic, "C1", jpeg, name="ref.jpg").status_code == 201
    second = reference_url(client, lic, "C1")
    assert second != first and second.endswith(".jpg")
    assert client.get(relative(second)).mimetype == "image/jpeg"
    # the old one is kept for alerts that show it
    assert client.get(relative(first)).status_code == 200
    cid = camera_id(app, lic, "C1")
    assert count(app, schema.va_references, schema.va_references.c.camera_id == cid) == 2
    assert reference_url(client, lic, "C2") is None  # per camera


def test_reference_without_trailing_slash(client, lic):
    reply = client.post(
        f"{VA}/{lic}/cameras/C1/reference",
        headers=auth("tok-a"),
        data={"upload": (io.BytesIO(image_bytes()), "r.png")},
    )
    assert reply.status_code == 201
    assert get(client, f"{VA}/{lic}/cameras/C1/reference").json["reference_image"]


@pytest.mark.parametrize(
    "content,fields,message",
    [
        (None, {}, "No file was submitted."),
        (
            None,
            {"upload": "not a file"},
            "The submitted data was not a file. Check the encoding type on the form.",
        ),
        (b"", {}, "The submitted file is empty."),
        (b"definitely not an image", {}, INVALID_IMAGE),
        (image_bytes(fmt="PNG")[:40], {}, INVALID_IMAGE),  # truncated
    ],
)
def test_reference_bad_upload_is_400_and_changes_nothing(
    client, app, lic, content, fields, message
):
    assert post_reference(client, lic, "C1", image_bytes()).status_code == 201
    before = reference_url(client, lic, "C1")
    reply = post_reference(client, lic, "C1", content, **fields)
    assert reply.status_code == 400
    assert reply.json == {"upload": [message]}
    assert reference_url(client, lic, "C1") == before
    assert count(app, schema.va_references) == 1


def test_reference_json_body_is_no_file(client, lic):
    reply = client.post(
        f"{VA}/{lic}/cameras/C1/reference/", headers=auth("tok-a"), json={"other": 1}
    )
    assert reply.status_code == 400
    assert reply.json == {"upload": ["No file was submitted."]}


def test_reference_tenancy_comes_before_validation(client, app, lic):
    zlic = get(client, f"{VA}/licenses/", "tok-b").json[0]["id"]
    reply = post_reference(client, zlic, "Z1", b"junk")
    assert reply.status_code == 403
    reply = post_reference(client, lic, "NOPE", b"junk")
    assert reply.status_code == 404 and reply.json == {"detail": "Not found."}
    reply = post_reference(client, "abc", "C1", image_bytes())
    assert reply.status_code == 404
    assert count(app, schema.va_references) == 0


# -- delete ---------------------------------------------------------------------------------


def test_delete_camera_removes_its_data_and_files_but_alerts_stay(client, app, lic):
    emu = world(app)
    c1, c2 = camera_id(app, lic, "C1"), camera_id(app, lic, "C2")
    # references through the API: r1 (shown by an alert), then r2 (current)
    post_reference(client, lic, "C1", image_bytes((10, 10, 10)))
    r1 = emu.store.query(
        lambda conn: conn.execute(select(schema.va_references.c.media_id)).scalar_one()
    )
    post_reference(client, lic, "C1", image_bytes((20, 20, 20)))
    r2 = emu.store.query(
        lambda conn: conn.execute(
            select(schema.va_references.c.media_id).order_by(schema.va_references.c.id.desc())
        ).first()[0]
    )
    shared = image_bytes((30, 30, 30))
    s1 = store_media(app, shared)  # C1's log; the same bytes as C2's snapshot
    s2 = store_media(app, image_bytes((40, 40, 40)))  # C1's log, shown by an alert
    s3 = store_media(app, shared)  # C2's log
    up = store_media(app, image_bytes((50, 50, 50)))  # an upload of C1 whose log is pending
    insert_log(app, lic, "C1", "2026-04-10T14:10:00Z", "normal", None, s1)
    insert_log(app, lic, "C1", "2026-04-10T14:20:00Z", "anomaly", {"Blur": 0.9}, s2)
    insert_log(app, lic, "C2", "2026-04-10T14:25:00Z", "normal", None, s3)
    alert = insert_alert(
        app,
        lic,
        "2026-04-10T14:30:00Z",
        [{"serial": "C1", "name": "Front", "snapshot_id": s2, "reference_id": r1}],
    )

    def pending(conn):
        far = 10**17
        log_id = conn.execute(  # written at acceptance, not appeared yet
            schema.va_logs.insert().values(
                license_id=lic, camera_id=c1, status="anomaly", snapshot_id=up,
                created_us=far - 5_000_000, visible_us=far,
            )
        ).inserted_primary_key[0]  # fmt: skip
        payload = {"log_id": log_id, "camera_id": c1}
        duework.schedule(conn, TURNED, far, payload, key=f"{TURNED}:{log_id}")
        duework.schedule(conn, RETRY, far, payload, key=f"{RETRY}:{log_id}")
        duework.schedule(conn, OFFLINE, far, {"camera_id": c1}, key=f"{OFFLINE}:{c1}")
        duework.schedule(conn, OFFLINE, far, {"camera_id": c2}, key=f"{OFFLINE}:{c2}")
        duework.schedule(conn, EMIT, far, {"alert_id": alert}, key=f"{EMIT}:{alert}")
        # another kind whose payload happens to name the camera is not the camera's work
        duework.schedule(conn, "other.job", far, {"camera_id": c1}, key="other:1")
        return log_id

    log_id = emu.store.transact(pending)
    gone = [media_file(app, m) for m in (r2, up)]
    kept = {m: media_file(app, m) for m in (r1, s2, s3)}
    alert_before = get(client, f"{VA}/{lic}/alerts/").json["results"]

    reply = client.delete(f"{VA}/{lic}/cameras/C1/", headers=auth("tok-a"))
    assert reply.status_code == 204
    assert reply.data == b""

    assert [c["serial"] for c in get(client, f"{VA}/{lic}/cameras/").json["results"]] == ["C2"]
    assert [log["camera_serial"] for log in get(client, f"{VA}/{lic}/logs/").json["results"]] == [
        "C2"
    ]
    assert get(client, f"{VA}/{lic}/cameras/C1/logs/").status_code == 404
    assert get(client, f"{VA}/{lic}/cameras/C1/reference/").status_code == 404
    assert client.delete(f"{VA}/{lic}/cameras/C1/", headers=auth("tok-a")).status_code == 404
    for table in (schema.va_logs, schema.va_references):
        assert count(app, table, table.c.camera_id == c1) == 0
    assert count(app, schema.va_camera_tags, schema.va_camera_tags.c.camera_id == c1) == 0
    for path in gone:
        assert not os.path.exists(path)
    for path in kept.values():
        assert os.path.exists(path)
    assert count(app, schema.media, schema.media.c.id.in_([s1, r2, up])) == 0
    # the alert and its images are history: unchanged and still served
    alerts = get(client, f"{VA}/{lic}/alerts/").json["results"]
    assert alerts == alert_before
    for url in (alerts[0]["cameras"][0]["snapshot"], alerts[0]["cameras"][0]["reference_image"]):
        assert client.get(relative(url)).status_code == 200
    # pending work of the camera is cancelled; other work stays
    keys = emu.store.query(lambda conn: set(conn.execute(select(schema.jobs.c.key)).scalars()))
    assert {f"{OFFLINE}:{c2}", f"{EMIT}:{alert}", "other:1"} <= keys
    assert not keys & {f"{OFFLINE}:{c1}", f"{TURNED}:{log_id}", f"{RETRY}:{log_id}"}


def test_delete_tenancy(client, lic):
    zlic = get(client, f"{VA}/licenses/", "tok-b").json[0]["id"]
    reply = client.delete(f"{VA}/{zlic}/cameras/Z1/", headers=auth("tok-a"))
    assert reply.status_code == 403
    assert reply.json == {"detail": "You do not have permission to perform this action."}
    assert client.delete(f"{VA}/999/cameras/C1/", headers=auth("tok-a")).status_code == 404
    assert client.delete(f"{VA}/{lic}/cameras/Z1/", headers=auth("tok-a")).status_code == 404
    assert client.delete(f"{VA}/{lic}/cameras/C1/").status_code == 401
    assert client.delete(f"{VA}/{lic}/cameras/C1", headers=auth("tok-a")).status_code == 204
    assert get(client, f"{VA}/{zlic}/cameras/", "tok-b").json["results"][0]["serial"] == "Z1"


def test_delete_with_an_upload_in_flight(client, app, lic):
    """Uploaded through create-log, deleted before processing: nothing comes back."""
    headers = auth("tok-a")
    c1 = camera_id(app, lic, "C1")
    content = image_bytes((90, 120, 150), size=(640, 480), fmt="JPEG")
    reply = client.post(
        f"{VA}/create-log/",
        headers=headers,
        data={"camera_id": "C1", "upload": (io.BytesIO(content), "a.jpg")},
    )
    assert reply.status_code == 200, reply.json
    assert _files(app)
    assert client.delete(f"{VA}/{lic}/cameras/C1/", headers=headers).status_code == 204
    assert _files(app) == []  # the upload's image had no other owner
    payloads = world(app).store.query(
        lambda conn: [json.loads(p) for p in conn.execute(select(schema.jobs.c.payload)).scalars()]
    )
    assert not [p for p in payloads if p.get("camera_id") == c1 or "upload_id" in p]
    client.post("/_mock/clock", json={"advance": 2 * 3600})
    reply = get(client, f"{VA}/{lic}/logs/")
    assert reply.status_code == 200 and reply.json["results"] == []
    assert [c["serial"] for c in get(client, f"{VA}/{lic}/cameras/").json["results"]] == ["C2"]


def _files(app) -> list[str]:
    root = world(app).media.root
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
