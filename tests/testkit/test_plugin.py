"""The pytest plugin (entry point ``pytest11``): test files that use only its fixtures,
run in a separate pytest process through ``pytester``."""

from __future__ import annotations

pytest_plugins = ["pytester"]

USING_THE_FIXTURES = """
import time

import requests


def test_a_fresh_demo_emulator(mockserver, mockserver_client):
    assert mockserver.url.startswith("http://127.0.0.1:")
    assert mockserver.tokens == ["demo-token", "demo-token-parkpow-only"]
    assert mockserver.token == "demo-token"
    license_id = mockserver.licenses["LIC-DEMO-1"]
    reply = requests.get(mockserver.url + "/v1/vision-alert/licenses/", headers=mockserver.auth())
    assert [row["id"] for row in reply.json()] == [license_id]
    assert mockserver_client is mockserver.client
    mockserver_client.seed({"accounts": [{"token": "tok-left-behind"}]})
    mockserver_client.add_fault("/api/v1/*", status=500)
    mockserver_client.set_clock("2030-01-01T00:00:00Z")


def test_each_test_starts_from_a_clean_state(mockserver):
    left = requests.get(
        mockserver.url + "/api/v1/parking-list/", headers={"Authorization": "Token tok-left-behind"}
    )
    assert left.status_code == 401
    assert mockserver.client.faults() == []
    assert mockserver.client.clock()["frozen"] is False
    assert requests.get(mockserver.url + "/api/v1/parking-list/", headers=mockserver.auth()).ok


def test_the_session_emulator_is_shared(mockserver_session, mockserver):
    assert mockserver_session.url == mockserver.url


def test_a_client_that_honours_retry_after(mockserver, mockserver_client):
    mockserver_client.add_fault(
        "/v1/vision-alert/licenses", status=429, headers={"Retry-After": "0.2"}, times=1
    )
    url = mockserver.url + "/v1/vision-alert/licenses/"
    reply = requests.get(url, headers=mockserver.auth())
    while reply.status_code == 429:
        time.sleep(float(reply.headers["Retry-After"]))
        reply = requests.get(url, headers=mockserver.auth())
    mockserver_client.assert_retry_after_honoured(mockserver.token)


def test_a_client_that_does_not(mockserver, mockserver_client):
    mockserver_client.add_fault(
        "/v1/vision-alert/licenses", status=429, headers={"Retry-After": "5"}, times=1
    )
    url = mockserver.url + "/v1/vision-alert/licenses/"
    while requests.get(url, headers=mockserver.auth()).status_code == 429:
        pass
    mockserver_client.assert_retry_after_honoured(mockserver.token)  # fails: no wait


def test_intercept_fixture(mockserver_intercept):
    reply = requests.get(
        "https://api.platerecognizer.com/v1/vision-alert/licenses/",
        headers={"Authorization": f"Token {mockserver_intercept.token}"},
    )
    assert reply.json()[0]["code"] == "LIC-DEMO-1"
    assert mockserver_intercept.client.requests()[0]["path"] == "/v1/vision-alert/licenses/"


def test_live_fixture(mockserver_live, mockserver):
    assert mockserver_live.url != mockserver.url
    assert requests.get(mockserver_live.url + "/_mock/health").json() == {"status": "ok"}
"""

OWN_SEED = """
import pytest
import requests


@pytest.fixture
def mockserver_seed():
    return {"accounts": [{"token": "tok-mine", "visionalert": {"licenses": [{"code": "MINE"}]}}]}


def test_my_seed(mockserver):
    assert mockserver.tokens == ["tok-mine"] and list(mockserver.licenses) == ["MINE"]
    reply = requests.get(mockserver.url + "/v1/vision-alert/licenses/", headers=mockserver.auth())
    assert [row["code"] for row in reply.json()] == ["MINE"]


def test_intercept_uses_it_too(mockserver_intercept):
    assert mockserver_intercept.tokens == ["tok-mine"]
"""


#: plugins of other packages that only slow the inner pytest's start down
QUIET = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:locust", "-p", "no:schemathesis"]


def test_plugin_fixtures(pytester):
    """One inner run (a pytest start is slow): default seed, own seed, ini options."""
    pytester.makepyfile(test_integration=USING_THE_FIXTURES, test_own_seed=OWN_SEED)
    pytester.makeini("[pytest]\nmockserver_workers = 2\n")
    result = pytester.runpytest_subprocess("-q", *QUIET)
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["*test_a_client_that_does_not*", "*retry_after_honoured*"])


def _open_files() -> set[str]:
    """The files this process holds open (Linux: ``/proc/self/fd``)."""
    import os

    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return found


def test_live_server_leaves_no_file_nor_open_handle(tmp_path, monkeypatch):
    """Its log lives in a private directory (``mkdtemp``) that goes when it stops; the
    handle given to the child is closed at once; the text stays readable."""
    import tempfile

    import pytest

    from mockserver.testkit.plugin import LiveServer

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    held_before = _open_files()
    with LiveServer(workers=1, seed="demo") as server:
        assert str(tmp_path) in server.log_path
        assert not any(path.startswith(str(tmp_path)) for path in _open_files() - held_before)
    assert list(tmp_path.iterdir()) == []
    assert "token demo-token" in server.log()
    with pytest.raises(RuntimeError, match="exited early"):
        LiveServer(workers=1, seed="no-such-seed").start()
    assert list(tmp_path.iterdir()) == []
    assert not any(path.startswith(str(tmp_path)) for path in _open_files())
