"""The request journal (/_mock/requests): what is recorded, filters, the ring, workers."""

from __future__ import annotations

import requests

from mockserver.client import MockServerClient
from mockserver.testkit.plugin import LiveServer

from ..conftest import BOTH_BACKENDS, auth

pytestmark = BOTH_BACKENDS

LICENSES = "/v1/vision-alert/licenses/"
PARKING = "/api/v1/parking-list/"
DEMO = auth("demo-token")


def journal(client, **params) -> list[dict]:
    reply = client.get("/_mock/requests", query_string=params)
    assert reply.status_code == 200, reply.json
    return reply.json["requests"]


def test_an_entry_records_the_exchange(make_app):
    client = make_app(seed="demo").test_client()
    client.post("/_mock/clock", json={"set": "2026-04-10T14:30:00Z"})
    client.get(LICENSES + "?x=1&y=2", headers=DEMO).get_data()
    client.post(PARKING, headers=auth("nope"), json={"plate": "ABC"}).get_data()
    first, second = journal(client)
    assert first["method"] == "GET" and first["path"] == LICENSES
    assert first["query"] == "x=1&y=2" and first["status"] == 200
    assert first["token"] == "demo•••en" and first["body"] is None  # masked
    assert first["at"] == "2026-04-10T14:30:00Z"  # emulator time (the clock is frozen)
    assert first["wall"] and first["duration_ms"] > 0 and first["fault_id"] is None
    assert first["paginated"] is False and first["next"] is None
    assert second["method"] == "POST" and second["token"] == "n•••"
    assert second["status"] in (401, 405) and second["body"] == '{"plate": "ABC"}'
    assert second["id"] > first["id"]


def test_control_plane_calls_are_not_journaled(make_app):
    client = make_app(seed="demo").test_client()
    client.get("/_mock/health")
    client.get("/_mock/clock")
    client.get(LICENSES, headers=DEMO).get_data()
    assert [entry["path"] for entry in journal(client)] == [LICENSES]


def test_long_and_binary_bodies_are_cut_to_an_excerpt(make_app):
    client = make_app(seed="demo").test_client()
    client.post(PARKING, headers=DEMO, data="a" * 5000, content_type="text/plain").get_data()
    client.post(
        PARKING,
        headers=DEMO,
        data={"upload": (__import__("io").BytesIO(b"\xff\xd8\x00" * 2000), "a.jpg")},
        content_type="multipart/form-data",
    ).get_data()
    text, binary = journal(client)
    assert text["body"].startswith("a" * 2048) and "5000 bytes" in text["body"]
    assert len(text["body"]) < 2100
    assert binary["body"].startswith("<binary: ") and "multipart/form-data" in binary["body"]


def test_the_body_still_reaches_the_app_whole(make_app):
    client = make_app(seed="none").test_client()
    seed = {"accounts": [{"token": "tok-p", "products": ["parkpow"]}]}
    assert client.post("/_mock/seed", json=seed).status_code == 201
    notes = "".join(f"{i:05d}" for i in range(1000))  # 5000 bytes: longer than the excerpt
    reply = client.post(
        "/api/v1/create-camera/",
        headers=auth("tok-p"),
        json={"code": "c1", "name": "Gate", "notes": notes},
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["notes"] == notes
    assert journal(client)[0]["body"].startswith('{"code": "c1"')


def test_filters_and_limit(make_app):
    client = make_app(seed="demo").test_client()
    client.post(
        "/_mock/faults",
        json={"match": {"path": PARKING}, "times": 1, "action": {"type": "status", "status": 503}},
    )
    client.get(PARKING, headers=DEMO).get_data()  # 503
    client.get(PARKING, headers=DEMO).get_data()  # 200
    client.get(LICENSES, headers=auth("demo-token-parkpow-only")).get_data()  # 403
    client.post(LICENSES, headers=DEMO).get_data()  # 405
    everything = journal(client)
    assert len(everything) == 4
    assert [e["status"] for e in journal(client, status="5xx")] == [503]
    assert [e["status"] for e in journal(client, status="200")] == [200]
    assert [e["method"] for e in journal(client, method="post")] == ["POST"]
    assert len(journal(client, path="/api/")) == 2
    assert len(journal(client, path="/v1/*/licenses*")) == 2
    assert [e["status"] for e in journal(client, token="demo-token-parkpow-only")] == [403]
    since = everything[1]["id"]
    assert [e["id"] for e in journal(client, since=since)] == [e["id"] for e in everything[2:]]
    assert [e["id"] for e in journal(client, limit=2)] == [e["id"] for e in everything[2:]]
    assert [e["id"] for e in journal(client, since=0, limit=1)] == [everything[0]["id"]]
    assert journal(client, status="5xx")[0]["fault_id"] is not None
    for bad in ({"status": "abc"}, {"limit": "0"}, {"since": "-1"}, {"limit": "x"}):
        reply = client.get("/_mock/requests", query_string=bad)
        assert reply.status_code == 400 and set(bad) <= set(reply.json)


def test_clear(make_app):
    client = make_app(seed="demo").test_client()
    for _ in range(3):
        client.get(LICENSES, headers=DEMO).get_data()
    assert client.delete("/_mock/requests").json == {"deleted": 3}
    assert journal(client) == []


def test_ids_keep_growing_after_a_clear(make_app):
    """A live tail asks for the entries after the last id it saw: a clear must not make
    the next entries' ids start again below it."""
    client = make_app(seed="demo").test_client()
    for _ in range(3):
        client.get(LICENSES, headers=DEMO).get_data()
    last = journal(client)[-1]["id"]
    client.delete("/_mock/requests")
    client.get(PARKING, headers=DEMO).get_data()
    after = journal(client, since=last)
    assert [entry["path"] for entry in after] == [PARKING]
    assert after[0]["id"] > last


def test_the_ring_keeps_exactly_the_newest_entries(make_app):
    client = make_app(seed="demo", journal_size=5).test_client()
    for index in range(4):
        client.get(LICENSES, query_string={"n": index}, headers=DEMO).get_data()
    assert [e["query"] for e in journal(client)] == [f"n={i}" for i in range(4)]
    client.get(LICENSES, query_string={"n": 4}, headers=DEMO).get_data()
    assert [e["query"] for e in journal(client)] == [f"n={i}" for i in range(5)]  # full
    for index in range(5, 8):
        client.get(LICENSES, query_string={"n": index}, headers=DEMO).get_data()
    assert [e["query"] for e in journal(client, limit=100)] == [f"n={i}" for i in range(3, 8)]


def test_journal_size_zero_turns_it_off(make_app):
    client = make_app(seed="demo", journal_size=0).test_client()
    assert client.get(LICENSES, headers=DEMO).status_code == 200
    assert journal(client) == []


def test_every_worker_s_requests_are_visible_at_once():
    """Workers buffer their entries; a read waits for the other worker's buffer."""
    with LiveServer(workers=2, seed="demo", env={"MOCKSERVER_JOURNAL_SIZE": "50"}) as server:
        control = MockServerClient(server.url)
        for index in range(30):  # fresh connections: both workers answer some
            requests.get(server.url + LICENSES, params={"n": index}, headers=DEMO)
            if index % 10 == 9:
                assert len(control.requests(limit=1000)) == index + 1
        for index in range(30, 80):
            requests.get(server.url + LICENSES, params={"n": index}, headers=DEMO)
        entries = control.requests(limit=1000)
        # ids follow the order entries were written: across workers that is arrival
        # order give or take one buffered batch, so the ring's edge may differ by a few
        assert len(entries) == 50
        kept = {int(e["query"][2:]) for e in entries}
        assert set(range(40, 80)) <= kept <= set(range(20, 80))


def test_bodies_reach_the_app_under_werkzeug_s_development_server(make_app):
    """Werkzeug's server hands the raw socket to the app: reading past the declared
    length would block until the client gives up. A body longer than the journal's
    excerpt, then another request on the same connection, both answer at once."""
    import threading

    from werkzeug.serving import make_server

    app = make_app(seed="none")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        seed = {"accounts": [{"token": "tok-p", "products": ["parkpow"]}]}
        assert requests.post(f"{base}/_mock/seed", json=seed, timeout=5).status_code == 201
        notes = "".join(f"{i:05d}" for i in range(1000))  # 5000 bytes: longer than the excerpt
        with requests.Session() as session:
            for code in ("c1", "c2"):
                reply = session.post(
                    f"{base}/api/v1/create-camera/",
                    headers=auth("tok-p"),
                    json={"code": code, "name": "Gate", "notes": notes},
                    timeout=5,
                )
                assert reply.status_code == 200, reply.text
                assert reply.json()["notes"] == notes
    finally:
        server.shutdown()
        thread.join(timeout=5)


# -- headers and the reply ----------------------------------------------------------------


def test_headers_are_recorded_with_secrets_masked(make_app):
    client = make_app(seed="demo", control_token="control-s3cret-token").test_client()
    control = {"Authorization": "Bearer control-s3cret-token"}
    headers = {
        **DEMO,
        "X-Trace": "t-42",
        "X-Forward-Control": "control-s3cret-token",
    }
    client.set_cookie("session", "abcdef123456")
    listed = client.get(LICENSES, headers=headers).get_data(as_text=True)
    client.delete_cookie("session")
    client.get(LICENSES, headers=control).get_data()  # the control token on an API call
    reply = client.get("/_mock/requests", headers=control)
    first, second = reply.json["requests"]
    sent = dict(first["headers"])
    assert sent["Authorization"] == "Token demo•••en"
    assert sent["Cookie"] == "sess•••56" and sent["X-Trace"] == "t-42"
    assert sent["X-Forward-Control"] == "cont•••en"
    assert dict(second["headers"])["Authorization"] == "Bearer cont•••en"
    raw = reply.get_data(as_text=True)
    assert "control-s3cret-token" not in raw and "abcdef123456" not in raw
    assert "Token demo-token" not in raw
    got = dict(first["reply_headers"])
    assert got["Content-Type"] == "application/json"
    assert int(got["Content-Length"]) == len(listed.encode())
    assert first["reply_body"] == listed and '"LIC-DEMO-1"' in listed


def test_reply_bodies_are_cut_to_an_excerpt(make_app):
    client = make_app(seed="demo").test_client()
    long_text = {"type": "status", "status": 503, "body": "b" * 5000}
    binary = {
        "type": "status",
        "status": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": "\x00\x01" * 1500,
    }
    for action in (long_text, binary):
        body = {"match": {"path": LICENSES}, "times": 1, "action": action}
        assert client.post("/_mock/faults", json=body).status_code == 201
        client.get(LICENSES, headers=DEMO).get_data()
    client.get(LICENSES, headers=DEMO).get_data()  # no fault left: the app's own reply
    text, raw, plain = journal(client)
    assert text["status"] == 503 and text["reply_body"].startswith("b" * 2048)
    assert text["reply_body"] == "b" * 2048 + "... <5000 bytes in all>"
    assert dict(text["reply_headers"])["Content-Length"] == "5000"
    assert raw["reply_body"] == "<binary: 3000 bytes, application/octet-stream>"
    assert plain["status"] == 200 and "LIC-DEMO-1" in plain["reply_body"]


def test_a_streamed_reply_keeps_its_start_only(make_app, monkeypatch):
    """Replies too big to take whole are journaled from the chunks as they pass."""
    from mockserver.control import middleware

    monkeypatch.setattr(middleware, "SMALL_REPLY", 10)  # every reply streams
    client = make_app(seed="demo").test_client()
    whole = client.get(LICENSES, headers=DEMO).get_data(as_text=True)
    (entry,) = journal(client)
    assert entry["reply_body"] == whole[:2048] + (
        f"... <{len(whole)} bytes in all>" if len(whole) > 2048 else ""
    )


SECRET = "tok-Secret-0123456789"


def test_no_stored_entry_holds_a_token_and_the_token_filter_still_finds_them(make_app):
    """The token travels in a header, in a query string and in a JSON body; the journal
    (its API and the dashboard's pages) shows it masked everywhere, and filtering by the
    token finds the client's entries through its keyed hash."""
    client = make_app(seed="none").test_client()
    seed = {"accounts": [{"token": SECRET, "products": ["parkpow", "visionalert"]}]}
    assert client.post("/_mock/seed", json=seed).status_code == 201
    client.get(LICENSES, headers=auth(SECRET)).get_data()
    client.get(LICENSES, query_string={"token": SECRET, "api_key": "k-9876543210"}).get_data()
    client.post(
        PARKING,
        headers=auth(SECRET),
        json={"plate": "ABC", "token": SECRET, "password": "hunter2-hunter2"},
    ).get_data()
    client.post(
        PARKING, headers=auth(SECRET), data=f"notes=see {SECRET}", content_type="text/plain"
    ).get_data()
    everything = client.get("/_mock/requests")
    shown = everything.get_data(as_text=True)
    assert len(everything.json["requests"]) == 4
    for secret in (SECRET, "k-9876543210", "hunter2-hunter2"):
        assert secret not in shown
    header, query, body, text = everything.json["requests"]
    assert header["token"] == "tok-•••89" and "token=tok-•••89" in query["query"]
    assert '"plate": "ABC"' in body["body"] and '"token": "tok-•••89"' in body["body"]
    assert text["body"] == "notes=see tok-•••89"
    mine = client.get("/_mock/requests", query_string={"token": SECRET}).json["requests"]
    assert [entry["id"] for entry in mine] == [header["id"], body["id"], text["id"]]
    assert client.get("/_mock/requests", query_string={"token": "tok-•••89"}).json["count"] == 0
    pages = [client.get("/_mock/ui/journal")]
    pages += [client.get(f"/_mock/ui/journal/{entry['id']}") for entry in (header, query, body)]
    for page in pages:
        assert page.status_code == 200 and SECRET not in page.get_data(as_text=True)
    assert "tok-•••89" in pages[-1].get_data(as_text=True)
    feed = client.get("/_mock/ui/feed/requests", query_string={"token": SECRET}).json
    assert [entry["id"] for entry in feed["requests"]] == [header["id"], body["id"], text["id"]]
    assert client.get("/_mock/ui/journal", query_string={"check": SECRET}).status_code == 200
    check = client.get("/_mock/assertions/followed_next_to_end", query_string={"token": SECRET})
    assert check.status_code == 200
