"""Cursor pagination on the VisionAlert lists: DRF CursorPagination behaviour, keyset-exact."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from mockserver.core.timefmt import parse_instant

from ..conftest import BOTH_BACKENDS
from ..visionalert.va_rows import VA, get, insert_logs, relative, seed_account, set_clock, walk

pytestmark = BOTH_BACKENDS

T0 = "2026-04-10T14:30:00Z"


def cameras(n: int, prefix: str = "S") -> list[dict]:
    return [{"serial": f"{prefix}{i:03d}", "name": f"Cam {i}"} for i in range(n)]


def seed_cameras(client, n: int) -> int:
    """``n`` cameras, all created at the same instant: their order is by id alone."""
    set_clock(client, T0)
    ids = seed_account(client, "tok-a", [{"code": "LIC-A", "size": 1000, "cameras": cameras(n)}])
    return ids["LIC-A"]


def cursor_tokens(url: str) -> dict[str, list[str]]:
    cursor = parse_qs(urlsplit(url).query)["cursor"][0]
    return parse_qs(base64.b64decode(cursor).decode("ascii"), keep_blank_values=True)


def ids_of(page: dict) -> list[int]:
    return [item["id"] for item in page["results"]]


def test_walk_130_cameras_default_page_size(client):
    lic = seed_cameras(client, 130)
    pages = walk(client, f"{VA}/{lic}/cameras/")
    assert [len(p["results"]) for p in pages] == [50, 50, 30]
    seen = [i for p in pages for i in ids_of(p)]
    assert len(seen) == len(set(seen)) == 130
    assert seen == sorted(seen, reverse=True)  # same created: newest id first
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None
    assert all(p["previous"] for p in pages[1:])


def test_previous_returns_the_page_before_exactly(client):
    lic = seed_cameras(client, 130)
    pages = walk(client, f"{VA}/{lic}/cameras/")
    back_to_2 = get(client, relative(pages[2]["previous"])).json
    assert back_to_2["results"] == pages[1]["results"]
    back_to_1 = get(client, relative(back_to_2["previous"])).json
    assert back_to_1["results"] == pages[0]["results"]
    assert back_to_1["previous"] is None  # nothing newer than the first page
    assert cursor_tokens(back_to_2["previous"])["r"] == ["1"]
    # and forward again from the page reached backwards
    forward = get(client, relative(back_to_1["next"])).json
    assert forward["results"] == pages[1]["results"]


def test_walk_250_cameras_clamps_page_size_at_200(client):
    lic = seed_cameras(client, 250)
    pages = walk(client, f"{VA}/{lic}/cameras/?page_size=500")
    assert [len(p["results"]) for p in pages] == [200, 50]
    seen = [i for p in pages for i in ids_of(p)]
    assert len(set(seen)) == 250
    assert "page_size=500" in pages[0]["next"]  # kept as sent, like DRF
    back = get(client, relative(pages[1]["previous"])).json
    assert back["results"] == pages[0]["results"]


@pytest.mark.parametrize("size", ["0", "-5", "abc", "1.5", "", "1e2"])
def test_invalid_page_size_falls_back_to_50(client, size):
    lic = seed_cameras(client, 60)
    reply = get(client, f"{VA}/{lic}/cameras/?page_size={size}")
    assert reply.status_code == 200
    assert len(reply.json["results"]) == 50


@pytest.mark.parametrize("size,expected", [("1", 1), ("7", 7), ("200", 60), ("201", 60)])
def test_valid_page_sizes(client, size, expected):
    lic = seed_cameras(client, 60)
    assert len(get(client, f"{VA}/{lic}/cameras/?page_size={size}").json["results"]) == expected


def test_last_page_size_value_wins_like_django(client):
    lic = seed_cameras(client, 30)
    reply = get(client, f"{VA}/{lic}/cameras/?page_size=3&page_size=5")
    assert len(reply.json["results"]) == 5


def test_links_are_absolute_and_keep_every_other_parameter_sorted(client):
    lic = seed_cameras(client, 5)
    reply = get(client, f"{VA}/{lic}/cameras/?zeta=1&page_size=2&alpha=x%20y&empty=")
    link = reply.json["next"]
    assert link.startswith(f"http://localhost{VA}/{lic}/cameras/?")
    query = urlsplit(link).query
    keys = [part.split("=")[0] for part in query.split("&")]
    assert keys == ["alpha", "cursor", "empty", "page_size", "zeta"]
    assert "alpha=x+y" in query and "empty=" in query
    # following it replaces the cursor, never duplicates it
    second = get(client, relative(link)).json
    assert urlsplit(second["next"]).query.count("cursor=") == 1


def test_links_use_the_public_base_url(make_app):
    client = make_app(public_base_url="https://emu.example.com/").test_client()
    lic = seed_cameras(client, 3)
    reply = get(client, f"{VA}/{lic}/cameras/?page_size=1")
    assert reply.json["next"].startswith(f"https://emu.example.com{VA}/{lic}/cameras/?")


def test_cursor_is_drf_encoding_with_created_and_id(client):
    lic = seed_cameras(client, 3)
    page = get(client, f"{VA}/{lic}/cameras/?page_size=1").json
    tokens = cursor_tokens(page["next"])
    assert set(tokens) == {"p"}  # no offset, not reversed: only the position
    assert tokens["p"] == [f"2026-04-10T14:30:00.000000Z_{page['results'][0]['id']}"]


@pytest.mark.parametrize(
    "cursor",
    [
        "@@@a",  # one base64 character: bad padding
        "abc",  # bad padding
        base64.b64encode(b"o=-1").decode(),
        base64.b64encode(b"o=x").decode(),
        base64.b64encode(b"r=yes").decode(),
        base64.b64encode(b"p=not-a-position").decode(),
        base64.b64encode(b"p=2026-04-10T14:30:00.000000Z_99999999999999999999").decode(),
        "w6k=",  # non-ascii text inside
        "\u00e9",
    ],
)
def test_invalid_cursor_is_404(client, cursor):
    lic = seed_cameras(client, 3)
    reply = get(client, f"{VA}/{lic}/cameras/", query_string={"cursor": cursor})
    assert reply.status_code == 404
    assert reply.json == {"detail": "Invalid cursor"}


def test_offset_cursor_and_drf_position_are_understood(client):
    lic = seed_cameras(client, 10)
    everything = ids_of(get(client, f"{VA}/{lic}/cameras/").json)
    offset = base64.b64encode(b"o=3").decode()
    page = get(
        client, f"{VA}/{lic}/cameras/", query_string={"cursor": offset, "page_size": "2"}
    ).json
    assert ids_of(page) == everything[3:5]
    # DRF's own position form (a bare timestamp): strictly older than it
    drf = base64.b64encode(urlencode({"p": "2026-04-10 14:30:00.000001+00:00"}).encode()).decode()
    page = get(client, f"{VA}/{lic}/cameras/", query_string={"cursor": drf}).json
    assert ids_of(page) == everything
    drf = base64.b64encode(urlencode({"p": "2026-04-10 14:30:00+00:00"}).encode()).decode()
    assert get(client, f"{VA}/{lic}/cameras/", query_string={"cursor": drf}).json["results"] == []


def test_cursor_keeps_working_for_an_empty_page(client):
    lic = seed_cameras(client, 2)
    page = get(client, f"{VA}/{lic}/cameras/?page_size=2").json
    assert page["next"] is None
    last = page["results"][-1]["id"]
    cursor = base64.b64encode(f"p=2026-04-10T14:30:00.000000Z_{last}".encode()).decode()
    empty = get(client, f"{VA}/{lic}/cameras/", query_string={"cursor": cursor}).json
    assert empty["results"] == [] and empty["next"] is None
    # DRF: the previous page of an empty page holds what is strictly newer than its cursor
    assert get(client, relative(empty["previous"])).json["results"] == page["results"][:1]


def test_walking_logs_while_new_ones_arrive_never_skips_or_repeats(client, app):
    set_clock(client, T0)
    lic = seed_account(client, "tok-a", [{"code": "LIC-A", "cameras": cameras(4, prefix="C")}])[
        "LIC-A"
    ]
    base = parse_instant("2026-04-01T00:00:00Z")
    # 150 logs, several sharing one instant (ties are ordered by id)
    rows = [(f"C{i % 4:03d}", base + (i // 3) * 1_000_000, "normal") for i in range(150)]
    original = set(insert_logs(app, lic, rows))
    url = f"{VA}/{lic}/logs/?page_size=20"
    seen: list[int] = []
    step = 0
    while url:
        page = get(client, relative(url) if "://" in url else url).json
        seen.extend(ids_of(page))
        # new logs arrive between fetches: newer ones, and late ones created in the past
        step += 1
        insert_logs(
            app,
            lic,
            [
                ("C000", parse_instant("2026-04-10T00:00:00Z") + step, "anomaly"),
                ("C001", base + 10 * 1_000_000, "normal"),  # ties with already-listed rows
            ],
        )
        url = page["next"]
    assert len(seen) == len(set(seen)), "a log was listed twice"
    assert original <= set(seen), "a log that existed before the walk was skipped"


def test_pagination_is_the_same_on_logs_and_alerts(client, app):
    from ..visionalert.va_rows import insert_alert

    set_clock(client, T0)
    lic = seed_account(client, "tok-a", [{"code": "LIC-A", "cameras": cameras(1, "C")}])["LIC-A"]
    for i in range(7):
        insert_alert(app, lic, f"2026-04-0{i + 1}T10:00:00Z", [{"serial": "C000"}])
    pages = walk(client, f"{VA}/{lic}/alerts/?page_size=3")
    assert [len(p["results"]) for p in pages] == [3, 3, 1]
    created = [a["created"] for p in pages for a in p["results"]]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("count", [5, 21])  # 2 tagged cameras: a scan each; 10: one scan
def test_tag_filtered_walk_matches_the_filtered_list(client, app, count):
    """Tag-filtered pages are the same pages as filtering the full list by hand."""
    set_clock(client, T0)
    specs = [{"serial": f"C{i}", "tags": ["odd"] if i % 2 else ["even"]} for i in range(count)]
    lic = seed_account(client, "tok-a", [{"code": "LIC-A", "cameras": specs}])["LIC-A"]
    base = parse_instant("2026-04-01T00:00:00Z")
    rows = [(f"C{i % count}", base + (i // 4) * 1_000_000, "normal") for i in range(90)]
    ids = insert_logs(app, lic, rows)
    expected = [
        log_id
        for log_id, (serial, created, _) in sorted(
            zip(ids, rows, strict=True), key=lambda pair: (pair[1][1], pair[0]), reverse=True
        )
        if int(serial[1:]) % 2
    ]
    pages = walk(client, f"{VA}/{lic}/logs/?tag=odd&page_size=7")
    assert [i for p in pages for i in ids_of(p)] == expected
    assert all("tag=odd" in p["next"] for p in pages[:-1])
    back = get(client, relative(pages[3]["previous"])).json
    assert back["results"] == pages[2]["results"]
    offset = base64.b64encode(b"o=5").decode()
    page = get(
        client, f"{VA}/{lic}/logs/", query_string={"tag": "odd", "cursor": offset, "page_size": "3"}
    ).json
    assert ids_of(page) == expected[5:8]
