"""Tenant isolation: two accounts' operations interleaved by Hypothesis.

Everything account A names carries the marker ``ALPHA`` (serials, tags, license code,
camera codes, plates, camera names) and everything of B ``BRAVO``; both accounts upload the
very same image bytes. After every call: no response to one account contains the other's
marker, ids or media names; every media URL is ``/media/<kind>/<32 hex>.<ext>`` (128
random bits, nothing the client chose); a call across the tenancy line (the other
account's license id) is refused, never answered with data.
"""

from __future__ import annotations

import io
import re

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mockserver import Config, create_app
from mockserver.testkit import seeds

from ..images import solid

START = "2026-04-10T14:30:00Z"
ACCOUNTS = {"A": ("tok-alpha", "ALPHA"), "B": ("tok-bravo", "BRAVO")}
WHO = st.sampled_from(sorted(ACCOUNTS))
INDEX = st.integers(min_value=0, max_value=2)
MEDIA_URL = re.compile(r"https?://[^\"/]+/media/([^\"]*)")
MEDIA_PATH = re.compile(r"^(camera_snapshot|camera_reference|parkpow)/([0-9a-f]{32})\.(jpg|png)$")


def _image(shade: int, size: tuple[int, int] = (400, 300)) -> bytes:
    return solid(size, (shade, 255 - shade, 90))


IMAGES = [_image(shade) for shade in (30, 120, 210)]


def seed() -> dict:
    def tenant(token: str, marker: str) -> dict:
        seeded = seeds.camera(f"{marker}-SEEDED", name=f"{marker} cam", tags=[f"{marker}-TAG"])
        gate = seeds.parking_camera(f"{marker}-GATE", name=f"{marker} gate", type="ENTRANCE")
        return seeds.account(
            token,
            licenses=[seeds.license(f"{marker}-LIC", size=20, cameras=[seeded])],
            parkings=[seeds.parking(f"{marker}-lot", cameras=[gate])],
        )

    return seeds.world(*(tenant(token, marker) for token, marker in ACCOUNTS.values()))


class TwoTenants(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = create_app(Config(seed="none", tick_seconds=0))
        self.client = self.app.test_client()
        reply = self.client.post("/_mock/seed", json=seed())
        assert reply.status_code == 201, reply.json
        self.license = {
            who: reply.json["accounts"][n]["licenses"][0]["id"]
            for n, who in enumerate(sorted(ACCOUNTS))
        }
        self.client.post("/_mock/clock", json={"set": START})
        self.media: dict[str, set[str]] = {who: set() for who in ACCOUNTS}
        self.ids: dict[str, dict[str, set]] = {who: {} for who in ACCOUNTS}
        self.calls = 0

    def teardown(self) -> None:
        self.app.extensions["mockserver"].close()

    # -- one call, checked ----------------------------------------------------------------

    def call(self, who: str, method: str, path: str, **options):
        token, _marker = ACCOUNTS[who]
        other = ACCOUNTS["B" if who == "A" else "A"][1]
        reply = self.client.open(
            path, method=method, headers={"Authorization": f"Token {token}"}, **options
        )
        self.calls += 1
        assert reply.status_code < 500, (path, reply.get_data()[:200])
        text = reply.get_data(as_text=True)
        assert other not in text.upper(), (who, path, text[:300])
        for url_path in MEDIA_URL.findall(text):
            match = MEDIA_PATH.match(url_path)
            assert match, url_path  # kind and 32 random hex digits: nothing user-supplied
            self.media[who].add(match.group(2))
        return reply

    def remember(self, who: str, kind: str, rows: list[dict]) -> None:
        self.ids[who].setdefault(kind, set()).update(row["id"] for row in rows if "id" in row)

    def serial(self, who: str, index: int) -> str:
        return f"{ACCOUNTS[who][1]}-CAM{index}"

    # -- VisionAlert ----------------------------------------------------------------------

    @rule(who=WHO, index=INDEX, image=INDEX, tagged=st.booleans())
    def upload(self, who, index, image, tagged):
        data = {
            "camera_id": self.serial(who, index),
            "upload": (io.BytesIO(IMAGES[image]), "a.jpg"),
        }
        if tagged:
            data["tag"] = f"{ACCOUNTS[who][1]}-T{index}"
        reply = self.call(who, "POST", "/v1/vision-alert/create-log/", data=data)
        assert reply.status_code in (200, 429), reply.json

    @rule(seconds=st.sampled_from([5, 60, 901, 3700]))
    def advance(self, seconds):
        assert self.client.post("/_mock/clock", json={"advance": seconds}).status_code == 200

    @rule(who=WHO, index=INDEX)
    def delete_camera(self, who, index):
        path = f"/v1/vision-alert/{self.license[who]}/cameras/{self.serial(who, index)}/"
        assert self.call(who, "DELETE", path).status_code in (204, 404)

    @rule(who=WHO, index=INDEX, image=INDEX)
    def set_reference(self, who, index, image):
        path = f"/v1/vision-alert/{self.license[who]}/cameras/{self.serial(who, index)}/reference/"
        reply = self.call(who, "POST", path, data={"upload": (io.BytesIO(IMAGES[image]), "r.jpg")})
        assert reply.status_code in (201, 404)

    @rule(who=WHO)
    def read_visionalert(self, who):
        lic = self.license[who]
        licenses = self.call(who, "GET", "/v1/vision-alert/licenses/").json
        assert [row["id"] for row in licenses] == [lic]
        self.remember(who, "license", licenses)
        cameras = self.call(who, "GET", f"/v1/vision-alert/{lic}/cameras/?page_size=200").json
        self.remember(who, "camera", cameras["results"])
        logs = self.call(who, "GET", f"/v1/vision-alert/{lic}/logs/?page_size=200").json
        self.remember(who, "log", logs["results"])
        alerts = self.call(who, "GET", f"/v1/vision-alert/{lic}/alerts/?page_size=200").json
        self.remember(who, "alert", alerts["results"])
        for camera in cameras["results"]:
            serial = camera["serial"]
            self.call(who, "GET", f"/v1/vision-alert/{lic}/cameras/{serial}/logs/")
            self.call(who, "GET", f"/v1/vision-alert/{lic}/cameras/{serial}/reference/")

    @rule(who=WHO, index=INDEX)
    def cross_the_line(self, who, index):
        """The other account's license, with either account's serials: refused, no data."""
        other = "B" if who == "A" else "A"
        lic = self.license[other]
        for serial in (self.serial(other, index), self.serial(who, index)):
            for method, path in (
                ("GET", f"/v1/vision-alert/{lic}/cameras/"),
                ("GET", f"/v1/vision-alert/{lic}/logs/"),
                ("GET", f"/v1/vision-alert/{lic}/alerts/"),
                ("GET", f"/v1/vision-alert/{lic}/cameras/{serial}/logs/"),
                ("GET", f"/v1/vision-alert/{lic}/cameras/{serial}/reference/"),
                ("DELETE", f"/v1/vision-alert/{lic}/cameras/{serial}/"),
            ):
                reply = self.call(who, method, path)
                assert reply.status_code == 403, (method, path, reply.status_code)
                assert reply.json == {
                    "detail": "You do not have permission to perform this action."
                }
        # the other's serial under one's own license: not found, never the other's camera
        path = f"/v1/vision-alert/{self.license[who]}/cameras/{self.serial(other, index)}/logs/"
        assert self.call(who, "GET", path).status_code == 404

    # -- ParkPow --------------------------------------------------------------------------

    @rule(who=WHO, index=INDEX, kind=st.sampled_from(["ENTRANCE", "EXIT", "SPOT"]))
    def create_camera(self, who, index, kind):
        marker = ACCOUNTS[who][1]
        body = {"code": f"{marker}-C{index}", "name": f"{marker} c{index}", "type": kind}
        assert self.call(who, "POST", "/api/v1/create-camera/", json=body).status_code == 200

    @rule(who=WHO, index=INDEX)
    def create_vehicle(self, who, index):
        body = {"license_plate": f"{ACCOUNTS[who][1]}P{index}", "payment_status": "1"}
        assert self.call(who, "POST", "/api/v1/create-vehicle/", json=body).status_code == 200

    @rule(who=WHO, camera=INDEX, plate=INDEX, image=INDEX)
    def log_vehicle(self, who, camera, plate, image):
        marker = ACCOUNTS[who][1]
        data = {
            "camera": f"{marker}-C{camera}",
            "results": f'[{{"plate": "{marker}P{plate}", "score": 0.9}}]',
            "image": (io.BytesIO(IMAGES[image]), "plate.jpg"),
        }
        assert self.call(who, "POST", "/api/v1/log-vehicle/", data=data).status_code == 200

    @rule(who=WHO)
    def read_parkpow(self, who):
        parkings = self.call(who, "GET", "/api/v1/parking-list/").json
        assert all(ACCOUNTS[who][1] in parking["name"] for parking in parkings)
        visits = self.call(who, "GET", "/api/v1/visit-list/?start=2026-01-01").json
        self.remember(who, "visit", visits)

    # -- media ----------------------------------------------------------------------------

    @precondition(lambda self: bool(self.media["A"] or self.media["B"]))
    @rule(who=WHO)
    def fetch_own_media(self, who):
        """Every media URL handed to an account serves an image (or is gone after a delete)."""
        for name in sorted(self.media[who])[:3]:
            for kind in ("camera_snapshot", "camera_reference", "parkpow"):
                for ext in ("jpg", "png"):
                    reply = self.client.get(f"/media/{kind}/{name}.{ext}")
                    assert reply.status_code in (200, 404)
                    if reply.status_code == 200:
                        assert reply.mimetype.startswith("image/")

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def no_shared_media_or_ids(self):
        assert not (self.media["A"] & self.media["B"]), self.media
        for kind in set(self.ids["A"]) & set(self.ids["B"]):
            assert not (self.ids["A"][kind] & self.ids["B"][kind]), kind


TwoTenants.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
test_two_tenants_never_see_each_other = TwoTenants.TestCase


def test_media_names_are_random_not_derived(client):
    """Same bytes, many uploads: a new 128-bit name each time, unrelated to the content."""
    import hashlib

    reply = client.post("/_mock/seed", json=seed())
    assert reply.status_code == 201
    client.post("/_mock/clock", json={"set": START})
    token = ACCOUNTS["A"][0]
    for n in range(12):
        reply = client.post(
            "/v1/vision-alert/create-log/",
            headers={"Authorization": f"Token {token}"},
            data={"camera_id": f"ALPHA-{n}.jpg", "upload": (io.BytesIO(IMAGES[0]), "x.jpg")},
        )
        assert reply.status_code == 200, reply.json
    client.post("/_mock/clock", json={"advance": 60})
    logs = client.get("/v1/vision-alert/1/logs/?page_size=50", headers={
        "Authorization": f"Token {token}"}).json["results"]  # fmt: skip
    names = [MEDIA_PATH.match(MEDIA_URL.findall(log["snapshot"])[0]).group(2) for log in logs]
    assert len(names) == len(set(names)) == 12
    digest = hashlib.sha256(IMAGES[0]).hexdigest()
    assert all(name not in digest and digest[:32] != name for name in names)
    assert all("ALPHA" not in log["snapshot"] for log in logs)
    # 128 bits: 32 hex digits; and they vary across the whole width
    for position in range(32):
        assert len({name[position] for name in names}) > 1
