"""A bounded smoke load (well under a minute): a few hundred time-compressed cameras and a
parking gate against a live two-worker emulator, then no lost writes.

Locust runs headless in a subprocess (``load_tests/fleet.py`` + ``load_tests/gate.py``);
each load process writes a ledger of what it got accepted. Afterwards the clock is
advanced an hour (every analysis completes) and the public read APIs must show exactly
one log per accepted upload and a visit for every accepted sighting.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from load_tests.control import Control
from load_tests.images import load_scenes
from load_tests.verify import read_ledgers, verify
from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-smoke"
CAMERAS = 200
VEHICLES = 20
SECONDS = 15

SEED = seeds.world(
    seeds.account(
        TOKEN,  # a fleet on one account: no per-account throttle (the builder's default)
        licenses=[seeds.license("LIC-SMOKE", size=1000)],
        parkings=[seeds.parking("smoke-lot", parking_spaces=500, absent_timer=60)],
    )
)


def stats_rows(prefix: Path) -> dict[str, dict]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


@pytest.mark.timeout(150)
def test_smoke_load_loses_no_writes(tmp_path):
    load_scenes(1920)  # the frames exist before the clock of the run starts (cached)
    with LiveServer(workers=2, seed="none") as server:
        control = Control(server.url)
        control.seed(SEED)
        report_prefix = tmp_path / "smoke"
        ledger = tmp_path / "ledger" / "run"
        command = [
            sys.executable, "-m", "locust",
            "-f", f"{ROOT}/load_tests/fleet.py,{ROOT}/load_tests/gate.py",
            "CameraUser", "VehicleUser", "--config-users", json.dumps(
                [{"user_class_name": "CameraUser", "fixed_count": CAMERAS},
                 {"user_class_name": "VehicleUser", "fixed_count": VEHICLES}]
            ),
            "--headless", "--only-summary",
            "--host", server.url,
            "-u", str(CAMERAS + VEHICLES), "-r", str(CAMERAS + VEHICLES),
            "-t", f"{SECONDS}s", "--stop-timeout", "20",
            "--token", TOKEN, "--emulator", "--time-scale", "90",
            "--offline-share", "0.05", "--silent-periods", "2", "--dwell-minutes", "6",
            "--ledger", str(ledger), "--csv", str(report_prefix),
        ]  # fmt: skip
        run = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ.copy()
        )
        summary = run.stdout[-3000:] + run.stderr[-3000:]
        assert run.returncode == 0, summary

        assert int(stats_rows(report_prefix)["Aggregated"]["Failure Count"]) == 0, summary
        written = read_ledgers(str(ledger))
        assert not written.failures, summary  # also those finished during the graceful stop
        uploads = sum(written.uploads.values())
        assert len(written.uploads) >= CAMERAS * 0.9, summary  # (almost) every camera uploaded
        assert len(written.sightings) >= VEHICLES, summary

        clock = control.advance(3600)  # every accepted upload is analysed by now
        now = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
        report = verify(server.url, TOKEN, written, now, patience=20)
        assert report.ok, report.summary()
        assert report.upload_logs == uploads


def test_checker_finds_a_sighting_without_its_visit():
    from load_tests.verify import missing_sightings

    visit = {
        "vehicle": {"license_plate": "ABC1234", "status": "Unknown"},
        "start_cam": {"code": "G0-IN"},
        "end_cam": "None",
    }
    entrance = {"plate": "abc1234", "camera": "G0-IN", "kind": "entrance", "time": None}
    exit_ = {"plate": "ABC1234", "camera": "G0-OUT", "kind": "exit", "time": None}
    assert missing_sightings([entrance], [visit]) == []
    assert missing_sightings([entrance, entrance], [visit]) == [entrance]  # one visit, two entries
    assert missing_sightings([entrance, exit_], [visit]) == [exit_]  # the visit was never closed
