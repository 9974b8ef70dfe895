"""``/_mock/metrics``: a scrape counts exactly what happened, with bounded label sets, the
same world from every worker and host, behind the control plane's door."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from mockserver.testkit.plugin import LiveServer

from ..conftest import auth
from ..visionalert.test_webhooks import Receiver, _deliveries, _wait_for
from ..visionalert.va_support import CREATE_LOG, TOKEN, advance, force, seed, settings, upload

WORLD = ("uploads_total", "logs_total", "alerts_total", "webhook_deliveries_total")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, its labels) -> value, as Prometheus reads the scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    reply = client.get("/_mock/metrics", headers=headers)
    assert reply.status_code == 200, reply.data
    assert reply.content_type.startswith("text/plain; version=")
    return samples(reply.get_data(as_text=True))


def named(found: dict, name: str) -> dict[frozenset, float]:
    return {labels: value for (sample, labels), value in found.items() if sample == name}


def va(**labels) -> frozenset:
    return frozenset({"vendor": "visionalert", **labels}.items())


@pytest.fixture
def ticking(make_app):
    app = make_app(tick_seconds=0.05)
    app.extensions["mockserver"].start_background()
    return app.test_client()


def test_a_scrape_counts_exactly_what_the_scenario_did(ticking):
    client = ticking
    with Receiver([]) as receiver:
        closed = receiver.url  # nothing listens there: every delivery fails
    licenses = [{"code": "L-M", "size": 10, "webhook_url": closed, "cameras": [{"serial": "G"}]}]
    (lic,) = seed(client, rate=3, licenses=licenses)
    settings(client, webhook_retries=0)
    # one instant: 2 accepted, 1 refused by the camera's window, then the throttle (3/s)
    assert upload(client, "A").status_code == 200
    assert upload(client, "A").status_code == 429
    assert upload(client, "B").status_code == 200
    assert [upload(client, serial).status_code for serial in "CD"] == [429, 429]
    advance(client, 2)
    assert client.post(CREATE_LOG, data={"camera_id": "E"}, headers=auth(TOKEN)).status_code == 400
    fault = {"match": {"path": CREATE_LOG}, "times": 1, "action": {"type": "status", "status": 503}}
    assert client.post("/_mock/faults", json=fault).status_code == 201
    assert upload(client, "F").status_code == 503
    # camera G turns anomalous: one alert, whose one webhook delivery fails
    advance(client, 2)
    force(client, lic, "G", scores={"Blur": 0.9})
    assert upload(client, "G").status_code == 200
    advance(client, 5 + 900)
    _wait_for(lambda: _deliveries(client))

    found = scrape(client)
    assert named(found, "mockserver_uploads_total") == {
        va(outcome="accepted"): 3,
        va(outcome="window"): 1,
        va(outcome="throttled"): 2,
        va(outcome="invalid"): 1,
        va(outcome="fault"): 1,
    }
    assert named(found, "mockserver_logs_total") == {
        va(status="normal"): 2,
        va(status="anomaly"): 1,
    }
    assert named(found, "mockserver_alerts_total") == {va(): 1}
    assert named(found, "mockserver_webhook_deliveries_total") == {va(outcome="failed"): 1}
    assert named(found, "mockserver_faults_hit_total") == {frozenset({("kind", "status")}): 1}
    route = va(endpoint="/v1/vision-alert/create-log/")
    assert found[("mockserver_request_duration_seconds_count", route)] == 8
    requests_by_status = {
        dict(labels)["status"]: value
        for labels, value in named(found, "mockserver_requests_total").items()
        if dict(labels)["endpoint"] == "/v1/vision-alert/create-log/"
    }
    assert requests_by_status == {"200": 3, "429": 3, "400": 1, "503": 1}


def test_an_unknown_path_makes_no_new_label_value(make_app):
    client = make_app(seed="demo").test_client()
    before = scrape(client)
    for path in ("/nope/1", "/nope/2", "/v1/vision-alert/licenses/1/nothing-here/", "/a" * 50):
        assert client.get(path).status_code == 404
    client.open("/api/v1/parking-list/", method="BREW")
    after = scrape(client)
    endpoints = {dict(labels)["endpoint"] for labels in named(after, "mockserver_requests_total")}
    assert not any("nope" in endpoint or "/a/a" in endpoint for endpoint in endpoints)
    unmatched = {
        labels: value
        for labels, value in named(after, "mockserver_requests_total").items()
        if dict(labels)["endpoint"] == "unmatched"
    }
    assert unmatched == {
        frozenset(
            {"vendor": "other", "endpoint": "unmatched", "method": "GET", "status": "404"}.items()
        ): 3,
        va(endpoint="unmatched", method="GET", status="404"): 1,
        frozenset(
            {
                "vendor": "parkpow",
                "endpoint": "unmatched",
                "method": "other",
                "status": "405",
            }.items()
        ): 1,
    }
    methods = {dict(labels)["method"] for labels in named(after, "mockserver_requests_total")}
    assert "BREW" not in methods and "other" in methods
    assert len(named(before, "mockserver_requests_total")) < len(
        named(after, "mockserver_requests_total")
    )


def test_absent_without_the_control_plane(make_app):
    client = make_app(control_enabled=False).test_client()
    reply = client.get("/_mock/metrics")
    assert reply.status_code == 404 and reply.json == {"detail": "Not found."}


def test_the_control_token_is_needed_when_one_is_set(make_app):
    client = make_app(control_token="s3cret").test_client()
    reply = client.get("/_mock/metrics")
    assert reply.status_code == 401 and reply.json == {"detail": "Control-plane token required."}
    assert client.get("/_mock/metrics", headers=auth_bearer("wrong")).status_code == 401
    assert "mockserver_requests_total" in str(scrape(client, **auth_bearer("s3cret")))


def auth_bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def live_scrape(url: str) -> dict:
    """A scrape over a fresh connection (so any worker may answer it)."""
    reply = requests.get(url + "/_mock/metrics", headers={"Connection": "close"}, timeout=10)
    assert reply.status_code == 200
    return samples(reply.text)


def world(found: dict) -> dict:
    return {
        key: value for key, value in found.items() if key[0].removeprefix("mockserver_") in WORLD
    }


def agree(urls: list[str]) -> list[dict]:
    """The world's counts scraped from every URL, several times each (any worker)."""
    return [world(live_scrape(url)) for url in urls for _ in range(4)]


def hammer(urls: list[str], count: int) -> None:
    """``count`` demo uploads spread over the URLs, fresh connections (every worker)."""
    from ..visionalert.va_support import photo

    for index in range(count):
        files = {"upload": ("frame.jpg", photo())}
        reply = requests.post(
            urls[index % len(urls)] + CREATE_LOG,
            data={"camera_id": f"CAM-{index}"},
            files=files,
            headers={**auth("demo-token"), "Connection": "close"},
            timeout=10,
        )
        assert reply.status_code in (200, 429), reply.text


def test_two_workers_report_one_world():
    with LiveServer(workers=2, seed="demo") as server:
        hammer([server.url], 12)
        found = agree([server.url])
    assert all(f == found[0] for f in found), found
    assert sum(v for k, v in found[0].items() if k[0] == "mockserver_uploads_total") == 12


def test_two_hosts_on_one_postgresql_database_report_one_world(postgres_server):
    url = postgres_server.database()
    try:
        args = ["--database", url]
        with LiveServer(workers=2, seed="demo", extra_args=args) as first:
            with LiveServer(workers=2, seed="none", extra_args=args) as second:
                hammer([first.url, second.url], 12)
                found = agree([first.url, second.url])
    finally:
        postgres_server.drop(url)
    assert all(f == found[0] for f in found), found
    assert sum(v for k, v in found[0].items() if k[0] == "mockserver_uploads_total") == 12


def drawn(html: str) -> dict[str, list[float]]:
    """Each series of the overview's rates chart: the values it draws."""
    import re

    series: dict[str, list[float]] = {}
    for name, values in re.findall(r'<polyline data-series="([^"]+)" data-values="([^"]*)"', html):
        series.setdefault(name, []).extend(float(v) for v in values.split())
    return series


def test_the_overview_draws_the_rates_of_the_last_15_minutes(make_app):
    client = make_app().test_client()
    seed(client, rate=3)
    for serial in "AABCD":  # 2 accepted, 1 window, 2 throttled
        upload(client, serial)
    reply = client.get("/_mock/ui/")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="rates"' in html
    series = drawn(html)
    per_interval = 10  # seconds: a point is a rate over one interval
    totals = {name: round(sum(series[name]) * per_interval) for name in series if name in OUTCOMES}
    assert totals == {"accepted": 2, "window": 1, "throttled": 2}
    assert len(series["accepted"]) == 90  # 15 minutes of 10 s
    assert len([v for v in series["p50"] if v > 0]) >= 1
    assert max(series["p99"]) >= max(series["p50"]) > 0
    assert series["lag"] == [0.0] * 90
    assert "<script" not in html.split('class="rates"', 1)[1].split("</svg>", 1)[0]


OUTCOMES = ("accepted", "throttled", "window", "invalid", "denied", "fault", "error")


def test_counting_can_be_turned_off(make_app):
    client = make_app(seed="demo", metrics=False).test_client()
    assert client.get("/api/v1/parking-list/", headers=auth("demo-token")).status_code == 200
    reply = client.get("/_mock/metrics")
    assert reply.status_code == 404 and reply.json == {"detail": "Not found."}
