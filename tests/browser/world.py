"""A small world worth looking at, built through the public API of a live emulator:
four cameras with real photographs (scikit-image's), references adopted from their
first frames, one camera covered and one blown out by glare (anomalies, an alert, an
e-mail), parking visits with images, and client text that must come out escaped."""

from __future__ import annotations

import functools
import json

import requests
from PIL import Image, ImageDraw, ImageFilter

from ..images import encode

START = "2026-04-10T14:30:00Z"
TOKEN = "demo-token"
LICENSE = "LIC-DEMO-1"
HOSTILE_SERIAL = "<img src=x onerror=alert(1)>"  # a serial is client text: shown, never run
PHOTOS = ("coffee", "astronaut", "chelsea", "rocket")


@functools.cache
def frame(name: str, change: str = "") -> bytes:
    """A 960x540 camera frame of a scikit-image photograph, optionally spoilt."""
    from skimage import data

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    width, height = image.size
    crop_height = min(height, round(width * 9 / 16))
    top = (height - crop_height) // 2
    image = image.crop((0, top, width, top + crop_height)).resize((960, 540))
    if change == "cover":
        ImageDraw.Draw(image).rectangle((0, 0, 560, 540), fill=(38, 36, 40))
    elif change == "glare":
        ImageDraw.Draw(image).ellipse((420, 40, 900, 470), fill=(255, 255, 255))
    elif change == "blur":
        image = image.filter(ImageFilter.GaussianBlur(6))
    return encode(image, quality=88)


class World:
    def __init__(self, server) -> None:
        self.url = server.url
        self.control = server.control
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {TOKEN}"

    def upload(self, serial: str, content: bytes, tag: str | None = None) -> requests.Response:
        data = {"camera_id": serial, **({"tag": tag} if tag else {})}
        return self.session.post(
            f"{self.url}/v1/vision-alert/create-log/",
            data=data,
            files={"upload": ("frame.jpg", content, "image/jpeg")},
            timeout=30,
        )

    def sighting(self, camera: str, plate: str) -> None:
        reply = self.session.post(
            f"{self.url}/api/v1/log-vehicle/",
            data={"camera": camera, "results": json.dumps([{"plate": plate, "score": 0.9}])},
            files={"image": ("plate.jpg", frame("rocket"), "image/jpeg")},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text

    def license_id(self) -> int:
        licenses = self.session.get(f"{self.url}/v1/vision-alert/licenses/", timeout=10).json()
        return next(lic["id"] for lic in licenses if lic["code"] == LICENSE)

    def build(self) -> World:
        control = self.control
        control.reset()
        control.set_clock(START)
        control.set_rate_limit(TOKEN, None)
        serials = ["Q2GV-ABCD-1234", "Q2GV-EFGH-5678", "LOBBY-3", HOSTILE_SERIAL]
        for serial, photo in zip(serials, PHOTOS, strict=True):
            tag = "<i>night" if serial == HOSTILE_SERIAL else None
            assert self.upload(serial, frame(photo), tag).status_code == 200
        control.advance(60)  # processed: every camera adopts its first frame as reference
        for _ in range(2):
            control.advance(900)
            for serial, photo in zip(serials, PHOTOS, strict=True):
                assert self.upload(serial, frame(photo)).status_code == 200
            control.advance(60)
        control.advance(900)
        assert self.upload(serials[0], frame(PHOTOS[0], "cover")).status_code == 200
        assert self.upload(serials[1], frame(PHOTOS[1], "glare")).status_code == 200
        assert self.upload(serials[2], frame(PHOTOS[2])).status_code == 200
        control.advance(60)
        control.advance(900)  # the alert window closes: the alert is emitted (e-mail)
        self.sighting("101", "QWE1234")
        self.sighting("101", "<img src=x onerror=alert(2)>")
        self.sighting("202", "ABC987")
        control.advance(120)  # within the lots' 3-minute absent timer: still inside
        self.sighting("102", "QWE1234")  # the exit closes its visit
        self.serials = serials
        self.license = self.license_id()
        return self
