"""Record through the proxy, replay as a contract: an emulator stands in for the live
service (started here on 127.0.0.1), once unmutated and once with a mutant on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server

from mockserver.cli import main
from mockserver.parity.cassette import Cassette
from mockserver.parity.recorder import RecordingProxy, RecordingServer
from mockserver.testkit.client import MockServerClient
from mockserver.testkit.plugin import LiveServer, free_port

from . import traffic

#: the endpoint families of both APIs, as path templates
FAMILIES = {
    "create-log": r"/v1/vision-alert/create-log/",
    "licenses": r"/v1/vision-alert/licenses/",
    "cameras": r"/v1/vision-alert/\d+/cameras/",
    "camera": r"/v1/vision-alert/\d+/cameras/[^/]+/",
    "camera logs": r"/v1/vision-alert/\d+/cameras/[^/]+/logs/",
    "reference": r"/v1/vision-alert/\d+/cameras/[^/]+/reference/",
    "license logs": r"/v1/vision-alert/\d+/logs/",
    "alerts": r"/v1/vision-alert/\d+/alerts/",
    "media": r"/media/.+",
    **{
        name: f"/api/v1/{name}/"
        for name in (
            "create-camera",
            "create-vehicle",
            "parking-list",
            "visit-list",
            "log-vehicle",
            "webhook-receiver",
            "delete-visit",
            "vehicles",
            "vehicle-tags",
            "import-vehicles",
            "task-check",
            "trigger-alert",
        )
    },
}


@pytest.fixture(scope="module")
def upstream():
    """The stand-in for the live service (its world is made by each recording)."""
    with LiveServer(seed="none") as server:
        yield server


@pytest.fixture(scope="module")
def emulator():
    """The emulator a cassette is replayed against (a parity run resets it)."""
    with LiveServer(seed="none") as server:
        yield server


def record(upstream: LiveServer, folder: Path, scenario, mutants: list[str] = ()) -> list[dict]:
    """Make the upstream's world, switch ``mutants`` on, run ``scenario(client, advance)``
    through a recording proxy into ``folder``; returns the recorded exchanges."""
    control = MockServerClient(upstream.url)
    control.reset(seed="none")
    control.set_clock(traffic.START)
    control.seed(traffic.WORLD)
    switched = requests.post(f"{upstream.url}/_mock/mutants", json={"active": list(mutants)})
    assert switched.status_code == 200, switched.text
    proxy = RecordingProxy([upstream.url], Cassette(folder), upstream_clock=True)
    with RecordingServer(proxy) as server:
        scenario(traffic.Client(server.url), lambda seconds: settled(control, seconds))
    return Cassette(folder).exchanges()


def settled(control: MockServerClient, seconds: float) -> None:
    """Advance the upstream's clock and wait for the work due by then (as the replay does)."""
    moved = control.advance(seconds)
    while any(job["held"] for job in moved.get("pending", ())):
        moved = control.advance(0)


def parity(cassette: Path, url: str, report: Path):
    return CliRunner().invoke(
        main, ["parity", str(cassette), "--url", url, "--report", str(report)]
    )


@pytest.fixture(scope="module")
def everything(upstream, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cassettes") / "everything"
    record(upstream, folder, traffic.everything)
    return folder


def test_a_recording_of_the_emulator_replays_without_difference(emulator, everything, tmp_path):
    exchanges = Cassette(everything).exchanges()
    assert len(exchanges) >= 100
    paths = {exchange["request"]["path"] for exchange in exchanges}
    missing = [name for name, p in FAMILIES.items() if not any(re.fullmatch(p, x) for x in paths)]
    assert missing == []
    assert any(e["request"]["body"] and "multipart" in e["request"]["body"] for e in exchanges)

    assert exchanges[1]["request"]["path"] == "/v1/vision-alert/3/cameras/"

    result = parity(everything, emulator.url, tmp_path)  # the world is reset, then seeded

    assert result.exit_code == 0, result.output
    assert f"{len(exchanges)} exchanges" in result.output and "0 different" in result.output
    report = (tmp_path / "everything" / "parity.md").read_text()
    assert report.count("| identical |") + report.count("| equal except volatile |") == len(
        exchanges
    )
    suite = ElementTree.parse(tmp_path / "everything" / "parity.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == (str(len(exchanges)), "0")
    licenses = requests.get(f"{emulator.url}/v1/vision-alert/licenses/", headers=traffic.auth(1))
    assert [license["id"] for license in licenses.json()] == [1]  # replayed as license 3


def test_no_token_appears_anywhere_in_the_cassette(everything):
    secrets = (traffic.TOKEN, "wrong-token")
    found = [
        (path.name, secret)
        for path in Cassette(everything).files()
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]
    assert found == []
    lines = (everything / "exchanges.jsonl").read_text()
    assert '"authorization": "Token <token-1>"' in lines
    assert '"authorization": "Token <token-2>"' in lines  # the unknown one: another token
    assert len(list((everything / "bodies").iterdir())) >= 14  # the uploads, by hash


def camera_reads(client: traffic.Client, advance) -> None:
    license_id = traffic.visionalert_reads(client)
    client.call("GET", f"/v1/vision-alert/{license_id}/logs/")
    client.call("GET", "/api/v1/parking-list/")


@pytest.mark.parametrize(
    "mutant, differing",
    [
        (
            # cameras carry `status` for `latest_status`: each camera of each list page
            "renamed_field",
            {
                (seq, f"$.results[{i}].{key}")
                for seq, rows in ((2, 3), (3, 3), (4, 1))
                for i in range(rows)
                for key in ("latest_status", "status")
            },
        ),
        (
            # `Z` timestamps written with `+00:00`: every VisionAlert timestamp, nothing else
            "offset_timestamps",
            {(1, f"$[0].{key}") for key in ("expiration", "created", "modified")}
            | {
                (seq, f"$.results[{i}].{key}")
                for seq, rows in ((2, 3), (3, 3), (4, 1))
                for i in range(rows)
                for key in ("created", "modified")
            },
        ),
    ],
)
def test_a_mutant_recording_reports_exactly_the_mutated_paths(
    upstream, emulator, tmp_path, mutant, differing
):
    cassette = tmp_path / mutant
    record(upstream, cassette, camera_reads, mutants=[mutant])

    result = parity(cassette, emulator.url, tmp_path / "report")

    assert result.exit_code == 1, result.output
    suite = ElementTree.parse(tmp_path / "report" / mutant / "parity.xml").getroot()
    found = set()
    for case in suite.iter("testcase"):
        failure = case.find("failure")
        for line in failure.text.splitlines() if failure is not None else ():
            found.add((int(case.get("name").split()[0]), line.split(":")[0]))
    assert found == differing


def test_the_record_command_proxies_and_writes_the_cassette(upstream, tmp_path):
    control = MockServerClient(upstream.url)
    control.reset(seed="none")
    control.seed(traffic.WORLD)
    port = free_port()
    command = [sys.executable, "-m", "mockserver.cli", "record", "--upstream", upstream.url]
    command += ["--port", str(port), "--out", str(tmp_path / "run1")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as recorder:
        try:
            assert "recording on" in recorder.stdout.readline()
            reply = traffic.Client(f"http://127.0.0.1:{port}").call(
                "GET", "/v1/vision-alert/licenses/"
            )
        finally:
            recorder.terminate()
    assert reply.json()[0]["code"] == "LIC-P"  # the upstream's reply, unchanged
    (exchange,) = Cassette(tmp_path / "run1").exchanges()
    assert exchange["request"]["headers"]["authorization"] == "Token <token-1>"
    assert exchange["response"]["body"]["json"] == reply.json()


def test_parity_without_a_cassette_says_so(tmp_path):
    result = parity(tmp_path / "nothing", "http://127.0.0.1:9", tmp_path / "report")
    assert result.exit_code == 1
    assert "holds no cassette" in result.output


def test_the_proxy_answers_with_the_upstream_reply_unchanged(upstream, tmp_path):
    control = MockServerClient(upstream.url)
    control.reset(seed="none")
    control.seed(traffic.WORLD)
    proxy = RecordingProxy([upstream.url], Cassette(tmp_path / "run"))
    with RecordingServer(proxy) as server:
        through, direct = traffic.Client(server.url), traffic.Client(upstream.url)
        license_id = direct.call("GET", "/v1/vision-alert/licenses/").json()[0]["id"]
        pairs = [
            (
                through.call("DELETE", f"/v1/vision-alert/{license_id}/cameras/C7/"),
                direct.call("DELETE", f"/v1/vision-alert/{license_id}/cameras/C6/"),
            ),
            (
                through.call("GET", "/v1/vision-alert/licenses/", headers={"Authorization": "x"}),
                direct.call("GET", "/v1/vision-alert/licenses/", headers={"Authorization": "x"}),
            ),
        ]
    kept = ("content-type", "www-authenticate", "content-length")
    for proxied, answered in pairs:
        assert proxied.status_code == answered.status_code
        assert proxied.content == answered.content
        assert [proxied.headers.get(n) for n in kept] == [answered.headers.get(n) for n in kept]
    assert [e["response"]["status"] for e in Cassette(tmp_path / "run").exchanges()] == [204, 401]


def test_a_reply_without_a_content_type_stays_without(tmp_path):
    """A small upstream of our own: a reply the emulator never makes."""

    def bare(environ, start_response):
        start_response("200 OK", [("X-Kind", "bare"), ("Content-Length", "3")])
        return [b"\x00\x01\x02"]

    upstream = make_server("127.0.0.1", 0, bare, threaded=True)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        proxy = RecordingProxy([f"http://127.0.0.1:{upstream.server_port}"], Cassette(tmp_path))
        with RecordingServer(proxy) as server:
            reply = requests.get(server.url + "/anything", timeout=10)
    finally:
        upstream.shutdown()
        upstream.server_close()
    assert (reply.content, reply.headers.get("X-Kind")) == (b"\x00\x01\x02", "bare")
    assert "Content-Type" not in reply.headers
    (exchange,) = Cassette(tmp_path).exchanges()
    assert exchange["response"]["body"]["file"]["size"] == 3


def test_a_given_seed_stands_for_the_recorded_world(upstream, emulator, tmp_path):
    cassette = tmp_path / "reads"
    record(upstream, cassette, camera_reads)
    seed = tmp_path / "seed.json"
    (main_account,) = [a for a in traffic.WORLD["accounts"] if a["token"] == traffic.TOKEN]
    seed.write_text(json.dumps({"accounts": [{**main_account, "token": "given-token"}]}))

    result = CliRunner().invoke(
        main,
        [
            "parity",
            str(cassette),
            "--url",
            emulator.url,
            "--seed",
            str(seed),
            "--report",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "0 different" in result.output
    licenses = requests.get(
        f"{emulator.url}/v1/vision-alert/licenses/", headers={"Authorization": "Token given-token"}
    )
    assert [license["code"] for license in licenses.json()] == ["LIC-P"]  # seeded as given


def test_an_upstream_that_does_not_answer_is_a_502_and_no_exchange(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    with RecordingServer(RecordingProxy([closed], Cassette(tmp_path))) as server:
        reply = requests.get(server.url + "/v1/vision-alert/licenses/", timeout=10)
    assert reply.status_code == 502
    assert reply.json() == {"detail": f"The upstream {closed} did not answer: ConnectionError."}
    assert Cassette(tmp_path).exchanges() == []
