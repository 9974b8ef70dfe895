"""The ``parity_snapshot`` fixture: a test recorded once against the "live" service (an
emulator started here), then compared offline against the emulator, in an inner pytest."""

from __future__ import annotations

import pytest

from mockserver.testkit.client import MockServerClient
from mockserver.testkit.plugin import LiveServer

from . import traffic

pytest_plugins = ["pytester"]

QUIET = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:locust", "-p", "no:schemathesis"]

WALK = """
from urllib.parse import urlsplit


def walk(snapshot):
    session, url = snapshot.session, snapshot.url
    licenses = session.get(url + "/v1/vision-alert/licenses/")
    assert licenses.status_code == 200
    cameras = f"{url}/v1/vision-alert/{licenses.json()[0]['id']}/cameras/"
    page = session.get(cameras, params={"page_size": 4}).json()
    link = urlsplit(page["next"])  # followed through the snapshot's own url
    page = session.get(f"{url}{link.path}?{link.query}").json()
    assert [camera["serial"] for camera in page["results"]] == ["C3", "C2", "C1"]


def test_cameras(parity_snapshot):
    walk(parity_snapshot)


def test_cameras_again(parity_snapshot):
    walk(parity_snapshot)


def test_one_request_more_than_recorded(parity_snapshot):
    walk(parity_snapshot)
    if not parity_snapshot.recording:
        parity_snapshot.session.get(parity_snapshot.url + "/v1/vision-alert/licenses/")
"""


@pytest.fixture
def live_service():
    with LiveServer(seed="none") as server:
        MockServerClient(server.url).seed(traffic.WORLD)
        yield server


def test_a_snapshot_is_recorded_once_then_compared_offline(pytester, live_service, monkeypatch):
    pytester.makepyfile(test_walk=WALK)
    monkeypatch.setenv("MOCKSERVER_PARITY_TOKEN", traffic.TOKEN)
    recorded = pytester.runpytest_subprocess("-q", *QUIET, "--parity-upstream", live_service.url)
    recorded.assert_outcomes(passed=3)
    snapshots = pytester.path / "parity_snapshots" / "test_walk"
    tampered = snapshots / "test_cameras_again" / "exchanges.jsonl"
    assert traffic.TOKEN not in tampered.read_text()
    # the "live service" renamed a field since: the snapshot says so, the emulator does not
    tampered.write_text(tampered.read_text().replace('"latest_status"', '"state"'))
    monkeypatch.delenv("MOCKSERVER_PARITY_TOKEN")

    compared = pytester.runpytest_subprocess("-q", *QUIET)

    compared.assert_outcomes(passed=1, failed=2)
    compared.stdout.fnmatch_lines(
        [
            "*differs from the parity snapshot*test_cameras_again*",
            "*#2 GET /v1/vision-alert/*/cameras/*results[[]0[]].state*",
            "*differs from the parity snapshot*test_one_request_more_than_recorded*",
            "*#0 GET /v1/vision-alert/licenses/: request: recorded none, replayed GET*",
        ]
    )
    assert (snapshots / "test_cameras_again.report" / "parity.md").is_file()
