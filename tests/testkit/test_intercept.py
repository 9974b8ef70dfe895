"""mockserver.intercept(): code with hard-coded vendor URLs runs against an in-process
emulator (context manager, decorator; the fixture is covered in test_plugin.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from PIL import Image

import mockserver
from mockserver.testkit.intercept import Interceptor

from ..bad_inputs import png_bomb
from ..images import solid

# -- "the integration under test": hard-coded vendor URLs, as real clients have them -------

VISION = "https://api.platerecognizer.com/v1/vision-alert"
PARKPOW = "http://app.parkpow.com/api/v1"


def all_cameras(token: str, license_id: int, page_size: int = 1) -> list[str]:
    """Walk the camera list to its end by following ``next``."""
    headers = {"Authorization": f"Token {token}"}
    url = f"{VISION}/{license_id}/cameras/?page_size={page_size}"
    serials = []
    while url:
        page = requests.get(url, headers=headers, timeout=5).json()
        serials += [camera["serial"] for camera in page["results"]]
        url = page["next"]
    return serials


def send_frame(token: str, serial: str, image: bytes, tag: str | None = None) -> dict:
    data = {"camera_id": serial, **({"tag": tag} if tag else {})}
    reply = requests.post(
        "https://app.platerecognizer.com/v1/vision-alert/create-log/",
        headers={"Authorization": f"Token {token}"},
        data=data,
        files={"upload": ("frame.jpg", image, "image/jpeg")},
        timeout=5,
    )
    reply.raise_for_status()
    return reply.json()


def alerts(token: str, license_id: int) -> list[dict]:
    reply = requests.get(
        f"{VISION}/{license_id}/alerts/", headers={"Authorization": f"Token {token}"}, timeout=5
    )
    reply.raise_for_status()
    return reply.json()["results"]


def jpeg() -> bytes:
    return solid((640, 480), (90, 120, 150))


# -- tests ---------------------------------------------------------------------------------


def test_licenses_and_pagination_follow_next_on_the_vendor_host():
    with mockserver.intercept() as emulator:
        license_id = emulator.licenses["LIC-DEMO-1"]
        reply = requests.get(f"{VISION}/licenses/", headers={"Authorization": "Token demo-token"})
        assert reply.status_code == 200 and reply.json()[0]["id"] == license_id
        first = requests.get(
            f"{VISION}/{license_id}/cameras/",
            params={"page_size": 1},
            headers={"Authorization": "Token demo-token"},
        ).json()
        assert first["next"].startswith(f"{VISION}/{license_id}/cameras/?")
        assert sorted(all_cameras("demo-token", license_id)) == [
            "Q2GV-ABCD-1234",
            "Q2GV-EFGH-5678",
        ]
        emulator.client.assert_followed_next_to_end("demo-token")


def test_parkpow_over_http_with_query_headers_and_json_body():
    with mockserver.intercept() as emulator:
        headers = {"Authorization": "Token demo-token"}
        parking = requests.get(f"{PARKPOW}/parking-list/", headers=headers)
        assert parking.status_code == 200 and parking.json()[0]["camera_set"]
        camera = requests.post(
            f"{PARKPOW}/create-camera", headers=headers, json={"code": "gate-9", "name": "Gate"}
        )
        assert camera.status_code == 200 and camera.json()["code"] == "gate-9"
        entries = emulator.client.requests(token="demo-token")
        assert [(e["method"], e["path"]) for e in entries] == [
            ("GET", "/api/v1/parking-list/"),
            ("POST", "/api/v1/create-camera"),
        ]
        assert json.loads(entries[1]["body"]) == {"code": "gate-9", "name": "Gate"}
        unauthorised = requests.get(f"{PARKPOW}/parking-list/")
        assert unauthorised.status_code == 401
        assert unauthorised.headers["WWW-Authenticate"] == "Token"


def test_upload_advance_clock_alert_end_to_end():
    with mockserver.intercept(seed="demo") as emulator:
        license_id = emulator.licenses["LIC-DEMO-1"]
        emulator.client.set_clock("2026-04-10T14:30:00Z")
        assert send_frame("demo-token", "Q2GV-ABCD-1234", jpeg(), tag="gate") == {
            "message": "Log created successfully."
        }
        assert alerts("demo-token", license_id) == []
        emulator.client.advance(3 * 3600)  # processed, then silent long enough: offline
        (alert,) = alerts("demo-token", license_id)
        assert alert["license"] == "LIC-DEMO-1"
        assert [c["serial"] for c in alert["cameras"]] == ["Q2GV-ABCD-1234"]
        assert alert["cameras"][0]["status"] == "Offline"
        reference = alert["cameras"][0]["reference_image"]
        assert reference.startswith("https://api.platerecognizer.com/media/")
        image = requests.get(reference)  # media are served through the vendor host too
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"


def test_faults_reach_the_intercepted_client():
    with mockserver.intercept() as emulator:
        emulator.client.add_fault("/v1/vision-alert/licenses", drop=True, times=1)
        emulator.client.add_fault("/api/v1/parking-list", status=503, times=1)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(f"{VISION}/licenses/", headers={"Authorization": "Token demo-token"})
        assert requests.get(f"{PARKPOW}/parking-list/").status_code == 503
        entries = emulator.client.requests()
        assert [e["status"] for e in entries] == [0, 503]


def test_as_a_decorator_each_call_gets_a_fresh_emulator():
    seen = []

    @mockserver.intercept(seed="none")
    def integration():
        active = mockserver.intercept.current()
        seen.append(active)
        active.client.seed({"accounts": [{"token": "tok-d"}]})  # would clash if reused
        return requests.get(f"{VISION}/licenses/", headers={"Authorization": "Token tok-d"})

    assert integration().json() == []  # an account without licenses
    assert integration().json() == []
    assert seen[0] is not seen[1] and Interceptor.current() is None


def test_other_hosts_pass_through_and_interception_ends_on_exit():
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    original_send = requests.adapters.HTTPAdapter.send
    try:
        with mockserver.intercept(seed="none"):
            assert requests.adapters.HTTPAdapter.send is not original_send
            local = requests.get(f"http://127.0.0.1:{server.server_port}/")
            assert local.text == "hello"  # not a vendor host: the real network
        assert requests.adapters.HTTPAdapter.send is original_send
    finally:
        server.shutdown()
        server.server_close()


def test_seed_from_a_dict_and_config_overrides():
    seed = {"accounts": [{"token": "tok-x", "visionalert": {"licenses": [{"code": "L-X"}]}}]}
    with mockserver.intercept(seed=seed, processing_delay=1) as emulator:
        assert emulator.tokens == ["tok-x"] and emulator.token == "tok-x"
        assert list(emulator.licenses) == ["L-X"]
        assert emulator.client.settings()["processing_delay"] == 1
        assert emulator.url == "https://app.parkpow.com"


def test_pillow_guard_stays_on_in_the_host_process():
    """The emulator bounds image sizes itself; the calling process keeps Pillow's guard
    against decompression bombs for its own image code."""
    guard = Image.MAX_IMAGE_PIXELS
    assert guard is not None
    seed = {"accounts": [{"token": "tok-p", "visionalert": {"licenses": [{"code": "L-P"}]}}]}
    with mockserver.intercept(seed=seed):
        assert Image.MAX_IMAGE_PIXELS == guard
        reply = requests.post(
            f"{VISION}/create-log/",
            headers={"Authorization": "Token tok-p"},
            data={"camera_id": "CAM-1"},
            files={"upload": ("bomb.png", png_bomb(), "image/png")},
            timeout=5,
        )
        assert reply.status_code == 400
        assert reply.json() == {
            "upload": ["Image too large: 30000x30000 pixels exceeds the limit of 40000000 pixels."]
        }
    assert Image.MAX_IMAGE_PIXELS == guard
