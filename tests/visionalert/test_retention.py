"""Bounded storage through the API: with ``media_retention`` small and the clock advanced,
older frames become small JPEGs under the URLs already handed out, an alert's image and
the camera's reference stay whole, and ``media_byte_cap`` replaces the oldest images by
one placeholder. Pruning runs on the background tick (never in a request)."""

from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image

from mockserver.visionalert.retention import placeholder

from ..conftest import BOTH_BACKENDS, auth
from ..images import noise
from .va_rows import VA, relative, seed_account, set_clock, world
from .va_support import force

pytestmark = BOTH_BACKENDS

#: the reference's view, re-encoded: normal against it, and distinct bytes each
REFERENCE = noise(640, 360, seed=19, quality=95)
FRAMES = [noise(640, 360, seed=19, quality=94 - n) for n in range(4)]


@pytest.fixture(params=["files", "s3"])
def media(request):
    """Where the bytes live: ``stored()`` lists the contents kept there."""
    if request.param == "files":
        return {}
    s3 = request.getfixturevalue("s3_server")
    return {"media_url": f"s3://{s3.bucket()}/va", "s3_endpoint": s3.endpoint}


def stored(app, options) -> int:
    """How many contents the media location holds."""
    if options:
        s3 = world(app).media.blobs
        return sum(1 for _ in s3.listing())
    root = world(app).media.root
    return sum(len(files) for _d, _s, files in os.walk(root))


def upload(client, content: bytes):
    reply = client.post(
        f"{VA}/create-log/",
        headers=auth("tok-a"),
        data={"camera_id": "CAM-1", "upload": (io.BytesIO(content), "frame.jpg")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200, reply.json


def image_of(client, url: str) -> bytes:
    reply = client.get(relative(url))
    assert reply.status_code == 200, "a URL handed out no longer resolves"
    Image.open(io.BytesIO(reply.data)).verify()
    return reply.data


def until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "pruning did not happen on the tick"
        time.sleep(0.05)


def width(content: bytes) -> int:
    return Image.open(io.BytesIO(content)).size[0]


def test_old_frames_shrink_and_the_cap_takes_the_oldest(make_app, media):
    app = make_app(tick_seconds=0.05, **media)
    world(app).start_background()  # as a served emulator's tick does
    client = app.test_client()
    set_clock(client, "2026-04-10T14:00:00Z")
    lic = seed_account(client, "tok-a", [{"code": "LIC-A", "cameras": [{"serial": "CAM-1"}]}])
    lic = lic["LIC-A"]
    settings = {"camera_window": 0, "processing_delay": 0, "media_retention": 1}
    assert client.post("/_mock/settings", json=settings).status_code == 200
    reply = client.post(
        f"{VA}/{lic}/cameras/CAM-1/reference/",
        headers=auth("tok-a"),
        data={"upload": (io.BytesIO(REFERENCE), "ref.jpg")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 201
    for n, frame in enumerate(FRAMES):
        if n == 1:
            force(client, lic, "CAM-1", scores={"Blur": 0.95})  # this one raises an alert
        upload(client, frame)
    logs = client.get(f"{VA}/{lic}/logs/", headers=auth("tok-a")).json["results"]
    urls = [log["snapshot"] for log in sorted(logs, key=lambda log: log["id"])]
    assert [image_of(client, url) for url in urls] == FRAMES  # whole until pruned
    # past the alert window: the alert is out (pruning runs once the clock moved)
    assert client.post("/_mock/clock", json={"advance": 1000}).status_code == 200
    alerts = client.get(f"{VA}/{lic}/alerts/", headers=auth("tok-a")).json["results"]
    assert len(alerts) == 1

    # the latest frame stays whole; the two before it (not the alert's) become small
    until(lambda: width(image_of(client, urls[2])) == 320)
    small = [image_of(client, url) for url in urls]
    assert width(small[0]) == 320 and small[0][:2] == b"\xff\xd8"
    assert len(small[0]) < len(FRAMES[0]) // 5
    assert small[1] == FRAMES[1], "an alert's image is kept whole"
    assert small[3] == FRAMES[3], "the latest log keeps its full frame"
    reference = client.get(f"{VA}/{lic}/cameras/CAM-1/reference/", headers=auth("tok-a"))
    assert image_of(client, reference.json["reference_image"]) == REFERENCE
    # whole frames no row names are gone: reference, alert's, latest, two small views
    until(lambda: stored(app, media) == 5)

    # a byte cap: the oldest images become the one placeholder, exempt ones stay
    assert client.post("/_mock/settings", json={"media_byte_cap": 1}).status_code == 200
    assert client.post("/_mock/clock", json={"advance": 60}).status_code == 200
    until(lambda: image_of(client, urls[3]) == placeholder())
    assert [image_of(client, url) for url in urls] == [
        placeholder(),
        FRAMES[1],
        placeholder(),
        placeholder(),
    ]
    assert image_of(client, reference.json["reference_image"]) == REFERENCE
    until(lambda: stored(app, media) == 3)  # reference, alert's frame, placeholder


def test_retention_settings_are_bounded_numbers(make_app):
    client = make_app().test_client()
    for bad in ({"media_retention": -1}, {"media_byte_cap": "1GB"}, {"media_byte_cap": 10**16}):
        reply = client.post("/_mock/settings", json=bad)
        assert reply.status_code == 400, bad
    reply = client.post("/_mock/settings", json={"media_byte_cap": 50 * 10**9})
    assert reply.status_code == 200 and reply.json["media_byte_cap"] == 50 * 10**9
    assert reply.json["media_retention"] == 4
