"""A client's traffic through the recording proxy: every endpoint family of both APIs,
uploads and page walks included (the "real" service is an emulator the test started)."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import requests

from mockserver.testkit import seeds

from ..images import noise, solid

TOKEN = "live-secret-token-7f3a9c"
START = "2026-04-10T14:30:00Z"
WORLD = seeds.world(
    # another client of the service: its licenses take the first ids, so the recorded ids
    # differ from those the replay's world (only what the recording shows) hands out
    seeds.account(
        "bystander-token-55e1",
        licenses=[seeds.license(code, cameras=[seeds.camera(f"B{code}")]) for code in "XY"],
    ),
    seeds.account(
        TOKEN,
        licenses=[
            seeds.license(
                "LIC-P",
                size=20,
                cameras=[
                    seeds.camera(f"C{n}", name=f"Cam {n}", tags=["site"]) for n in range(1, 8)
                ],
            )
        ],
        parkings=[
            seeds.parking(
                "lot",
                parking_spaces=10,
                cameras=[
                    seeds.parking_camera("101", name="gate-in", type="ENTRANCE"),
                    seeds.parking_camera("102", name="gate-out", type="EXIT"),
                ],
            )
        ],
        vehicles=[seeds.vehicle("QWE1234", payment_status="0")],
    ),
)


def auth(account: int) -> dict[str, str]:
    """The header of the replay's token for the recording's ``<token-N>``."""
    return {"Authorization": f"Token parity-{account}"}


class Client:
    """A client of both APIs that sends everything through ``proxy``."""

    def __init__(self, proxy: str, token: str = TOKEN) -> None:
        self.proxy = proxy
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Token {token}"
        self.count = 0

    def call(self, method: str, path: str, **options) -> requests.Response:
        self.count += 1
        reply = self.session.request(method, self.proxy + path, timeout=30, **options)
        assert reply.status_code < 500, reply.text
        return reply

    def walk(self, path: str, **params) -> list[dict]:
        """Every page of a list, following ``next`` through the proxy."""
        page = self.call("GET", path, params=params).json()
        rows = list(page["results"])
        while page.get("next"):
            link = urlsplit(page["next"])
            page = self.call("GET", f"{link.path}?{link.query}").json()
            rows += page["results"]
        return rows


def visionalert_reads(client: Client) -> int:
    """Licenses, cameras page by page, a camera's reference; returns the license id."""
    licenses = client.call("GET", "/v1/vision-alert/licenses/").json()
    license_id = licenses[0]["id"]
    client.walk(f"/v1/vision-alert/{license_id}/cameras/", page_size=3)
    client.call("GET", f"/v1/vision-alert/{license_id}/cameras/C1/reference/")
    return license_id


def everything(client: Client, advance) -> None:
    """About a hundred exchanges over every endpoint family; ``advance(seconds)`` moves
    the upstream's clock (outside the proxy, as the real service's time just passes)."""
    license_id = visionalert_reads(client)
    va = f"/v1/vision-alert/{license_id}"
    for n in range(1, 8):
        image = noise(400, 300, seed=n)
        files = {"upload": (f"c{n}.jpg", image, "image/jpeg")}
        client.call(
            "POST", "/v1/vision-alert/create-log/", data={"camera_id": f"C{n}"}, files=files
        )
    client.call(
        "POST",
        "/v1/vision-alert/create-log/",
        data={"camera_id": "C1"},
        files={"upload": ("again.jpg", solid(), "image/jpeg")},
    )  # the camera's 15-minute window: 429
    client.call("POST", "/v1/vision-alert/create-log/", data={"camera_id": "C2"})  # no upload
    advance(3600)
    for n in range(1, 7):  # an hour later: each camera's window is open again
        image = noise(400, 300, seed=10 + n)
        files = {"upload": (f"d{n}.jpg", image, "image/jpeg")}
        client.call(
            "POST",
            "/v1/vision-alert/create-log/",
            data={"camera_id": f"C{n}", "tag": "late"},
            files=files,
        )
    advance(60)
    for n in range(1, 8):
        client.call("GET", f"{va}/cameras/C{n}/logs/")
        client.call("GET", f"{va}/cameras/C{n}/reference/")
    client.walk(f"{va}/logs/", page_size=2)
    client.walk(f"{va}/logs/", status="normal", page_size=4)
    client.call("GET", f"{va}/logs/", params={"start": "2026-04-10", "end": "2026-04-11"})
    client.call("GET", f"{va}/logs/", params={"start": "yesterday"})  # 400
    client.walk(f"{va}/cameras/", page_size=2, status="normal")
    client.walk(f"{va}/cameras/", page_size=1)
    client.walk(f"{va}/cameras/C1/logs/", page_size=1)
    client.walk(f"{va}/logs/", page_size=1, serial="C2")
    client.walk(f"{va}/logs/", page_size=3, tag="site")
    client.call("GET", f"{va}/alerts/")
    reference = {"upload": ("ref.jpg", noise(400, 300, seed=99), "image/jpeg")}
    client.call("POST", f"{va}/cameras/C3/reference/", files=reference)
    client.call("GET", f"{va}/cameras/C3/reference/")
    client.call("DELETE", f"{va}/cameras/C7/")
    client.call("GET", f"{va}/cameras/C7/logs/")  # 404
    client.call("GET", f"{va}/cameras/NOPE/logs/")  # 404
    client.call("GET", "/v1/vision-alert/999999/cameras/")  # 404
    log_page = client.call("GET", f"{va}/cameras/C1/logs/").json()
    snapshot = next(log["snapshot"] for log in log_page["results"] if log["snapshot"])
    client.call("GET", urlsplit(snapshot).path)  # the media a log links to
    parkpow(client, advance)
    client.session.headers["Authorization"] = "Token wrong-token"
    client.call("GET", "/v1/vision-alert/licenses/")  # 401


def parkpow(client: Client, advance) -> None:
    client.call("GET", "/api/v1/parking-list/")
    client.call(
        "POST", "/api/v1/create-camera/", json={"code": "103", "name": "spot", "type": "SPOT"}
    )
    client.call("POST", "/api/v1/create-camera/", json={"code": "104"})  # 400: no name
    client.call(
        "POST", "/api/v1/create-vehicle/", json={"license_plate": "abc123", "payment_status": 1}
    )
    client.call("POST", "/api/v1/create-vehicle/", data={"license_plate": "XYZ9", "field1": "a"})
    image = base64.b64encode(solid((320, 240))).decode()
    for plate, camera in (("ABC123", "101"), ("QWE1234", "101"), ("ABC123", "102")):
        client.call(
            "POST",
            "/api/v1/log-vehicle/",
            json={"camera": camera, "image": image, "results": [{"plate": plate}]},
        )
        advance(60)
    client.call(
        "POST",
        "/api/v1/log-vehicle/",
        data={"camera": "103", "results": json.dumps([{"plate": "LMN1"}])},
        files={"image": ("car.jpg", solid((320, 240)), "image/jpeg")},
    )
    client.call("GET", "/api/v1/parking-list/")
    client.call("GET", "/api/v1/visit-list/")
    client.walk("/api/v1/visit-list/", page_size=1)
    client.call("POST", "/api/v1/visit-list/", json={"start": "2026-04-10", "end": "2026-04-10"})
    client.call("GET", "/api/v1/visit-list/", params={"start": "bad"})  # 400
    client.walk("/api/v1/vehicles/", page_size=1)
    client.call("GET", "/api/v1/vehicle-tags/")
    task = client.call(
        "POST",
        "/api/v1/import-vehicles/",
        files={"import_file": ("v.csv", b"license_plate,field1\nIMP1,x\nIMP2,y\n", "text/csv")},
    ).json()
    client.call("GET", "/api/v1/task-check/", params={"task_id": task.get("task_id")})
    advance(120)
    client.call("GET", "/api/v1/task-check/", params={"task_id": task.get("task_id")})
    client.call("GET", "/api/v1/vehicles/")
    visits = client.call("GET", "/api/v1/visit-list/", params={"page": 1}).json()["results"]
    visit = visits[-1]["id"]
    client.call("POST", "/api/v1/trigger-alert/", json={"visit_id": visit, "alert_template_id": 1})
    client.call("POST", "/api/v1/delete-visit/", json={"id": visit})
    client.call("POST", "/api/v1/delete-visit/", json={"id": 999999})  # 404
    client.call("POST", "/api/v1/webhook-receiver/", json={"hook": {"event": "image.done"}})
