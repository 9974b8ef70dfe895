"""Helpers for the VisionAlert upload/processing/alert tests: seeds, images, calls."""

from __future__ import annotations

import functools
import io

from PIL import Image

from mockserver.testkit import seeds

from ..conftest import auth
from ..images import encode, noise

TOKEN = "tok-va"
START = "2026-04-10T14:30:00Z"
CREATE_LOG = "/v1/vision-alert/create-log/"


def seed_body(
    token: str = TOKEN,
    licenses: list[dict] | None = None,
    rate: float | None = None,
    products: tuple[str, ...] = ("visionalert",),
) -> dict:
    if licenses is None:
        licenses = [seeds.license(f"LIC-{token}", size=10, cameras=[])]
    return seeds.world(
        seeds.account(token, products=products, rate_limit_per_second=rate, licenses=licenses)
    )


def seed(client, **options) -> list[int]:
    """Seed one account, freeze the clock at START; returns the license ids."""
    reply = client.post("/_mock/seed", json=seed_body(**options))
    assert reply.status_code == 201, reply.json
    client.post("/_mock/clock", json={"set": START})
    return [lic["id"] for lic in reply.json["accounts"][0]["licenses"]]


@functools.cache
def photo(width: int = 640) -> bytes:
    """A natural photograph (scikit-image's coffee), 16:9, as a camera JPEG."""
    from skimage import data

    image = Image.fromarray(data.coffee()).crop((0, 31, 600, 369))
    image = image.resize((width, round(width * 9 / 16)), Image.Resampling.LANCZOS)
    return jpeg_bytes(image)


@functools.cache
def blurred_photo(width: int = 640) -> bytes:
    from PIL import ImageFilter

    image = Image.open(io.BytesIO(photo(width))).filter(ImageFilter.GaussianBlur(width / 200))
    return jpeg_bytes(image)


def noise_image(width: int, height: int, seed: int = 0) -> bytes:
    return noise(width, height, seed)


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    return encode(image, quality=quality)


def upload(client, serial: str, content: bytes | None = None, token: str = TOKEN, **fields):
    data = {"camera_id": serial, **fields}
    data["upload"] = (io.BytesIO(photo() if content is None else content), "frame.jpg")
    return client.post(CREATE_LOG, data=data, headers=auth(token))


def advance(client, seconds: float) -> None:
    reply = client.post("/_mock/clock", json={"advance": seconds})
    assert reply.status_code == 200, reply.json


def camera(client, license_id: int, serial: str) -> dict:
    reply = client.get(f"/_mock/visionalert/licenses/{license_id}/cameras/{serial}")
    assert reply.status_code == 200, reply.json
    return reply.json


def force(client, license_id: int, serial: str, count: int = 1, **body) -> None:
    body["count"] = count
    reply = client.post(
        f"/_mock/visionalert/licenses/{license_id}/cameras/{serial}/forced-scores", json=body
    )
    assert reply.status_code == 201, reply.json


def settings(client, **values) -> None:
    reply = client.post("/_mock/settings", json=values)
    assert reply.status_code == 200, reply.json


def alerts(client, license_id: int | None = None) -> list[dict]:
    query = f"?license_id={license_id}" if license_id else ""
    return client.get(f"/_mock/visionalert/alerts{query}").json["alerts"]
