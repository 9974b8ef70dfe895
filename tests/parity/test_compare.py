"""The comparison's rules, on replies built here (no server): ids, timestamps and URLs by
form, links by behaviour, volatile values by type, everything else by value."""

from __future__ import annotations

import pytest

from mockserver.core.parity_rules import ParityRules
from mockserver.parity.compare import (
    DIFFERENT,
    EQUAL_EXCEPT_VOLATILE,
    IDENTICAL,
    Aliases,
    judge,
    timestamp_format,
)
from mockserver.visionalert.parity import RULES as VISIONALERT

LOG = {
    "id": 7,
    "camera_serial": "C1",
    "status": "anomaly",
    "anomalies": {"Blur": 0.8},
    "snapshot": "http://a.example/media/x.jpg",
    "created": "2026-04-10T14:30:00Z",
}
PAGE = {
    "next": "http://a.example/v1/vision-alert/1/logs/?cursor=abc&status=anomaly",
    "previous": None,
    "results": [LOG],
}


def reply(body, status=200, content_type="application/json"):
    return {"status": status, "headers": {"content-type": content_type}, "body": {"json": body}}


def verdict(recorded, replayed, rules=VISIONALERT, aliases=None):
    return judge(reply(recorded), reply(replayed), rules, aliases or Aliases())


def changed(**fields):
    return {**PAGE, "results": [{**LOG, **fields}]}


def test_the_same_reply_is_identical():
    assert verdict(PAGE, PAGE).outcome == IDENTICAL


@pytest.mark.parametrize(
    "fields",
    [
        {"id": 912},
        {"created": "2027-01-01T00:00:00Z"},
        {"snapshot": "https://cdn.example/other/y.jpg"},
        {"anomalies": {"Blur": 0.61}},
    ],
)
def test_ids_timestamps_urls_and_volatile_values_may_differ_in_value(fields):
    found = verdict(PAGE, changed(**fields))
    assert (found.outcome, found.differences) == (EQUAL_EXCEPT_VOLATILE, [])


@pytest.mark.parametrize(
    "fields, path",
    [
        ({"id": "912"}, "$.results[0].id"),  # a number became text
        ({"created": "2026-04-10T14:30:00+00:00"}, "$.results[0].created"),
        ({"created": "2026-04-10T14:30:00.000000"}, "$.results[0].created"),
        ({"snapshot": "/media/x.jpg"}, "$.results[0].snapshot"),
        ({"anomalies": {"Blur": "high"}}, "$.results[0].anomalies.Blur"),
        ({"anomalies": {"Glare": 0.8}}, "$.results[0].anomalies.Blur"),  # which crossed: structure
        ({"status": "normal"}, "$.results[0].status"),
        ({"camera_serial": None}, "$.results[0].camera_serial"),
    ],
)
def test_a_difference_of_form_or_value_is_reported_at_its_path(fields, path):
    found = verdict(PAGE, changed(**fields))
    assert found.outcome == DIFFERENT
    assert path in [difference.path for difference in found.differences]


def test_links_are_compared_by_where_they_lead_and_remembered():
    aliases = Aliases()
    other_cursor = {
        **PAGE,
        "next": "http://b.example:8000/v1/vision-alert/1/logs/?status=anomaly&cursor=zz",
    }
    assert verdict(PAGE, other_cursor, aliases=aliases).outcome == EQUAL_EXCEPT_VOLATILE
    assert aliases.urls == {PAGE["next"]: other_cursor["next"]}  # the replay follows its own
    lost_filter = {**PAGE, "next": "http://a.example/v1/vision-alert/1/logs/?cursor=abc"}
    assert verdict(PAGE, lost_filter).differences[0].path == "$.next"
    renamed = {**PAGE, "next": "http://b.example/v1/vision-alert/4/logs/?status=anomaly&cursor=q"}
    found = judge(
        reply(PAGE), reply(renamed), VISIONALERT, Aliases(), lambda p: p.replace("/1/", "/4/")
    )
    assert found.outcome == EQUAL_EXCEPT_VOLATILE  # the same license, as the replay names it
    no_next = {**PAGE, "next": None}
    assert verdict(PAGE, no_next).differences[0].path == "$.next"


def test_structure_status_and_content_type_are_compared():
    shorter = {**PAGE, "results": []}
    assert [d.path for d in verdict(PAGE, shorter).differences] == ["$.results"]
    extra = changed(status_text="x")
    assert [(d.path, d.recorded) for d in verdict(PAGE, extra).differences] == [
        ("$.results[0].status_text", "missing")
    ]
    found = judge(reply(PAGE), reply(PAGE, 404, "text/html"), VISIONALERT, Aliases())
    assert [d.path for d in found.differences] == ["status", "content-type"]


def test_without_rules_every_value_counts():
    assert verdict(PAGE, changed(id=8), rules=ParityRules()).outcome == DIFFERENT


@pytest.mark.parametrize(
    "value, form",
    [
        ("2026-04-10T14:30:00Z", "YYYY-MM-DDThh:mm:ssZ"),
        ("2026-04-10T14:30:00+00:00", "YYYY-MM-DDThh:mm:ss+hh:mm"),
        ("2019-06-08T15:40:19.419745", "YYYY-MM-DDThh:mm:ss.ffffff"),
        ("2024-01-19 11:17:19.000000+0800", "YYYY-MM-DD hh:mm:ss.ffffff+hhmm"),
        ("2026-04-10T14:30", "YYYY-MM-DDThh:mm"),
        ("2026-04-10", "YYYY-MM-DD"),
        ("None", "not a timestamp ('None')"),
        (None, "null"),
    ],
)
def test_timestamp_formats(value, form):
    assert timestamp_format(value) == form
