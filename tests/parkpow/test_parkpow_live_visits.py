"""The live visit-list (page envelope, filters, ordering) and delete-visit, through HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from ..conftest import auth
from .parkpow_support import HEADERS, TOKEN, advance, log_json, seed

LIST = "/api/v1/visit-list/"
DELETE = "/api/v1/delete-visit/"


@pytest.fixture
def parkpow(client):
    seed(client)
    return client


def sight(client, camera: str, plate: str, time: str, token: str = TOKEN) -> None:
    reply = log_json(client, camera, [plate], time=time, token=token)
    assert reply.status_code == 200, reply.json


def fill(client, count: int) -> list[str]:
    """``count`` visits, one a minute from 10:00 (plates V000...), at entrance 101."""
    plates = [f"V{i:03d}" for i in range(count)]
    for i, plate in enumerate(plates):
        sight(client, "101", plate, f"2026-04-10 10:{i // 60 + 0:02d}:{i % 60:02d}.000000+0000")
    return plates


def live(client, token: str = TOKEN, **params):
    reply = client.get(LIST, query_string=params, headers=auth(token))
    assert reply.status_code == 200, reply.json
    return reply.json


def test_live_envelope_pages_to_the_end_with_no_row_twice_or_missed(parkpow):
    plates = fill(parkpow, 23)
    seen: list[int] = []
    body = live(parkpow, start="2026-04-10", ordering="start_date", page_size="5")
    pages = 1
    assert body["previous"] is None
    while True:
        assert set(body) == {"estimated_count", "next", "previous", "results"}
        assert body["estimated_count"] == 23
        seen += [visit["id"] for visit in body["results"]]
        if body["next"] is None:
            break
        link = urlsplit(body["next"])
        assert link.scheme == "http" and link.netloc == "localhost"
        query = parse_qs(link.query)
        assert query["page"] == [str(pages + 1)] and query["ordering"] == ["start_date"]
        # as the vendor's cleanup tool: the page number taken from next, the rest re-sent
        body = live(parkpow, start="2026-04-10", ordering="start_date", page_size="5",
                    page=query["page"][0])  # fmt: skip
        pages += 1
        assert parse_qs(urlsplit(body["previous"]).query).get("page", ["1"]) == [str(pages - 1)]
    assert pages == 5 and len(seen) == len(set(seen)) == 23
    dates = [v["start_date"] for v in live(parkpow, start="2026-04-10", ordering="start_date",
                                           page_size="100")["results"]]  # fmt: skip
    assert dates == sorted(dates)
    by_plate = {v["vehicle"]["license_plate"] for v in live(parkpow, start="2026-04-10",
                                                            page_size="100")["results"]}  # fmt: skip
    assert by_plate == set(plates)


def test_default_order_is_newest_first_and_page_size_defaults(parkpow):
    fill(parkpow, 3)
    body = live(parkpow, start="2026-04-10", page="1")
    dates = [v["start_date"] for v in body["results"]]
    assert dates == sorted(dates, reverse=True) and body["next"] is None
    assert live(parkpow, start="2026-04-10", ordering="bogus")["results"] == body["results"]


def test_items_keep_the_documented_shape_plus_start_data(parkpow):
    sight(parkpow, "101", "QWE1234", "2026-04-10 14:00:00.000000+0000")
    [item] = live(parkpow, plate="QWE1234")["results"]
    [documented] = parkpow.get(LIST, headers=HEADERS).json
    assert {k: v for k, v in item.items() if k not in ("start_data", "end_data")} == documented
    assert item["start_data"]["plate"] == "QWE1234" and item["end_data"] == {}
    assert item["start_cam"]["code"] == "101" and item["start_cam"]["name"] == "cam-101"


def test_one_second_window_by_plate_as_the_csv_upload_tool_looks_a_sighting_up(parkpow):
    sight(parkpow, "101", "ABC123", "2026-04-10 14:00:00.000000+0000")
    sight(parkpow, "202", "ABC123", "2026-04-10 14:00:02.000000+0000")
    sight(parkpow, "101", "XYZ999", "2026-04-10 14:00:00.000000+0000")
    body = live(parkpow, plate="abc123", start="2026-04-10T14:00:00", end="2026-04-10T14:00:01")
    assert body["estimated_count"] == 1
    [visit] = body["results"]
    assert visit["vehicle"]["license_plate"] == "ABC123" and visit["start_cam"]["code"] == "101"
    assert live(parkpow, plate="ABC", start="2026-04-10")["estimated_count"] == 2  # contains
    assert live(parkpow, plate="NOPE", start="2026-04-10") == {
        "estimated_count": 0, "next": None, "previous": None, "results": []}  # fmt: skip


def test_camera_filter_matches_start_or_end_camera(parkpow):
    sight(parkpow, "101", "IN1", "2026-04-10 13:00:00.000000+0000")
    sight(parkpow, "102", "IN1", "2026-04-10 13:10:00.000000+0000")  # exit
    sight(parkpow, "202", "OTHER", "2026-04-10 13:20:00.000000+0000")
    assert [v["vehicle"]["license_plate"] for v in
            live(parkpow, camera="102", start="2026-04-10")["results"]] == ["IN1"]  # fmt: skip
    assert [v["vehicle"]["license_plate"] for v in
            live(parkpow, camera="202", start="2026-04-10")["results"]] == ["OTHER"]  # fmt: skip
    assert live(parkpow, camera="nope", start="2026-04-10")["results"] == []


def test_start_and_end_only_keep_the_documented_array(parkpow):
    sight(parkpow, "101", "DOC1", "2026-04-10 14:00:00.000000+0000")
    reply = parkpow.get(LIST, query_string={"start": "2026-04-10"}, headers=HEADERS)
    assert isinstance(reply.json, list) and len(reply.json) == 1
    assert isinstance(parkpow.post(LIST, data={"page": "1"}, headers=HEADERS).json, dict)


def test_the_setting_forces_either_form(parkpow):
    sight(parkpow, "101", "SET1", "2026-04-10 14:00:00.000000+0000")
    assert parkpow.post("/_mock/settings", json={"visit_list_form": "live"}).status_code == 200
    body = parkpow.get(LIST, headers=HEADERS).json
    assert body["estimated_count"] == 1  # no parameters: still the last 24 hours
    parkpow.post("/_mock/settings", json={"visit_list_form": "documented"})
    assert isinstance(parkpow.get(LIST, query_string={"page": "1"}, headers=HEADERS).json, list)
    bad = parkpow.post("/_mock/settings", json={"visit_list_form": "sometimes"})
    assert bad.status_code == 400 and "visit_list_form" in bad.json


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99"])
def test_invalid_page_is_404(parkpow, page):
    fill(parkpow, 2)
    reply = parkpow.get(LIST, query_string={"page": page, "start": "2026-04-10"}, headers=HEADERS)
    assert reply.status_code == 404 and reply.json == {"detail": "Invalid page."}


def test_bad_dates_in_the_live_form_are_400(parkpow):
    reply = parkpow.get(LIST, query_string={"page": "1", "start": "yesterday"}, headers=HEADERS)
    assert reply.status_code == 400 and list(reply.json) == ["start"]


def test_delete_then_gone(parkpow):
    sight(parkpow, "101", "DEL1", "2026-04-10 14:00:00.000000+0000")
    sight(parkpow, "101", "KEEP1", "2026-04-10 14:01:00.000000+0000")
    [victim] = live(parkpow, plate="DEL1")["results"]
    image = victim["start_img"]
    reply = parkpow.post(DELETE, json={"id": victim["id"]}, headers=HEADERS)
    assert reply.status_code == 200 and reply.json == {"status": "deleted", "id": victim["id"]}
    assert live(parkpow, plate="DEL1")["results"] == []
    assert [v["vehicle"]["license_plate"] for v in live(parkpow, page="1")["results"]] == ["KEEP1"]
    assert parkpow.get(image).status_code == 404
    again = parkpow.post("/api/v1/delete-visit", json={"id": victim["id"]}, headers=HEADERS)
    assert again.status_code == 404 and again.json == {"detail": "Not found."}
    # its absence job went with it: time passing closes nothing and breaks nothing
    advance(parkpow, 600)
    assert [v["end_date"] != "None" for v in live(parkpow, page="1")["results"]] == [True]


def test_delete_visit_errors_and_tenancy(parkpow):
    sight(parkpow, "101", "MINE1", "2026-04-10 14:00:00.000000+0000")
    [mine] = live(parkpow, page="1")["results"]
    for body, errors in (
        ({}, {"id": ["This field is required."]}),
        ({"id": "abc"}, {"id": ["A valid integer is required."]}),
        ({"id": True}, {"id": ["A valid integer is required."]}),
        ({"id": -3}, {"id": ["A valid integer is required."]}),
    ):
        reply = parkpow.post(DELETE, json=body, headers=HEADERS)
        assert reply.status_code == 400 and reply.json == errors
    seed(parkpow, token="pp-b", at=None)
    other = parkpow.post(DELETE, json={"id": mine["id"]}, headers=auth("pp-b"))
    assert other.status_code == 404
    assert parkpow.post(DELETE, json={"id": str(mine["id"])}, headers=HEADERS).status_code == 200
