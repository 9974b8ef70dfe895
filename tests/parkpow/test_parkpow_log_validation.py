"""log-vehicle's validation: DRF field errors, never a 500, and no state change."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from .parkpow_support import HEADERS, b64_jpeg, jpeg, multipart, result, seed, visits


@pytest.fixture
def pp(client):
    seed(client)
    return client


def state(client) -> tuple:
    return (
        visits(client, start="2000-01-01"),
        client.get("/api/v1/parking-list/", headers=HEADERS).json,
    )


GOOD = {"camera": "CAM-NEW", "results": [result("ABC1")]}


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"image": "x", "results": []}, {"camera": ["This field is required."],
                                          "image": ["Invalid image: not a valid base64-encoded file."]}),
        ({**GOOD, "image": None}, {"image": ["No file was submitted."]}),
        ({**GOOD, "image": "not base64!"}, {"image": ["Invalid image: not a valid base64-encoded file."]}),
        ({**GOOD, "image": "aGVsbG8gd29ybGQ="},
         {"image": ["Upload a valid image. The file you uploaded was either not an image or a "
                    "corrupted image."]}),
        ({**GOOD, "image": b64_jpeg()[:200]},
         {"image": ["Upload a valid image. The file you uploaded was either not an image or a "
                    "corrupted image."]}),
        ({"camera": "C", "image": b64_jpeg()}, {"results": ["This field is required."]}),
        ({"camera": "C", "image": b64_jpeg(), "results": "[{"}, {"results": ["Value must be valid JSON."]}),
        ({"camera": "C", "image": b64_jpeg(), "results": [{"score": 1}]},
         {"results": ['Each result must be an object with a "plate".']}),
        ({"camera": "C", "image": b64_jpeg(), "results": [{"plate": " "}]},
         {"results": ['Each result must be an object with a "plate".']}),
        ({"camera": "C", "image": b64_jpeg(), "results": [result("A1"), "A2"]},
         {"results": ['Each result must be an object with a "plate".']}),
        ({"camera": "C", "image": b64_jpeg(), "results": 5},
         {"results": ['Each result must be an object with a "plate".']}),
        ({"camera": "C", "image": b64_jpeg(), "results": [result("A")] * 101},
         {"results": ["Ensure this field has no more than 100 elements."]}),
        ({**GOOD, "image": b64_jpeg(), "time": "2024-13-19 11:17:19.000000+0800"},
         {"time": ["Enter a valid time (%Y-%m-%d %H:%M:%S.%f%z or ISO 8601)."]}),
        ({**GOOD, "image": b64_jpeg(), "time": True},
         {"time": ["Enter a valid time (%Y-%m-%d %H:%M:%S.%f%z or ISO 8601)."]}),
        ({**GOOD, "image": b64_jpeg(), "camera": {"a": 1}}, {"camera": ["Not a valid string."]}),
    ],
)  # fmt: skip
def test_json_errors_change_nothing(pp, body, errors):
    before = state(pp)
    reply = pp.post("/api/v1/log-vehicle/", json=body, headers=HEADERS)
    assert reply.status_code == 400
    assert reply.json == errors
    assert state(pp) == before


@pytest.mark.parametrize(
    "fields, files, errors",
    [
        ({"camera": "C", "results": "[]"}, {}, {"image": ["No file was submitted."]}),
        ({"camera": "C", "results": "[]"}, {"image": ("a.jpg", b"", "image/jpeg")},
         {"image": ["The submitted file is empty."]}),
        ({"camera": "C", "results": "[]"}, {"image": ("a.jpg", b"GIF89a....", "image/gif")},
         {"image": ["Upload a valid image. The file you uploaded was either not an image or a "
                    "corrupted image."]}),
        ({"camera": "C"}, {"image": ("a.jpg", jpeg(), "image/jpeg")},
         {"results": ["This field is required."]}),
        ({"camera": "C", "results": "{'plate': "}, {"image": ("a.jpg", jpeg(), "image/jpeg")},
         {"results": ["Value must be valid JSON."]}),
        ({"results": "[]"}, {"image": ("a.jpg", jpeg(), "image/jpeg")},
         {"camera": ["This field is required."]}),
    ],
)  # fmt: skip
def test_multipart_errors_change_nothing(pp, fields, files, errors):
    before = state(pp)
    body, content_type = multipart(fields, files)
    reply = pp.post("/api/v1/log-vehicle", data=body, content_type=content_type, headers=HEADERS)
    assert reply.status_code == 400
    assert reply.json == errors
    assert state(pp) == before


def test_malformed_json_body_is_400(pp):
    reply = pp.post(
        "/api/v1/log-vehicle/",
        data='{"camera": ',
        content_type="application/json",
        headers=HEADERS,
    )
    assert reply.status_code == 400 and "detail" in reply.json


def test_lenient_forms_accepted(pp):
    image = "data:image/jpeg;base64," + b64_jpeg()
    wrapped = "\n".join(image[i : i + 76] for i in range(0, len(image), 76))
    body = {"camera": 101, "image": wrapped, "results": json.dumps([result("S1")])}
    assert pp.post("/api/v1/log-vehicle/", json=body, headers=HEADERS).json == "OK"
    # a form (not multipart) body with a base64 image field
    form = {"camera": "101", "image": b64_jpeg().rstrip("="), "results": json.dumps([result("S2")])}
    assert pp.post("/api/v1/log-vehicle/", data=form, headers=HEADERS).json == "OK"
    # an empty results list is a valid request that sees nobody
    empty = {"camera": "101", "image": b64_jpeg(), "results": []}
    assert pp.post("/api/v1/log-vehicle/", json=empty, headers=HEADERS).json == "OK"
    # PNG images are images too
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    body, content_type = multipart(
        {"camera": "101", "results": json.dumps([result("S3")])},
        {"image": ("p.png", png.getvalue(), "image/png")},
    )
    assert (
        pp.post("/api/v1/log-vehicle/", data=body, content_type=content_type, headers=HEADERS).json
        == "OK"
    )
    assert sorted(v["vehicle"]["license_plate"] for v in visits(pp)) == ["S1", "S2", "S3"]


def test_wrong_method_is_405(pp):
    reply = pp.get("/api/v1/log-vehicle/", headers=HEADERS)
    assert reply.status_code == 405
    assert reply.json == {"detail": 'Method "GET" not allowed.'}
