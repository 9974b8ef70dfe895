"""``start``/``end`` on logs and alerts: the seed's table, at its boundaries."""

from __future__ import annotations

import pytest

from .va_rows import VA, get, insert_alert, insert_log, seed_account, set_clock

MESSAGE = ["Enter a valid date (YYYY-MM-DD) or ISO 8601 timestamp."]

#: label -> created instant (UTC)
INSTANTS = {
    "before": "2026-06-28T23:59:59.999999Z",
    "midnight": "2026-06-29T00:00:00Z",
    "noon": "2026-06-29T12:00:00Z",
    "last_second": "2026-06-29T23:59:59Z",
    "last_micro": "2026-06-29T23:59:59.999999Z",
    "next_day": "2026-06-30T00:00:00Z",
}


@pytest.fixture
def logs(client, app):
    """One log per instant on camera C1 of LIC-A; returns (license id, id -> label)."""
    set_clock(client, "2026-07-01T00:00:00Z")
    lic = seed_account(
        client, "tok-a", [{"code": "LIC-A", "cameras": [{"serial": "C1", "name": "Front"}]}]
    )["LIC-A"]
    labels = {insert_log(app, lic, "C1", at): label for label, at in INSTANTS.items()}
    return lic, labels


def listed(client, url: str, labels: dict) -> set[str]:
    reply = get(client, url)
    assert reply.status_code == 200, reply.json
    return {labels[item["id"]] for item in reply.json["results"]}


ALL = set(INSTANTS)


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", ALL),
        ("start=2026-06-29", ALL - {"before"}),
        ("end=2026-06-29", ALL - {"next_day"}),
        ("start=2026-06-29&end=2026-06-29", ALL - {"before", "next_day"}),
        ("start=2026-06-30&end=2026-06-30", {"next_day"}),
        ("start=2026-06-30&end=2026-06-29", set()),
        # timestamps are exact, both ends inclusive
        ("start=2026-06-29T12:00:00Z", {"noon", "last_second", "last_micro", "next_day"}),
        ("start=2026-06-29T12:00:00.000001Z", {"last_second", "last_micro", "next_day"}),
        ("end=2026-06-29T12:00:00Z", {"before", "midnight", "noon"}),
        ("end=2026-06-29T11:59:59.999999Z", {"before", "midnight"}),
        ("start=2026-06-29T12:00:00Z&end=2026-06-29T12:00:00Z", {"noon"}),
        ("end=2026-06-29T23:59:59Z", ALL - {"last_micro", "next_day"}),
        ("start=2026-06-29T00:00:00Z&end=2026-06-29T12:00:00Z", {"midnight", "noon"}),
        # offsets are honoured; naive timestamps are in the server timezone (UTC here)
        ("start=2026-06-29T14:00:00%2B02:00&end=2026-06-29T14:00:00%2B02:00", {"noon"}),
        ("start=2026-06-29T12:00:00&end=2026-06-29T12:00:00", {"noon"}),
        ("start=2026-06-29 12:00:00&end=2026-06-29 12:00:00", {"noon"}),
        # blank values mean no filter, like django-filter
        ("start=&end=", ALL),
    ],
)
def test_license_logs_date_rules(client, logs, query, expected):
    lic, labels = logs
    assert listed(client, f"{VA}/{lic}/logs/?{query}", labels) == expected


def test_camera_logs_use_the_same_rules(client, logs):
    lic, labels = logs
    url = f"{VA}/{lic}/cameras/C1/logs/?start=2026-06-29&end=2026-06-29"
    assert listed(client, url, labels) == ALL - {"before", "next_day"}
    url = f"{VA}/{lic}/cameras/C1/logs/?start=2026-06-29T12:00:00Z&end=2026-06-29T12:00:00Z"
    assert listed(client, url, labels) == {"noon"}


INVALID_VALUES = [
    "bad",
    "yesterday",
    "2026-13-01",
    "2026-02-30",
    "2026-06-29T25:00:00Z",
    "2026-06-29T12:00:00+25:00",
    "29/06/2026",
    "2026-06-29T12:00:00ZZ",
    "1" * 80,
]


@pytest.mark.parametrize("path", ["logs/", "cameras/C1/logs/", "alerts/"])
def test_invalid_dates_are_400_naming_the_field(client, logs, path):
    lic, _ = logs
    for field in ("start", "end"):
        for value in INVALID_VALUES:
            reply = get(client, f"{VA}/{lic}/{path}", query_string={field: value})
            assert reply.status_code == 400, (field, value)
            assert reply.json == {field: MESSAGE}, (field, value)


def test_both_invalid_fields_are_reported_at_once(client, logs):
    lic, _ = logs
    reply = get(client, f"{VA}/{lic}/logs/?start=x&end=y")
    assert reply.status_code == 400
    assert reply.json == {"start": MESSAGE, "end": MESSAGE}


def test_alert_dates(client, app, logs):
    lic, _ = logs
    ids = {insert_alert(app, lic, at, [{"serial": "C1"}]): label for label, at in INSTANTS.items()}
    assert listed(client, f"{VA}/{lic}/alerts/?start=2026-06-29&end=2026-06-29", ids) == ALL - {
        "before",
        "next_day",
    }
    url = f"{VA}/{lic}/alerts/?start=2026-06-29T23:59:59Z&end=2026-06-29T23:59:59Z"
    assert listed(client, url, ids) == {"last_second"}


@pytest.fixture
def new_york(make_app):
    """A server in America/New_York (UTC-4 in June) with logs around its local midnight."""
    app = make_app(server_timezone="America/New_York")
    client = app.test_client()
    set_clock(client, "2026-07-01T00:00:00Z")
    lic = seed_account(
        client, "tok-a", [{"code": "LIC-A", "cameras": [{"serial": "C1", "name": "Front"}]}]
    )["LIC-A"]
    instants = {
        "utc_midnight": "2026-06-29T00:00:00Z",  # 28 June 20:00 in New York
        "local_midnight": "2026-06-29T04:00:00Z",  # 29 June 00:00 in New York
        "local_noon": "2026-06-29T16:00:00Z",
        "local_last_second": "2026-06-30T03:59:59Z",  # 29 June 23:59:59 in New York
        "local_next_day": "2026-06-30T04:00:00Z",
    }
    labels = {insert_log(app, lic, "C1", at): label for label, at in instants.items()}
    return client, lic, labels


def test_dates_are_whole_days_in_the_server_timezone(new_york):
    client, lic, labels = new_york
    url = f"{VA}/{lic}/logs/?start=2026-06-29&end=2026-06-29"
    assert listed(client, url, labels) == {"local_midnight", "local_noon", "local_last_second"}


def test_naive_timestamps_are_in_the_server_timezone(new_york):
    client, lic, labels = new_york
    url = f"{VA}/{lic}/logs/?start=2026-06-29T12:00:00&end=2026-06-29T12:00:00"
    assert listed(client, url, labels) == {"local_noon"}
    url = f"{VA}/{lic}/logs/?end=2026-06-29T00:00:00"
    assert listed(client, url, labels) == {"utc_midnight", "local_midnight"}


def test_zoned_timestamps_ignore_the_server_timezone(new_york):
    client, lic, labels = new_york
    url = f"{VA}/{lic}/logs/?start=2026-06-29T16:00:00Z&end=2026-06-29T16:00:00Z"
    assert listed(client, url, labels) == {"local_noon"}
