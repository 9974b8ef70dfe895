"""Unchanged ``https://`` clients of the vendor hosts, in other processes and languages, reach
``mockserver serve --tls --proxy-port``: curl, Python ``requests`` and Node, each started here."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap

import pytest
import requests

from mockserver.core.vendor import hosts
from mockserver.net.trust import node_preload
from mockserver.vendors import VENDORS

from ..images import solid
from .tls_server import CAMERA, PARKPOW_CAMERA, TOKEN, TlsServer, require

CURL_HINT = "apt-get install curl"
NODE_HINT = "apt-get install nodejs (.ci/run installs it)"


@pytest.fixture(scope="module")
def server():
    server = TlsServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("frames") / "frame.jpg"
    path.write_bytes(solid((640, 480), (90, 120, 150)))
    return str(path)


def clean_env(**extra: str) -> dict:
    """This process's environment without any proxy or CA settings, plus ``extra``."""
    dropped = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file"}
    dropped |= {"requests_ca_bundle", "curl_ca_bundle", "node_extra_ca_certs", "node_options"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in dropped}
    return {**env, **extra}


def curl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [require("curl", CURL_HINT), "-sS", "--max-time", "20", "-w", "\n%{http_code}"]
    return subprocess.run(
        [*command, *args], env=env or clean_env(), capture_output=True, text=True, timeout=30
    )


def status_and_body(result: subprocess.CompletedProcess) -> tuple[int, str]:
    body, _, status = result.stdout.rpartition("\n")
    return int(status or 0), body


def host_header(entry: dict) -> str:
    return next(value for name, value in entry["headers"] if name.lower() == "host")


def test_curl_connect_to_uploads_a_frame_to_the_vendor_url(server, frame):
    """``--connect-to`` is ``--resolve`` for a server not on port 443: the URL, the name the
    certificate is checked against and the Host header stay the vendor's."""
    url = "https://api.platerecognizer.com/v1/vision-alert/create-log/"
    mark = server.mark()
    result = curl(
        *("--cacert", server.ca, "--connect-to", f"api.platerecognizer.com:443:127.0.0.1:{server.port}"),
        *("-H", f"Authorization: Token {TOKEN}", "-F", f"camera_id={CAMERA}", "-F", f"upload=@{frame}"),
        url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert status_and_body(result) == (200, '{"message": "Log created successfully."}')
    [entry] = server.journaled("POST", "/v1/vision-alert/create-log/", since=mark)
    assert entry["status"] == 200 and host_header(entry) == "api.platerecognizer.com"


def test_curl_through_https_proxy_logs_a_parkpow_vehicle(server, frame):
    env = clean_env(HTTPS_PROXY=server.proxy_url, CURL_CA_BUNDLE=server.ca)
    mark = server.mark()
    result = curl(
        *("-H", f"Authorization: Token {TOKEN}", "-F", f"camera={PARKPOW_CAMERA}"),
        *("-F", 'results=[{"plate": "tls123", "score": 0.9}]', "-F", f"image=@{frame}"),
        "https://app.parkpow.com/api/v1/log-vehicle/",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert status_and_body(result) == (200, '"OK"')
    [entry] = server.journaled("POST", "/api/v1/log-vehicle/", since=mark)
    assert entry["status"] == 200 and host_header(entry) == "app.parkpow.com"


def test_plain_http_through_the_proxy_keeps_the_clients_scheme_in_next(server):
    """An absolute-form ``http://`` request: the ``next`` link says http, on the vendor host."""
    env = clean_env(http_proxy=server.proxy_url)
    url = "http://api.platerecognizer.com/v1/vision-alert/licenses/"
    licenses = curl("-H", f"Authorization: Token {TOKEN}", url, env=env)
    status, body = status_and_body(licenses)
    assert status == 200, licenses.stderr
    license_id = json.loads(body)[0]["id"]
    cameras = f"http://api.platerecognizer.com/v1/vision-alert/{license_id}/cameras/?page_size=1"
    status, body = status_and_body(curl("-H", f"Authorization: Token {TOKEN}", cameras, env=env))
    assert status == 200
    assert json.loads(body)["next"].startswith(
        f"http://api.platerecognizer.com/v1/vision-alert/{license_id}/cameras/?cursor="
    )


REQUESTS_CLIENT = textwrap.dedent(
    """
    import json, sys
    import requests

    token, camera, frame = sys.argv[1:4]
    api = "https://api.platerecognizer.com/v1/vision-alert"
    session = requests.Session()
    session.headers["Authorization"] = "Token " + token
    with open(frame, "rb") as image:
        upload = session.post(api + "/create-log/", data={"camera_id": camera},
                              files={"upload": ("frame.jpg", image, "image/jpeg")}, timeout=20)
    license_id = session.get(api + "/licenses/", timeout=20).json()[0]["id"]
    serials, url = [], f"{api}/{license_id}/cameras/?page_size=2"
    while url:
        page = session.get(url, timeout=20).json()
        serials += [camera["serial"] for camera in page["results"]]
        url = page["next"]
        if url:
            print("next:", url, file=sys.stderr)
            assert url.startswith(api + "/"), url
    print(json.dumps({"upload": upload.status_code, "license": license_id, "serials": serials}))
    """
)


def run_requests_client(server, frame: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", REQUESTS_CLIENT, TOKEN, "CAM-TLS-2", frame],  # its own window
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_requests_in_a_subprocess_with_https_proxy(server, frame):
    """Upload, then page through cameras following ``next`` (absolute, on the vendor host),
    then fetch the snapshot the log names: its URL too is on the vendor host."""
    mark = server.mark()
    result = run_requests_client(
        server, frame, HTTPS_PROXY=server.proxy_url, REQUESTS_CA_BUNDLE=server.ca
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["upload"] == 200
    assert sorted(outcome["serials"]) == ["CAM-3", "CAM-TLS-1", "CAM-TLS-2"]
    [upload] = server.journaled("POST", "/v1/vision-alert/create-log/", since=mark)
    assert upload["status"] == 200 and host_header(upload) == "api.platerecognizer.com"
    pages = server.journaled("GET", f"/v1/vision-alert/{outcome['license']}/cameras/", since=mark)
    assert len(pages) == 2 and all(host_header(e) == "api.platerecognizer.com" for e in pages)
    clock = requests.post(
        f"{server.url}/_mock/clock", json={"advance": 60}, verify=server.ca, timeout=10
    )
    assert clock.status_code == 200
    proxies = {"https": server.proxy_url}
    logs = requests.get(
        f"https://api.platerecognizer.com/v1/vision-alert/{outcome['license']}/logs/",
        headers={"Authorization": f"Token {TOKEN}"},
        proxies=proxies,
        verify=server.ca,
        timeout=10,
    ).json()["results"]
    snapshot = logs[0]["snapshot"]
    assert snapshot.startswith("https://api.platerecognizer.com/media/"), snapshot
    image = requests.get(snapshot, proxies=proxies, verify=server.ca, timeout=10)
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"


def test_node_https_module_unchanged_through_the_proxy(server, tmp_path):
    """A script using only ``https`` with the vendor URL written in it. Node before
    NODE_USE_ENV_PROXY ignores HTTPS_PROXY: the preload the package ships tunnels it."""
    node = require("node", NODE_HINT)
    script = tmp_path / "client.js"
    script.write_text(
        textwrap.dedent(
            """
            const https = require("https");
            const options = { method: "POST", headers: {
              Authorization: "Token " + process.argv[2], "Content-Type": "application/json" } };
            const request = https.request("https://app.parkpow.com/api/v1/create-vehicle/",
              options, (reply) => {
                let body = "";
                reply.on("data", (chunk) => (body += chunk));
                reply.on("end", () => console.log(JSON.stringify({ status: reply.statusCode, body })));
              });
            request.on("error", (error) => { console.error(error.message); process.exit(3); });
            request.end(JSON.stringify({ license_plate: "NODE42", payment_status: "1" }));
            """
        )
    )
    env = clean_env(
        HTTPS_PROXY=server.proxy_url,
        NODE_EXTRA_CA_CERTS=server.ca,
        NODE_OPTIONS=f'--require "{node_preload()}"',  # as `mockserver ca` prints it
    )
    mark = server.mark()
    result = subprocess.run(
        [node, str(script), TOKEN], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["status"] in (200, 201), reply
    [entry] = server.journaled("POST", "/api/v1/create-vehicle/", since=mark)
    assert host_header(entry) == "app.parkpow.com" and entry["status"] == reply["status"]


def test_the_served_leaf_covers_every_vendor_host_from_the_descriptors_over_tls_1_2_too(server):
    context = ssl.create_default_context(cafile=server.ca)
    for name in ("localhost", "127.0.0.1", *hosts(VENDORS)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=name) as tls:  # checks the name
                assert tls.version() == "TLSv1.3"
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # firmware and older runtimes stop here
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="app.parkpow.com") as tls:
            assert tls.version() == "TLSv1.2"


# -- clients that must fail --------------------------------------------------------------


def test_a_client_that_does_not_trust_the_ca_fails_verification(server, frame):
    mark = server.mark()
    env = clean_env(HTTPS_PROXY=server.proxy_url)
    result = curl(
        "-H", f"Authorization: Token {TOKEN}", "https://api.platerecognizer.com/v1/vision-alert/licenses/",
        env=env,
    )  # fmt: skip
    assert result.returncode == 60, (result.returncode, result.stderr)  # peer not verified
    assert "certificate" in result.stderr
    python = run_requests_client(server, frame, HTTPS_PROXY=server.proxy_url)
    assert python.returncode != 0 and "SSLError" in python.stderr
    assert [e["path"] for e in server.journal(since=mark)["requests"]] == []  # none arrived
