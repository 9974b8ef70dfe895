"""create-log through HTTP: every status code and message, both rate limits, the order of
checks, camera registration and tags, and atomic acceptance across worker processes."""

from __future__ import annotations

import io
import threading

import pytest
import requests
from PIL import Image

from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

from ..conftest import BOTH_BACKENDS, auth
from .va_support import (
    CREATE_LOG,
    START,
    TOKEN,
    advance,
    camera,
    jpeg_bytes,
    noise_image,
    photo,
    seed,
    settings,
    upload,
)

pytestmark = BOTH_BACKENDS

OK = {"message": "Log created successfully."}
TOO_SOON = {"message": "Camera already uploaded a log recently."}
NOT_IMAGE = (
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
)


def test_accepted_with_and_without_trailing_slash(client):
    seed(client)
    reply = upload(client, "C1")
    assert reply.status_code == 200 and reply.json == OK
    assert reply.mimetype == "application/json"
    data = {"camera_id": "C2", "upload": (io.BytesIO(photo()), "x.jpg")}
    reply = client.post(CREATE_LOG.rstrip("/"), data=data, headers=auth(TOKEN))
    assert reply.status_code == 200 and reply.json == OK


def test_auth_errors(client):
    seed(client)
    reply = client.post(CREATE_LOG, data={"camera_id": "C1"})
    assert reply.status_code == 401
    assert reply.json == {"detail": "Authentication credentials were not provided."}
    reply = upload(client, "C1", token="nope")
    assert reply.status_code == 401 and reply.json == {"detail": "Invalid token."}
    assert reply.headers["WWW-Authenticate"] == "Token"


def test_product_not_enabled_is_403(client):
    seed(client, token="pp-only", products=("parkpow",), licenses=[])
    reply = upload(client, "C1", token="pp-only")
    assert reply.status_code == 403
    assert reply.json == {"detail": "VisionAlert is not enabled for your account."}


@pytest.mark.parametrize(
    "data, errors",
    [
        ({"camera_id": "C1"}, {"upload": ["No file was submitted."]}),
        ({}, {"camera_id": ["This field is required."], "upload": ["No file was submitted."]}),
        (
            {"camera_id": "C1", "upload": "not-a-file"},
            {"upload": ["The submitted data was not a file. Check the encoding type on the form."]},
        ),
        ({"camera_id": "   ", "file": True}, {"camera_id": ["This field may not be blank."]}),
        (
            {"camera_id": "x" * 129, "file": True},
            {"camera_id": ["Ensure this field has no more than 128 characters."]},
        ),
        (
            {"camera_id": "cam\x01", "file": True},
            {"camera_id": ["May not contain '/' or control characters."]},
        ),
        (
            {"camera_id": "a/b", "file": True},
            {"camera_id": ["May not contain '/' or control characters."]},
        ),
        (
            {"camera_id": "C1", "tag": "t" * 101, "file": True},
            {"tag": ["Ensure this field has no more than 100 characters."]},
        ),
    ],
)
def test_field_errors(client, data, errors):
    lic, *_ = seed(client)
    data = dict(data)
    if data.pop("file", False):
        data["upload"] = (io.BytesIO(photo()), "x.jpg")
    reply = client.post(CREATE_LOG, data=data, headers=auth(TOKEN))
    assert reply.status_code == 400
    assert reply.json == errors
    assert client.get(f"/_mock/visionalert/licenses/{lic}/cameras/C1").status_code == 404


def _bad_images() -> dict[str, tuple[bytes, str]]:
    whole = photo()
    return {
        "text": (b"hello, this is not an image", NOT_IMAGE),
        "truncated": (whole[: len(whole) // 2], NOT_IMAGE),
        "empty": (b"", "The submitted file is empty."),
    }


@pytest.mark.parametrize("kind", ["text", "truncated", "empty"])
def test_bad_image_is_400(client, kind):
    lic, *_ = seed(client)
    content, message = _bad_images()[kind]
    reply = upload(client, "C1", content)
    assert reply.status_code == 400
    assert reply.json == {"upload": [message]}
    assert client.get(f"/_mock/visionalert/licenses/{lic}/cameras/C1").status_code == 404


def test_decompression_bomb_is_400(make_app):
    client = make_app(pixel_limit=100_000).test_client()
    seed(client)
    bomb = io.BytesIO()
    Image.new("L", (4000, 4000)).save(bomb, "PNG", optimize=True)  # 16 Mpx in a few kB
    reply = upload(client, "C1", bomb.getvalue())
    assert reply.status_code == 400
    assert "exceeds the limit" in reply.json["upload"][0]


def test_body_over_upload_limit_is_413_json(make_app):
    client = make_app(upload_limit=50_000).test_client()
    seed(client)
    reply = upload(client, "C1", noise_image(400, 300) + b"\0" * 60_000)
    assert reply.status_code == 413
    assert reply.mimetype == "application/json"
    assert reply.json == {"detail": "Request body is larger than the upload limit."}


def test_account_throttle_drf_text_and_retry_after(client):
    seed(client, rate=1)
    assert upload(client, "C1").status_code == 200
    reply = upload(client, "C2")
    assert reply.status_code == 429
    assert reply.json == {"detail": "Request was throttled. Expected available in 1 second."}
    assert reply.headers["Retry-After"] == "1"
    advance(client, 1)
    assert upload(client, "C2").status_code == 200


def test_account_throttle_slower_rate_plural(client):
    seed(client, rate=0.25)
    assert upload(client, "C1").status_code == 200
    advance(client, 1.5)
    reply = upload(client, "C2")
    assert reply.json == {"detail": "Request was throttled. Expected available in 3 seconds."}
    assert reply.headers["Retry-After"] == "3"


def test_account_throttle_off(client):
    seed(client, rate=None)
    for serial in ("C1", "C2", "C3", "C4"):
        assert upload(client, serial).status_code == 200


def test_camera_window_with_retry_after(client):
    seed(client)
    assert upload(client, "C1").status_code == 200
    advance(client, 100)
    reply = upload(client, "C1")
    assert reply.status_code == 429 and reply.json == TOO_SOON
    assert reply.headers["Retry-After"] == "800"
    advance(client, 799)
    assert upload(client, "C1").status_code == 429
    advance(client, 1)
    assert upload(client, "C1").status_code == 200


def test_camera_window_is_a_setting(client):
    seed(client)
    settings(client, camera_window=60)
    assert upload(client, "C1").status_code == 200
    assert upload(client, "C1").headers["Retry-After"] == "60"
    advance(client, 60)
    assert upload(client, "C1").status_code == 200


def test_order_throttle_before_validation(client):
    seed(client, rate=1)
    assert upload(client, "C1").status_code == 200
    reply = client.post(CREATE_LOG, data={}, headers=auth(TOKEN))
    assert reply.status_code == 429 and "detail" in reply.json


def test_order_validation_before_camera_window(client):
    seed(client)
    assert upload(client, "C1").status_code == 200
    assert upload(client, "C1", b"garbage").status_code == 400
    assert upload(client, "C1").status_code == 429


def test_order_product_before_throttle(client):
    seed(client, token="pp-only", products=("parkpow",), licenses=[], rate=1)
    for _ in range(3):
        assert upload(client, "C1", token="pp-only").status_code == 403


def _licenses(*specs):
    return [
        {"code": code, "size": size, "expiration": expiration, "cameras": cams}
        for code, size, expiration, cams in specs
    ]


def test_registration_under_first_license_with_room(client):
    full = [{"serial": "OLD"}]
    ids = seed(
        client,
        licenses=_licenses(
            ("L-EXPIRED", 10, "2020-01-01T00:00:00Z", []),
            ("L-FULL", 1, "2099-01-01T00:00:00Z", full),
            ("L-ROOM", 2, "2099-01-01T00:00:00Z", []),
            ("L-LATER", 5, "2099-01-01T00:00:00Z", []),
        ),
    )
    assert upload(client, "NEW-1").status_code == 200
    state = camera(client, ids[2], "NEW-1")
    assert state["name"] == "NEW-1"
    assert upload(client, "NEW-2").status_code == 200
    camera(client, ids[2], "NEW-2")
    assert upload(client, "NEW-3").status_code == 200
    camera(client, ids[3], "NEW-3")  # L-ROOM is now full


def test_no_license_with_room_is_403(client):
    seed(client, licenses=_licenses(("L-SMALL", 1, "2099-01-01T00:00:00Z", [{"serial": "A"}])))
    reply = upload(client, "B")
    assert reply.status_code == 403
    assert reply.json == {
        "message": "No VisionAlert license of this account has a free camera slot."
    }
    assert upload(client, "A").status_code == 200  # a registered camera still uploads


def test_all_licenses_expired_is_403(client):
    seed(client, licenses=_licenses(("L-OLD", 5, "2020-01-01T00:00:00Z", [{"serial": "A"}])))
    reply = upload(client, "B")
    assert reply.status_code == 403
    assert reply.json == {"message": "Every VisionAlert license of this account has expired."}
    reply = upload(client, "A")
    assert reply.status_code == 403
    assert reply.json == {"message": "The VisionAlert license of this camera has expired."}


def test_tags_created_added_and_kept(client):
    (lic,) = seed(
        client,
        licenses=[{"code": "L1", "size": 5, "cameras": [{"serial": "C1", "tags": ["site-a"]}]}],
    )
    assert upload(client, "C1", tag="floor-1").status_code == 200
    advance(client, 900)
    assert upload(client, "C1", tag="site-a").status_code == 200
    assert upload(client, "C9", tag="floor-1").status_code == 200
    reply = client.get(f"/v1/vision-alert/{lic}/cameras/", headers=auth(TOKEN))
    tags = {row["serial"]: sorted(row["tags"]) for row in reply.json["results"]}
    assert tags == {"C1": ["floor-1", "site-a"], "C9": ["floor-1"]}


def test_serial_is_trimmed(client):
    (lic,) = seed(client)
    assert upload(client, "  CAM-7 ").status_code == 200
    assert camera(client, lic, "CAM-7")["serial"] == "CAM-7"


def test_concurrent_uploads_two_workers_exactly_one_accepted():
    with LiveServer(workers=2, seed="none") as server:
        race = seeds.license("L-RACE", size=5)
        body = seeds.world(seeds.account(TOKEN, products=["visionalert"], licenses=[race]))
        assert requests.post(server.url + "/_mock/seed", json=body, timeout=10).status_code == 201
        requests.post(server.url + "/_mock/clock", json={"set": START}, timeout=10)
        content = jpeg_bytes(Image.open(io.BytesIO(photo())).resize((400, 225)))
        statuses: list[tuple[int, dict]] = []
        barrier = threading.Barrier(24)

        def send() -> None:
            session = requests.Session()
            barrier.wait()
            reply = session.post(
                server.url + CREATE_LOG,
                data={"camera_id": "RACE-1"},
                files={"upload": ("f.jpg", content, "image/jpeg")},
                headers=auth(TOKEN),
                timeout=30,
            )
            statuses.append((reply.status_code, reply.json()))

        threads = [threading.Thread(target=send) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        codes = sorted(code for code, _ in statuses)
        assert len(codes) == 24
        assert codes.count(200) == 1, codes
        assert codes.count(429) == 23, codes
        assert all(body == TOO_SOON for code, body in statuses if code == 429)
