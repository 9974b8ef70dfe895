"""Crash durability: SIGKILL in the middle of a load run loses no acknowledged write.

A two-worker server on a data directory takes uploads, vehicle imports and sightings
from many threads while a clock thread keeps due work running; it is killed with
SIGKILL (the whole process group) mid-run, restarted on the same directory, and then:
every write that was answered 2xx is there, the store passes ``PRAGMA integrity_check``,
the work that was pending (and the work a dead worker had claimed) runs after the
restart, and media files and rows agree in both directions.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import time
from collections import Counter

import requests
from PIL import Image

from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

from ..images import encode
from ..state_digest import media_files

TOKEN = "tok-dur"
START = "2026-04-10T14:30:00Z"
THREADS = 8
KILL_AFTER = 90  # acknowledged writes before the kill


def seed() -> dict:
    gate = seeds.parking_camera("GATE", name="gate", type="ENTRANCE")
    return seeds.world(
        seeds.account(
            TOKEN,
            licenses=[seeds.license("LIC-DUR", size=5000)],
            parkings=[seeds.parking("lot", absent_timer=0, cameras=[gate])],
        )
    )


def jpeg(number: int) -> bytes:
    """A distinct image per number, so every upload owns its file."""
    image = Image.new("RGB", (360, 270), (number % 251, (number // 251) % 251, 90))
    image.putpixel((number % 360, 0), (255, 255, 255))
    return encode(image, quality=60)


class Load:
    """Writer threads that record what the server acknowledged, until it dies."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: dict[str, list[str]] = {"upload": [], "vehicle": [], "sighting": []}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counter = 0

    def next_number(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def ack(self, kind: str, key: str) -> None:
        with self.lock:
            self.acked[kind].append(key)

    def total(self) -> int:
        with self.lock:
            return sum(len(keys) for keys in self.acked.values())

    def writer(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Token {TOKEN}"}
        while not self.stop.is_set():
            number = self.next_number()
            kind = ("upload", "vehicle", "sighting")[number % 3]
            try:
                if kind == "upload":
                    key = f"DUR-{number:05d}"
                    reply = session.post(
                        f"{self.url}/v1/vision-alert/create-log/",
                        headers=headers,
                        data={"camera_id": key},
                        files={"upload": ("s.jpg", jpeg(number), "image/jpeg")},
                        timeout=30,
                    )
                elif kind == "vehicle":
                    key = f"VEH{number:05d}"
                    reply = session.post(
                        f"{self.url}/api/v1/create-vehicle/",
                        headers=headers,
                        json={"license_plate": key, "payment_status": "1"},
                        timeout=30,
                    )
                else:
                    key = f"SEEN{number:05d}"
                    reply = session.post(
                        f"{self.url}/api/v1/log-vehicle/",
                        headers=headers,
                        json={
                            "camera": "GATE",
                            "image": base64.b64encode(jpeg(number)).decode(),
                            "results": [{"plate": key}],
                        },
                        timeout=30,
                    )
            except requests.RequestException:
                return  # the server is gone
            assert reply.status_code < 500, reply.text
            if 200 <= reply.status_code < 300:
                self.ack(kind, key)

    def clock(self) -> None:
        """Keep due work (analyses) running during the load, so the kill finds some."""
        session = requests.Session()
        while not self.stop.is_set():
            try:
                session.post(f"{self.url}/_mock/clock", json={"advance": 2}, timeout=30)
            except requests.RequestException:
                return
            time.sleep(0.05)


def _media_agree(data_dir: str) -> tuple[set[str], set[str]]:
    """(rows whose file is missing, files no row names)."""
    with sqlite3.connect(f"file:{data_dir}/store.sqlite3?mode=ro", uri=True) as conn:
        named = {row[0] for row in conn.execute("SELECT sha256 FROM media")}
    conn.close()
    on_disk = set(media_files(data_dir))
    return named - on_disk, on_disk - named


def _all_pages(url: str, path: str) -> list[dict]:
    found, link = [], f"{url}{path}?page_size=200"
    while link:
        page = requests.get(link, headers={"Authorization": f"Token {TOKEN}"}, timeout=30)
        found += page.json()["results"]
        link = page.json()["next"]
    return found


def test_sigkill_mid_load_loses_no_acknowledged_write(tmp_path):
    data_dir = str(tmp_path / "store")
    first = LiveServer(workers=2, seed="none", data_dir=data_dir).start()
    try:
        reply = requests.post(f"{first.url}/_mock/seed", json=seed())
        license_id = reply.json()["accounts"][0]["licenses"][0]["id"]
        requests.post(f"{first.url}/_mock/clock", json={"set": START})
        load = Load(first.url)
        threads = [threading.Thread(target=load.writer) for _ in range(THREADS)]
        threads.append(threading.Thread(target=load.clock))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while load.total() < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        first.kill()  # SIGKILL to the whole process group, writers still sending
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        first.stop()
    acked = load.acked
    assert load.total() >= KILL_AFTER, acked

    with sqlite3.connect(f"file:{data_dir}/store.sqlite3?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()

    with LiveServer(workers=2, seed="none", data_dir=data_dir) as second:
        url, headers = second.url, {"Authorization": f"Token {TOKEN}"}
        # every acknowledged upload: its camera exists, and after the processing delay
        # (pending, or claimed by a dead worker) exactly one log per upload
        requests.post(f"{url}/_mock/clock", json={"advance": 60}, timeout=120)
        cameras = {c["serial"] for c in _all_pages(url, f"/v1/vision-alert/{license_id}/cameras/")}
        assert set(acked["upload"]) <= cameras
        logs = Counter(
            log["camera_serial"]
            for log in _all_pages(url, f"/v1/vision-alert/{license_id}/logs/")
            if log["status"] != "offline"
        )
        assert {serial: logs[serial] for serial in acked["upload"]} == {
            serial: 1 for serial in acked["upload"]
        }
        # every acknowledged sighting opened its visit
        visits = requests.get(
            f"{url}/api/v1/visit-list/", params={"start": "2026-01-01"}, headers=headers
        ).json()
        plates = {visit["vehicle"]["license_plate"] for visit in visits}
        assert set(acked["sighting"]) <= plates
        # every acknowledged vehicle import (read from the store: no API lists vehicles)
        with sqlite3.connect(f"file:{data_dir}/store.sqlite3?mode=ro", uri=True) as conn:
            stored = {row[0] for row in conn.execute("SELECT license_plate FROM pp_vehicles")}
        conn.close()
        assert set(acked["vehicle"]) <= stored
        # media: no row without its file, no file without a row (the restart swept the
        # bytes of requests that died before their commit)
        missing, orphans = _media_agree(data_dir)
        assert not missing and not orphans, (missing, orphans)
        # deleting cameras removes their files and rows together
        for serial in acked["upload"][:10]:
            reply = requests.delete(
                f"{url}/v1/vision-alert/{license_id}/cameras/{serial}/", headers=headers
            )
            assert reply.status_code == 204
        missing, orphans = _media_agree(data_dir)
        assert not missing and not orphans, (missing, orphans)
        files_left = len(media_files(data_dir))
    print(
        f"\n[durability] killed after {sum(len(v) for v in acked.values())} acknowledged writes "
        f"(uploads {len(acked['upload'])}, vehicles {len(acked['vehicle'])}, sightings "
        f"{len(acked['sighting'])}); after restart: lost 0, integrity ok, {files_left} files, "
        f"0 missing, 0 orphans"
    )
    assert os.path.isdir(data_dir)


def test_work_a_killed_worker_had_claimed_runs_after_restart(tmp_path):
    """A webhook delivery hangs (its job claimed by the dying worker's tick) when the
    server is killed: after the restart it is delivered at once, not after the lease ran
    out; a media file no row names (a write killed before its commit) is swept."""
    from ..control.test_control_hardening import HangingReceiver, raise_alert
    from ..control.test_control_hardening import seed as hook_seed

    data_dir = str(tmp_path / "store")
    receiver = HangingReceiver()
    env = {"MOCKSERVER_WEBHOOK_TIMEOUT": "60", "MOCKSERVER_TICK_SECONDS": "0.2"}
    try:
        first = LiveServer(workers=2, seed="none", data_dir=data_dir, env=env).start()
        try:
            session = requests.Session()
            reply = session.post(f"{first.url}/_mock/seed", json=hook_seed(webhook=receiver.url))
            license_id = reply.json()["accounts"][0]["licenses"][0]["id"]
            session.post(f"{first.url}/_mock/clock", json={"set": START})
            raise_alert(session, first.url, license_id)
            assert receiver.arrived.wait(20), "the webhook never reached the receiver"
            first.kill()  # the delivery is in flight: its job is claimed by a dead worker
        finally:
            first.stop()
        with sqlite3.connect(f"file:{data_dir}/store.sqlite3?mode=ro", uri=True) as conn:
            leased = conn.execute(
                "SELECT count(*) FROM jobs WHERE kind = 'va.webhook' AND lease_until IS NOT NULL"
            ).fetchone()[0]
        conn.close()
        assert leased == 1
        stray = os.path.join(data_dir, "media", "ff", "ff" + "0" * 62)
        os.makedirs(os.path.dirname(stray), exist_ok=True)
        with open(stray, "wb") as handle:
            handle.write(b"bytes of a request that died before its commit")
        receiver.arrived.clear()
        receiver.release.set()  # from now on the receiver answers 200 at once
        with LiveServer(workers=2, seed="none", data_dir=data_dir, env=env) as second:
            assert not os.path.exists(stray)
            assert receiver.arrived.wait(20), "the claimed delivery did not run after restart"
            deadline, delivered = time.monotonic() + 20, []
            while not delivered and time.monotonic() < deadline:
                found = requests.get(f"{second.url}/_mock/visionalert/deliveries").json()
                found = found.get("deliveries", found) if isinstance(found, dict) else found
                delivered = [d for d in found if d["channel"] == "webhook" and d["ok"]]
                time.sleep(0.05)
            assert delivered
            alerts = requests.get(
                f"{second.url}/v1/vision-alert/{license_id}/alerts/",
                headers={"Authorization": "Token tok-hard"},
            ).json()["results"]
            assert [alert["sent"] for alert in alerts] == [True]
        missing, orphans = _media_agree(data_dir)
        assert not missing and not orphans
    finally:
        receiver.close()
