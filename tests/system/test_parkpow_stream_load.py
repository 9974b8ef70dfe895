"""The Stream profile (``load_tests/stream.py``) as a bounded smoke load: Stream cameras'
webhooks and ParkPow's tools against a live two-worker emulator, no failure, no lost sighting.
"""

from __future__ import annotations

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
from mockserver.testkit.plugin import LiveServer

from .test_smoke_load import SEED, TOKEN, stats_rows

ROOT = Path(__file__).resolve().parents[2]
VEHICLES = 16
TOOLS = 2
SECONDS = 10


@pytest.mark.timeout(120)
def test_stream_profile_loses_no_sighting(tmp_path):
    load_scenes(1920)
    with LiveServer(workers=2, seed="none") as server:
        control = Control(server.url)
        control.seed(SEED)
        report_prefix = tmp_path / "stream"
        ledger = tmp_path / "ledger" / "run"
        command = [
            sys.executable, "-m", "locust", "-f", f"{ROOT}/load_tests/stream.py",
            "StreamVehicleUser", "ToolsUser", "--config-users", json.dumps(
                [{"user_class_name": "StreamVehicleUser", "fixed_count": VEHICLES},
                 {"user_class_name": "ToolsUser", "fixed_count": TOOLS}]
            ),
            "--headless", "--only-summary", "--host", server.url,
            "-u", str(VEHICLES + TOOLS), "-r", str(VEHICLES + TOOLS),
            "-t", f"{SECONDS}s", "--stop-timeout", "20",
            "--token", TOKEN, "--emulator", "--time-scale", "90", "--dwell-minutes", "3",
            "--ledger", str(ledger), "--csv", str(report_prefix),
        ]  # fmt: skip
        run = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=100, env=os.environ.copy()
        )
        summary = run.stdout[-3000:] + run.stderr[-3000:]
        assert run.returncode == 0, summary
        rows = stats_rows(report_prefix)
        assert int(rows["Aggregated"]["Failure Count"]) == 0, summary
        assert int(rows["webhook-receiver (multipart)"]["Request Count"]) > 0, summary
        assert int(rows["visit-list (live, one-second window)"]["Request Count"]) > 0, summary
        assert not [name for name in rows if "log-vehicle" in name], summary  # Stream only
        written = read_ledgers(str(ledger))
        assert not written.failures and len(written.sightings) >= VEHICLES, summary
        clock = control.advance(60)
        now = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
        report = verify(server.url, TOKEN, written, now, patience=20)
        assert report.ok, report.summary()
