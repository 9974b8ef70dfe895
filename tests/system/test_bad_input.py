"""The bad-input corpus (``tests/bad_inputs.py``) against every endpoint.

Each case must get one of its expected statuses (a 4xx JSON error, or a 2xx where the
contract accepts the input), the server must stay healthy, and the state digest
(``tests/state_digest.py``: every table but the throttle history and the journal, plus
the media files) must be the same before and after.
"""

from __future__ import annotations

import json

import pytest

from mockserver import Config, create_app

from .. import bad_inputs
from ..conftest import BACKENDS
from ..state_digest import data_dir_of, media_files, state_diff, table_rows


@pytest.fixture(scope="module", params=BACKENDS)
def corpus_app(request):
    """The corpus runs against each backend (PostgreSQL: a database of the suite's server)."""
    database_url = ""
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_server").database()
    app = create_app(
        Config(
            seed="none",
            tick_seconds=0,
            upload_limit=bad_inputs.UPLOAD_LIMIT,
            database_url=database_url,
        )
    )
    client = app.test_client()
    reply = client.post("/_mock/seed", json=bad_inputs.seed())
    assert reply.status_code == 201, reply.json
    licenses = {
        lic["code"]: lic["id"] for account in reply.json["accounts"] for lic in account["licenses"]
    }
    client.post("/_mock/clock", json={"set": bad_inputs.START})
    reply = client.post(
        "/v1/vision-alert/create-log/",
        headers=bad_inputs.api_headers(),
        data={"camera_id": bad_inputs.SERIAL, "upload": (_io(bad_inputs.jpeg()), "a.jpg")},
    )
    assert reply.status_code == 200, reply.json
    client.post("/_mock/clock", json={"advance": 60})
    app.corpus_licenses = licenses
    yield app
    app.extensions["mockserver"].close()
    if database_url:
        request.getfixturevalue("postgres_server").drop(database_url)


def _io(content: bytes):
    import io

    return io.BytesIO(content)


CASES = [pytest.param(case, id=case.id) for case in bad_inputs.build(license_id=1, other_license=2)]


def test_corpus_is_large_and_covers_every_endpoint():
    cases = [param.values[0] for param in CASES]
    endpoints = {case.endpoint for case in cases}
    assert len(cases) >= 600, len(cases)
    assert len(endpoints) >= 35, sorted(endpoints)
    print(f"bad-input corpus: {len(cases)} cases over {len(endpoints)} endpoints")


def test_every_route_is_in_the_corpus(corpus_app):
    """A route the corpus does not reach is a route nobody fed bad input to."""
    covered = set()
    for param in CASES:
        case = param.values[0]
        adapter = corpus_app.url_map.bind("localhost")
        try:
            endpoint, _ = adapter.match(case.path.split("?")[0], method=case.method)
        except Exception:
            continue
        covered.add(endpoint)
    routes = {
        rule.endpoint
        for rule in corpus_app.url_map.iter_rules()
        if rule.endpoint not in ("static",)
        and not rule.endpoint.startswith(("specs.docs", "control.health"))
    }
    missing = routes - covered - {"specs.openapi_json", "control.get_clock",
                                  "control.get_settings", "control_plane.list_faults",
                                  "control_plane.list_assertions", "mutants.get_mutants",
                                  "control_plane.clear_faults", "control_plane.clear_requests",
                                  "control_scenarios.outbox", "ui.pages.index", "control_metrics.metrics",
                                  "ui.pages.fault_list", "ui.pages.feed_clock"}  # fmt: skip
    assert not missing, sorted(missing)


@pytest.mark.parametrize("case", CASES)
def test_bad_input(corpus_app, case):
    client = corpus_app.test_client()
    data_dir = data_dir_of(corpus_app)
    # the ids in the corpus were built for licenses 1 and 2: the seed gives exactly those
    assert corpus_app.corpus_licenses == {"LIC-BAD": 1, "LIC-OTHER": 2}
    before, files_before = table_rows(data_dir), media_files(data_dir)
    headers = dict(case.headers)
    if not case.path.startswith("/_mock"):
        headers.update(bad_inputs.api_headers())
    if case.content_type:
        headers["Content-Type"] = case.content_type
    reply = client.open(
        case.path,
        method=case.method,
        query_string=case.query or None,
        data=case.body,
        headers=headers,
    )
    assert reply.status_code in case.expect, (reply.status_code, reply.get_data()[:300])
    if reply.status_code != 204:
        assert reply.mimetype == "application/json", reply.get_data()[:300]
        body = json.loads(reply.get_data())
        if reply.status_code >= 350:
            assert isinstance(body, dict) and body, body
    assert client.get("/_mock/health").json == {"status": "ok"}
    after = table_rows(data_dir)
    assert before == after, state_diff(before, after)
    assert media_files(data_dir) == files_before


def test_corpus_against_a_live_server(tmp_path):
    """The same corpus through a real ``mockserver serve`` (granian, two workers): the WSGI
    server's own decoding of paths, queries and bodies is part of what is tested."""
    import requests

    from mockserver.testkit.plugin import LiveServer

    data_dir = str(tmp_path / "store")
    env = {"MOCKSERVER_UPLOAD_LIMIT": str(bad_inputs.UPLOAD_LIMIT)}
    with LiveServer(workers=2, seed="none", data_dir=data_dir, env=env) as live:
        session = requests.Session()
        reply = session.post(f"{live.url}/_mock/seed", json=bad_inputs.seed())
        assert reply.status_code == 201, reply.text
        session.post(f"{live.url}/_mock/clock", json={"set": bad_inputs.START})
        reply = session.post(
            f"{live.url}/v1/vision-alert/create-log/",
            headers=bad_inputs.api_headers(),
            data={"camera_id": bad_inputs.SERIAL},
            files={"upload": ("a.jpg", bad_inputs.jpeg(), "image/jpeg")},
        )
        assert reply.status_code == 200, reply.text
        session.post(f"{live.url}/_mock/clock", json={"advance": 60})
        failures = []
        at_start = table_rows(data_dir), media_files(data_dir)
        for param in CASES:
            case = param.values[0]
            # reads are checked by the digest of the whole run; writes one by one
            before = (table_rows(data_dir), media_files(data_dir)) if case.method != "GET" else None
            headers = {} if case.path.startswith("/_mock") else bad_inputs.api_headers()
            if "Origin" in case.headers:  # a dashboard form: from this server's own origin
                headers["Origin"] = live.url
            if case.content_type:
                headers["Content-Type"] = case.content_type
            url = live.url + case.path + (f"?{case.query}" if case.query else "")
            try:
                reply = session.request(case.method, url, data=case.body, headers=headers)
            except requests.RequestException as error:
                failures.append((case.id, f"connection: {error}"))
                session = requests.Session()
                continue
            problem = None
            if reply.status_code not in case.expect:
                problem = f"status {reply.status_code}: {reply.text[:200]}"
            elif reply.status_code != 204 and "application/json" not in reply.headers.get(
                "Content-Type", ""
            ):
                problem = f"not JSON: {reply.headers.get('Content-Type')}"
            elif before and (table_rows(data_dir), media_files(data_dir)) != before:
                problem = f"state changed: {state_diff(before[0], table_rows(data_dir))}"
            if problem:
                failures.append((case.id, problem))
        assert session.get(f"{live.url}/_mock/health").json() == {"status": "ok"}
        at_end = table_rows(data_dir), media_files(data_dir)
    assert not failures, failures[:20]
    assert at_end == at_start, state_diff(at_start[0], at_end[0])
