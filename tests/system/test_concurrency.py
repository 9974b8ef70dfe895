"""Concurrency across worker processes: no lost writes, no double acceptance, no 500.

One live server with two worker processes (``--workers 2``) sharing one SQLite store;
many client threads at once. Every figure (requests, accepted, lost) is printed, so
``pytest -s`` shows them.
"""

from __future__ import annotations

import base64
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

from ..images import solid

TOKEN = "tok-conc"
START = "2026-04-10T14:30:00Z"
THREADS = 16
GATES = {"E1": "ENTRANCE", "E2": "ENTRANCE", "S1": "SPOT", "X1": "EXIT", "X2": "EXIT"}


def seed() -> dict:
    gates = [seeds.parking_camera(code, name=code, type=kind) for code, kind in GATES.items()]
    return seeds.world(
        seeds.account(
            TOKEN,
            licenses=[seeds.license("LIC-CONC", size=1000)],
            parkings=[seeds.parking("lot", parking_spaces=500, absent_timer=0, cameras=gates)],
        )
    )


def jpeg(shade: int) -> bytes:
    return solid((400, 300), (shade % 256, (shade * 7) % 256, (shade * 13) % 256), quality=70)


IMAGES = [jpeg(shade) for shade in range(8)]


@pytest.fixture(scope="module")
def server():
    with LiveServer(workers=2, seed="none") as live:
        yield live


@pytest.fixture
def world(server):
    """The server reset and seeded, the clock frozen at START; returns (url, license id)."""
    session = requests.Session()
    assert session.post(f"{server.url}/_mock/reset?seed=none").status_code == 200
    reply = session.post(f"{server.url}/_mock/seed", json=seed())
    assert reply.status_code == 201, reply.text
    assert session.post(f"{server.url}/_mock/clock", json={"set": START}).status_code == 200
    return server.url, reply.json()["accounts"][0]["licenses"][0]["id"]


def _parallel(calls: list, work) -> list:
    local = {}

    def run(call):
        import threading

        session = local.setdefault(threading.get_ident(), requests.Session())
        return work(session, call)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, calls))


def _upload(url: str, serial: str, content: bytes):
    def work(session: requests.Session, _call) -> tuple[str, int, dict]:
        reply = session.post(
            f"{url}/v1/vision-alert/create-log/",
            headers={"Authorization": f"Token {TOKEN}"},
            data={"camera_id": serial},
            files={"upload": ("snap.jpg", content, "image/jpeg")},
            timeout=60,
        )
        return serial, reply.status_code, reply.json()

    return work


def _all_pages(url: str, path: str) -> list[dict]:
    found, link = [], f"{url}{path}?page_size=200"
    while link:
        page = requests.get(link, headers={"Authorization": f"Token {TOKEN}"}, timeout=60).json()
        found += page["results"]
        link = page["next"]
    return found


def test_one_camera_one_instant_exactly_one_accepted_per_window(world):
    url, _license = world
    per_window, windows, statuses = 48, 3, Counter()
    for window in range(windows):
        image = jpeg(window)
        results = _parallel(
            list(range(per_window)),
            _upload(url, "ONE-CAM", image),
        )
        codes = Counter(status for _serial, status, _body in results)
        statuses.update(codes)
        assert codes[200] == 1, codes
        assert codes[429] == per_window - 1, codes
        refused = {body["message"] for _s, status, body in results if status == 429}
        assert refused == {"Camera already uploaded a log recently."}
        requests.post(f"{url}/_mock/clock", json={"advance": 900})
    logs = _all_pages(url, f"/v1/vision-alert/{_license}/cameras/ONE-CAM/logs/")
    assert len(logs) == windows, logs  # one log per accepted upload
    print(
        f"\n[concurrency] one camera: {per_window * windows} uploads, 2 workers, "
        f"{THREADS} threads, {windows} windows -> accepted {statuses[200]}, "
        f"refused {statuses[429]}, 5xx {sum(n for s, n in statuses.items() if s >= 500)}"
    )


def test_many_cameras_every_accepted_upload_becomes_one_log(world):
    url, license_id = world
    serials = [f"CAM-{i:04d}" for i in range(160)]
    results = _parallel(
        serials,  # eight different images: scores are cached per content, files are shared
        lambda session, serial: _upload(url, serial, IMAGES[int(serial[-4:]) % 8])(session, 0),
    )
    codes = Counter(status for _serial, status, _body in results)
    accepted = {serial for serial, status, _body in results if status == 200}
    assert not [s for s in codes if s >= 500], codes
    assert len(accepted) == len(serials), codes  # distinct cameras, no throttle: all accepted
    # past the processing delay: the advance answers once every due analysis has run,
    # in whichever worker process claimed it
    requests.post(f"{url}/_mock/clock", json={"advance": 60})
    logs = _all_pages(url, f"/v1/vision-alert/{license_id}/logs/")
    uploads = Counter(log["camera_serial"] for log in logs)
    lost = accepted - set(uploads)
    doubled = {serial for serial, n in uploads.items() if n != 1}
    assert not lost and not doubled, (lost, doubled)
    cameras = _all_pages(url, f"/v1/vision-alert/{license_id}/cameras/")
    assert sorted(camera["serial"] for camera in cameras) == sorted(serials)
    print(
        f"\n[concurrency] many cameras: {len(serials)} uploads, 2 workers, {THREADS} threads "
        f"-> accepted {len(accepted)}, logs {sum(uploads.values())}, lost {len(lost)}, "
        f"duplicated {len(doubled)}"
    )


def _sighting(url: str, image64: str):
    def work(session: requests.Session, call: tuple[str, list[str], str]) -> int:
        gate, plates, when = call
        reply = session.post(
            f"{url}/api/v1/log-vehicle/",
            headers={"Authorization": f"Token {TOKEN}"},
            json={
                "camera": gate,
                "image": image64,
                "results": [{"plate": plate, "score": 0.9} for plate in plates],
                "time": when,
            },
            timeout=60,
        )
        assert reply.json() == "OK" or reply.status_code != 200
        return reply.status_code

    return work


def test_parallel_gates_keep_visits_consistent(world):
    url, _license = world
    image64 = base64.b64encode(jpeg(7)).decode()
    plates = [f"PL{i:03d}" for i in range(60)]
    batches = [plates[i : i + 5] for i in range(0, len(plates), 5)]
    arrive, leave = "2026-04-10 14:00:00.000000+0000", "2026-04-10 14:20:00.000000+0000"
    # every plate seen at once by both entrances and the spot camera, then by both exits
    entries = [(gate, batch, arrive) for batch in batches for gate in ("E1", "E2", "S1")] * 2
    exits = [(gate, batch, leave) for batch in batches for gate in ("X1", "X2")] * 2
    statuses = Counter(_parallel(entries, _sighting(url, image64)))
    visits = requests.get(
        f"{url}/api/v1/visit-list/",
        params={"start": "2026-04-10", "end": "2026-04-10"},
        headers={"Authorization": f"Token {TOKEN}"},
    ).json()
    per_plate = Counter(visit["vehicle"]["license_plate"] for visit in visits)
    assert per_plate == Counter({plate: 1 for plate in plates}), per_plate
    assert all(visit["end_date"] == "None" for visit in visits)
    statuses.update(_parallel(exits, _sighting(url, image64)))
    assert statuses == Counter({200: len(entries) + len(exits)}), statuses
    visits = requests.get(
        f"{url}/api/v1/visit-list/",
        params={"start": "2026-04-10", "end": "2026-04-10"},
        headers={"Authorization": f"Token {TOKEN}"},
    ).json()
    per_plate = Counter(visit["vehicle"]["license_plate"] for visit in visits)
    assert per_plate == Counter({plate: 1 for plate in plates}), per_plate  # none lost, none two
    open_visits = [visit for visit in visits if visit["end_date"] == "None"]
    assert not open_visits
    assert {visit["duration"] for visit in visits} == {20.0}
    assert {visit["start_cam"]["code"] for visit in visits} <= {"E1", "E2", "S1"}
    assert {visit["end_cam"]["code"] for visit in visits} <= {"X1", "X2"}
    print(
        f"\n[concurrency] parking gates: {len(entries) + len(exits)} log-vehicle requests "
        f"({(len(entries) + len(exits)) * 5} sightings), 2 workers, {THREADS} threads -> "
        f"{len(plates)} plates, {len(visits)} visits, open {len(open_visits)}, lost "
        f"{len(set(plates) - set(per_plate))}"
    )
