"""A full disk under the embedded store: the SQLite files and the media on a small
filesystem this test mounts (tmpfs with a size cap), filled to the last byte while a live
server takes uploads. Uploads get 507, reads keep working, nothing committed is damaged,
and once space is freed uploads are accepted again, without a restart.

Mounting needs root (CI runs as root): elsewhere the test is skipped with a message,
except under ``CI=true``, where it must run.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections import Counter

import pytest
import requests

from mockserver.core.outages import DISK_FULL_TEXT
from mockserver.testkit.plugin import LiveServer

from ..control.test_control_hardening import seed as hook_seed
from ..images import solid

TOKEN = {"Authorization": "Token tok-hard"}
CREATE_LOG = "/v1/vision-alert/create-log/"
SIZE = "24m"

pytestmark = pytest.mark.timeout(120)


def _unless_ci(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def small_disk():
    """A tmpfs of ``SIZE`` mounted on a fresh directory, unmounted afterwards."""
    if os.geteuid() != 0:
        _unless_ci("the disk-full test mounts a small tmpfs: run it as root (CI does)")
    where = tempfile.mkdtemp(prefix="mockserver-disk-")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", where],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        os.rmdir(where)
        _unless_ci(f"cannot mount a tmpfs here ({done.stderr.strip()}): needs CAP_SYS_ADMIN")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", where], capture_output=True)
        os.rmdir(where)


def _fill(directory: str) -> str:
    """Take every free byte of the filesystem; returns the filler's path."""
    path = os.path.join(directory, "filler")
    block = b"\0" * (1 << 16)
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
        try:  # the last partial block
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass
    return path


def _upload(session, url: str, camera: str, shade: int):
    image = solid((320, 240), (shade % 256, (shade * 7) % 256, (shade * 13) % 256), quality=90)
    return session.post(
        f"{url}{CREATE_LOG}",
        headers=TOKEN,
        data={"camera_id": camera},
        files={"upload": ("a.jpg", image, "image/jpeg")},
        timeout=30,
    )


def _logs_per_camera(store: str) -> Counter:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute(
            "SELECT c.serial FROM va_logs l JOIN va_cameras c ON c.id = l.camera_id"
        ).fetchall()
    return Counter(serial for (serial,) in rows)


def test_full_disk_refuses_uploads_with_507_keeps_reads_and_recovers(small_disk):
    data_dir = os.path.join(small_disk, "data")
    with LiveServer(workers=1, seed="none", data_dir=data_dir) as live:
        session = requests.Session()
        seeded = session.post(f"{live.url}/_mock/seed", json=hook_seed())
        license_id = seeded.json()["accounts"][0]["licenses"][0]["id"]
        logs = f"{live.url}/v1/vision-alert/{license_id}/logs/"
        acked, shade = [], 0
        for number in range(10):
            shade += 1
            reply = _upload(session, live.url, f"BEFORE{number}", shade)
            assert reply.status_code == 200, reply.text
            acked.append(f"BEFORE{number}")

        filler = _fill(small_disk)
        refused = Counter()
        for number in range(20):
            shade += 1
            reply = _upload(session, live.url, f"FULL{number}", shade)
            assert reply.status_code in (200, 507), (reply.status_code, reply.text)
            if reply.status_code == 200:  # room left in a page SQLite already had
                acked.append(f"FULL{number}")
            else:
                assert reply.json() == {"detail": DISK_FULL_TEXT}
                assert reply.headers["Retry-After"] == "2"
            refused[reply.status_code] += 1
        assert refused[507] >= 15, refused
        # reads keep working
        for path in (logs, f"{live.url}/v1/vision-alert/licenses/"):
            assert session.get(path, headers=TOKEN, timeout=30).status_code == 200
        session.post(f"{live.url}/_mock/clock", json={"advance": 3600})
        listed = session.get(logs, headers=TOKEN, params={"page_size": 100}, timeout=30)
        assert listed.status_code == 200, listed.text
        # nothing committed is damaged, every acknowledged upload is there once
        stored = _logs_per_camera(os.path.join(data_dir, "store.sqlite3"))
        assert {key: stored[key] for key in acked} == {key: 1 for key in acked}
        assert not any(key.startswith("FULL") and key not in acked for key in stored)

        os.remove(filler)  # space again: uploads are accepted, no restart
        for number in range(5):
            shade += 1
            reply = _upload(session, live.url, f"AFTER{number}", shade)
            assert reply.status_code == 200, reply.text
            acked.append(f"AFTER{number}")
        stored = _logs_per_camera(os.path.join(data_dir, "store.sqlite3"))
        assert {key: stored[key] for key in acked} == {key: 1 for key in acked}
        print(f"\n[disk full] uploads while full: {dict(refused)}; {len(acked)} acknowledged")
