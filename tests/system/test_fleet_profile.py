"""The README's fleet command, run as a newcomer runs it: against `make run`'s server (the
demo seed), shortened, and no failures — the profile seeds its load account, and waits out
throttled replies instead of failing them."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from load_tests.control import Control
from load_tests.images import load_scenes
from mockserver.testkit.plugin import LiveServer

ROOT = Path(__file__).resolve().parents[2]
THROTTLED = {"detail": "Request was throttled. Expected available in 1 second."}
# fleet.py's rows in Locust's stats (not imported: importing Locust patches the process)
CREATE_LOG_NAME = "create-log"
THROTTLED_NAME = "create-log throttled (429, retried)"
RETRIED_NAME = "create-log retry"


def readme_fleet_command() -> list[str]:
    """The fleet command as the README prints it (options after ``locust``)."""
    text = (ROOT / "README.md").read_text()
    start = text.index(".venv/bin/locust -f load_tests/fleet.py")
    command = text[start : text.index("\n", text.index("--headless", start))]
    words = command.replace("\\\n", " ").split()
    assert words[:3] == [".venv/bin/locust", "-f", "load_tests/fleet.py"], words
    return words[1:]


def shortened(words: list[str], url: str, users: int, seconds: int, csv_prefix: Path) -> list:
    """The README's options with a local host, fewer users, a shorter run and our CSV."""
    values = {"--host": url, "-u": str(users), "-r": str(users), "-t": f"{seconds}s"}
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word in values:
            out += [word, values[word]]
            skip = True
        elif word in ("--csv", "--html"):
            skip = True
        else:
            out.append(word)
    return [*out, "--stop-timeout", "15", "--csv", str(csv_prefix)]


def stats(prefix: Path) -> dict[str, dict]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


@pytest.mark.timeout(120)
def test_readme_fleet_command_has_no_failures(tmp_path):
    load_scenes(1920)  # the frames are cached before the run's clock starts
    with LiveServer(workers=2, seed="demo") as server:
        control = Control(server.url)
        # a few throttled replies all the same: the profile must wait and retry them
        control.add_fault(
            "/v1/vision-alert/create-log", status=429, body=THROTTLED,
            headers={"Retry-After": "1"}, times=3,
        )  # fmt: skip
        command = shortened(readme_fleet_command(), server.url, 60, 12, tmp_path / "fleet")
        assert "--emulator" in command
        token = command[command.index("--token") + 1]
        run = subprocess.run(
            [sys.executable, "-m", "locust", *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=100,
            env=os.environ.copy(),
        )
        summary = run.stdout[-3000:] + run.stderr[-3000:]
        assert run.returncode == 0, summary
        rows = stats(tmp_path / "fleet")
        assert int(rows["Aggregated"]["Failure Count"]) == 0, summary
        assert int(rows[CREATE_LOG_NAME]["Request Count"]) >= 50, summary  # 60 cameras, 12 s
        assert int(rows[THROTTLED_NAME]["Request Count"]) == 3, summary
        assert int(rows[RETRIED_NAME]["Request Count"]) == 3, summary
        assert control.rate_limit(token) is None  # the load account it seeded


@pytest.mark.timeout(120)
def test_an_existing_account_gets_its_throttle_back(tmp_path):
    """The demo account (throttled, as seeded): lifted for the run, restored after it."""
    with LiveServer(workers=1, seed="demo") as server:
        control = Control(server.url)
        assert control.rate_limit("demo-token") == 1
        command = shortened(readme_fleet_command(), server.url, 20, 8, tmp_path / "demo")
        command[command.index("--token") + 1] = "demo-token"
        run = subprocess.run(
            [sys.executable, "-m", "locust", *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=100,
            env=os.environ.copy(),
        )
        summary = run.stdout[-3000:] + run.stderr[-3000:]
        assert run.returncode == 0, summary
        rows = stats(tmp_path / "demo")
        assert int(rows["Aggregated"]["Failure Count"]) == 0, summary
        assert int(rows[CREATE_LOG_NAME]["Request Count"]) >= 6, summary
        assert control.rate_limit("demo-token") == 1
