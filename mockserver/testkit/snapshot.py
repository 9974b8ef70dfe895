"""Parity snapshots from the tests: run a test once against the live service, keep its
exchanges, and compare the emulator against them on every later run, offline.

A test asks for the ``parity_snapshot`` fixture and sends its requests through
``parity_snapshot.session`` to ``parity_snapshot.url``::

    def test_licenses(parity_snapshot):
        licenses = parity_snapshot.session.get(parity_snapshot.url + "/v1/vision-alert/licenses/")
        assert licenses.status_code == 200

* ``pytest --parity-upstream https://api.platerecognizer.com`` (repeatable) with the token
  in ``MOCKSERVER_PARITY_TOKEN``: the requests go through a recording proxy to the live
  service and the snapshot (a cassette, tokens redacted) is written to
  ``<parity_snapshots>/<module>/<test>/``;
* without ``--parity-upstream``: the session's emulator (``mockserver_session``) is reset
  and seeded from what the snapshot implies; each request the test sends goes to it with
  the clock set to the recorded instant, and its reply is compared with the recorded one
  (``mockserver.parity.compare``). The test fails on any difference, with the JSON paths
  (a Markdown and a JUnit report beside the snapshot); a test without a snapshot is skipped.

ini option ``parity_snapshots``: the snapshots' folder (default ``parity_snapshots``, under
the rootdir).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ..parity import report
from ..parity.cassette import Cassette
from ..parity.compare import DIFFERENT, Difference, Verdict, judge
from ..parity.recorder import RecordingProxy, RecordingServer
from ..parity.replay import Replay, Result, rules_for

TOKEN_VARIABLE = "MOCKSERVER_PARITY_TOKEN"


@dataclass
class Snapshot:
    """Where a test sends its requests, and with which credentials (already set)."""

    url: str
    session: requests.Session
    folder: Path
    recording: bool
    results: list[Result] = field(default_factory=list)
    replay: Replay | None = None


class ComparingSession(requests.Session):
    """Sends each request to the emulator on the clock of the recorded exchange it stands
    for, and judges the reply against the recorded one."""

    def __init__(self, replay: Replay, exchanges: list[dict], results: list[Result]) -> None:
        super().__init__()
        self.trust_env = False
        self.replay = replay
        self.pending = list(exchanges)
        self.results = results

    def request(self, method, url, *args, **kwargs):
        recorded = self.pending.pop(0) if self.pending else None
        if recorded is not None:
            self.replay.set_clock(recorded["time"])
        response = super().request(method, url, *args, **kwargs)
        replayed = self.replay.as_recorded(response)
        path = urlsplit(response.request.url).path
        if recorded is None:
            gone = Difference("request", "none", f"{method.upper()} {path}")
            extra = {
                "seq": 0,
                "request": {"method": method.upper(), "path": path, "query": []},
                "response": {"status": "-"},
            }
            self.results.append(Result(extra, replayed, Verdict(DIFFERENT, [gone])))
            return response
        verdict = judge(
            recorded["response"],
            replayed,
            rules_for(recorded["request"]["path"]),
            self.replay.aliases,
            self.replay.translate,
        )
        sent, expected = (
            (method.upper(), path),
            (
                recorded["request"]["method"],
                self.replay.where(recorded["request"])[0],
            ),
        )
        if sent != expected:
            verdict.outcome = DIFFERENT
            verdict.differences.insert(0, Difference("request", " ".join(expected), " ".join(sent)))
        self.results.append(Result(recorded, replayed, verdict))
        return response


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--parity-upstream",
        action="append",
        default=[],
        help=f"record parity snapshots against this live service (token in ${TOKEN_VARIABLE})",
    )
    parser.addini("parity_snapshots", "folder of the parity snapshots", default="parity_snapshots")


def snapshot_folder(request) -> Path:
    root = Path(str(request.config.rootpath)) / request.config.getini("parity_snapshots")
    module = Path(str(request.node.path)).stem
    return root / module / request.node.name.replace("/", "_")


@pytest.fixture
def parity_snapshot(request):
    """Record this test's exchanges against the live service, or compare the emulator with
    the recorded ones (see the module docstring)."""
    folder = snapshot_folder(request)
    upstreams = request.config.getoption("--parity-upstream")
    if upstreams:
        token = os.environ.get(TOKEN_VARIABLE)
        if not token:
            pytest.fail(f"--parity-upstream needs the live service's token in ${TOKEN_VARIABLE}")
        shutil.rmtree(folder, ignore_errors=True)
        proxy = RecordingProxy(upstreams, Cassette(folder))
        with RecordingServer(proxy) as server:
            session = requests.Session()
            session.trust_env = False
            session.headers["Authorization"] = f"Token {token}"
            yield Snapshot(server.url, session, folder, recording=True)
        return
    if not (folder / "exchanges.jsonl").is_file():
        pytest.skip(f"no parity snapshot at {folder}: record one with --parity-upstream URL")
    emulator = request.getfixturevalue("mockserver_session")
    cassette = Cassette(folder)
    exchanges = cassette.exchanges()
    replay = Replay(cassette, emulator.url)
    replay.prepare(exchanges)
    results: list[Result] = []
    session = ComparingSession(replay, exchanges, results)
    first = next(iter(replay.tokens.values()), None)
    if first:
        session.headers["Authorization"] = f"Token {first}"
    yield Snapshot(emulator.url, session, folder, recording=False, results=results, replay=replay)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test compared with its snapshot fails, after its own body, on any difference."""
    outcome = yield
    snapshot = getattr(item, "funcargs", {}).get("parity_snapshot")
    if isinstance(snapshot, Snapshot) and not snapshot.recording:
        verify(snapshot)
    return outcome


def verify(snapshot: Snapshot) -> None:
    results, folder = snapshot.results, snapshot.folder
    for missed in snapshot.session.pending:
        request = missed["request"]
        gone = Difference("request", f"{request['method']} {request['path']}", "none")
        results.append(Result(missed, {"status": "-"}, Verdict(DIFFERENT, [gone])))
    snapshot.session.pending = []
    different = [result for result in results if result.verdict.outcome == DIFFERENT]
    if not different:
        return
    markdown, _ = report.write(
        results, str(folder), snapshot.url, folder.parent / f"{folder.name}.report"
    )
    lines = [
        f"#{r.exchange['seq']} {r.exchange['request']['method']} {r.exchange['request']['path']}: "
        + "; ".join(str(d) for d in r.verdict.differences)
        for r in different
    ]
    pytest.fail(
        f"the emulator differs from the parity snapshot {folder} ({markdown}):\n"
        + "\n".join(lines),
        pytrace=False,
    )
