"""The bad-input corpus: every endpoint, vendor and control plane, times the inputs that
break naive servers.

A case is one request and what the contract says about it: ``expect`` is the set of
acceptable statuses (a 4xx JSON error almost always; a 2xx where the contract accepts
the input, e.g. an invalid ``page_size`` falls back to the default). Cases are built per
endpoint from families of inputs that fit its shape (JSON body, multipart upload, query
filters, path parameters), so a new endpoint gets the whole corpus by being listed here.

Every case is a request that must not change state, so mutating endpoints only get
inputs the contract rejects.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from mockserver.testkit import seeds

from .images import solid

TOKEN = "tok-bad"
OTHER = "tok-other"
LICENSE = "LIC-BAD"
SERIAL = "CAM-1"
PP_CODE = "101"
START = "2026-04-10T14:30:00Z"
UPLOAD_LIMIT = 256 * 1024  # the corpus app's limit: oversize bodies stay cheap to build

FOUR_XX = frozenset(range(400, 500))
OK = frozenset(range(200, 300))
HUGE = "x" * 100_000
CONTROL = "a\x01\x07\x1b[31mb\x7f"
NON_UTF8 = b"\xff\xfe\xc3\x28"
#: integers no id or count can be: past PostgreSQL's INTEGER, past 64 bits either way, 10**20
HUGE_INTS = (2**31, 2**63, -(2**63) - 1, 10**20)
HUGE_TEXTS = tuple(str(value) for value in HUGE_INTS)


def seed() -> dict:
    """The account the corpus runs against: both products, one camera with a log."""
    front = seeds.camera(SERIAL, name="Front", tags=["t1"])
    gate = seeds.parking_camera(PP_CODE, name="gate", type="ENTRANCE")
    return seeds.world(
        seeds.account(
            TOKEN,
            licenses=[seeds.license(LICENSE, size=5, webhook_url=None, cameras=[front])],
            parkings=[seeds.parking("lot", parking_spaces=10, absent_timer=3, cameras=[gate])],
            vehicles=[seeds.vehicle("ABC123", payment_status="0")],
        ),
        seeds.account(
            OTHER,
            rate_limit_per_second=1,
            licenses=[seeds.license("LIC-OTHER", size=5, cameras=[seeds.camera(SERIAL)])],
        ),
    )


# -- images ---------------------------------------------------------------------------------


def jpeg(width: int = 400, height: int = 300) -> bytes:
    return solid((width, height), (120, 90, 60))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG that declares ``width``×``height`` pixels but is a few dozen bytes on disk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", body)
        + png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    whole = jpeg()
    return whole[: len(whole) // 2]


BAD_FILES: dict[str, bytes] = {
    "empty file": b"",
    "text, not an image": b"hello, I am not an image\n" * 10,
    "html": b"<html><body>x</body></html>",
    "truncated jpeg": truncated_jpeg(),
    "jpeg header only": jpeg()[:20],
    "decompression bomb png 30000x30000": png_bomb(),
    "zip bytes": b"PK\x03\x04" + b"\x00" * 100,
    "non-utf8 bytes": NON_UTF8 * 100,
}


# -- cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    endpoint: str
    name: str
    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    expect: frozenset = FOUR_XX

    @property
    def id(self) -> str:
        return f"{self.endpoint} | {self.name}"


def api_headers() -> dict:
    return {"Authorization": f"Token {TOKEN}"}


def multipart(fields: dict[str, object]) -> tuple[bytes, str]:
    """A multipart body; values: str, bytes (a form field's raw bytes) or (filename, bytes)."""
    boundary = "corpusboundary7d3a"
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, content = value
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            parts.append(head + content + b"\r\n")
        else:
            content = value if isinstance(value, bytes) else str(value).encode()
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _json_case(endpoint, name, method, path, value, expect=FOUR_XX, raw=None, ctype=None):
    body = raw if raw is not None else json.dumps(value).encode()
    return Case(
        endpoint, name, method, path, body=body, content_type=ctype or "application/json",
        expect=expect,
    )  # fmt: skip


def json_body_cases(endpoint: str, method: str, path: str, fields: dict) -> list[Case]:
    """Body-level and field-level breakage of a JSON endpoint whose valid body is ``fields``."""
    cases = [
        _json_case(endpoint, "malformed json", method, path, None, raw=b'{"a": '),
        _json_case(endpoint, "malformed json, form content type", method, path, None,
                   raw=b'{"a": nope}', ctype="application/x-www-form-urlencoded"),
        _json_case(endpoint, "json array", method, path, [fields]),
        _json_case(endpoint, "json string", method, path, "text"),
        _json_case(endpoint, "json number", method, path, 12),
        _json_case(endpoint, "non-utf8 json", method, path, None,
                   raw=b'{"x": "' + NON_UTF8 + b'"}'),
        _json_case(endpoint, "utf-16 json", method, path, None,
                   raw=json.dumps(fields).encode("utf-16")),
        _json_case(endpoint, "deeply nested json", method, path, None,
                   raw=b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        _json_case(endpoint, "empty object (missing fields)", method, path, {}),
    ]  # fmt: skip
    for key in fields:
        others = {k: v for k, v in fields.items() if k != key}
        for label, value in (
            ("list", [1, 2]),
            ("object", {"a": 1}),
            ("bool", True),
            ("huge string", HUGE),
            ("NUL", "a\x00b"),
        ):
            cases.append(
                _json_case(endpoint, f"{key}: {label}", method, path, {**others, key: value})
            )
        good = fields[key]
        if isinstance(good, int | float) and not isinstance(good, bool):
            for value in HUGE_INTS:
                cases.append(
                    _json_case(endpoint, f"{key}: {value}", method, path, {**others, key: value})
                )
        elif isinstance(good, str) and good.isdigit() and key.endswith("id"):  # codes are text
            for value in HUGE_TEXTS:
                cases.append(
                    _json_case(endpoint, f"{key}: '{value}'", method, path, {**others, key: value})
                )
    return cases


def upload_cases(
    endpoint: str,
    path: str,
    file_field: str,
    fields: dict,
    text_fields: tuple[str, ...],
    required: tuple[str, ...] = (),
    paths: tuple[str, ...] = (),
) -> list[Case]:
    """Multipart endpoints: bad files, missing parts, bad text fields, oversize bodies."""
    good = ("f.jpg", jpeg())
    cases = []

    def add(name: str, parts: dict, expect=FOUR_XX) -> None:
        body, ctype = multipart(parts)
        cases.append(Case(endpoint, name, "POST", path, body=body, content_type=ctype,
                          expect=expect))  # fmt: skip

    for label, content in BAD_FILES.items():
        add(f"{file_field}: {label}", {**fields, file_field: ("f.jpg", content)})
    add(f"{file_field} missing", dict(fields))
    add(f"{file_field} as a text field", {**fields, file_field: "not a file"})
    add("no parts at all", {})
    for key in text_fields:
        others = {k: v for k, v in fields.items() if k != key}
        for label, value in (
            ("missing", None),
            ("empty", ""),
            ("blank", "   "),
            ("huge", HUGE),
            ("NUL", "a\x00b"),
            ("control characters", CONTROL),
            ("traversal ../", "../../etc/passwd"),
            ("slash", "a/b"),
        ):
            if label in ("missing", "empty", "blank") and key not in required:
                continue  # an optional field left out or blank is no field
            if label in ("control characters", "traversal ../", "slash") and key not in paths:
                continue  # opaque text where the value never becomes part of a path
            parts = dict(others) if value is None else {**others, key: value}
            add(f"{key}: {label}", {**parts, file_field: good})
    padding = b"0" * (UPLOAD_LIMIT + 1)
    add("body over the upload limit", {**fields, file_field: ("big.jpg", padding)},
        expect=frozenset({413}))  # fmt: skip
    cases.append(
        Case(endpoint, "not multipart (json)", "POST", path,
             body=json.dumps(fields).encode(), content_type="application/json")
    )  # fmt: skip
    cases.append(
        Case(endpoint, "multipart without boundary", "POST", path, body=b"--x\r\n",
             content_type="multipart/form-data")
    )  # fmt: skip
    return cases


def query_cases(endpoint: str, path: str, params: tuple[str, ...]) -> list[Case]:
    """Read endpoints: bad dates, cursors, page sizes, enum values, encodings."""
    cases = []

    def add(name: str, query: str, expect=FOUR_XX) -> None:
        cases.append(Case(endpoint, name, "GET", path, query=query, expect=expect))

    if "page_size" in params:
        for value in ("0", "-1", "abc", "1e3", "99999999999999999999999", "", "%00", "1.5",
                      *HUGE_TEXTS):  # fmt: skip
            add(f"page_size={value} falls back", f"page_size={value}", OK)
    if "cursor" in params:
        # DRF drops characters outside the base64 alphabet and clamps the offset to its
        # cut-off: these cursors read as the first page / a page past the end
        add("cursor not base64 (DRF ignores the junk)", "cursor=!!!", OK)
        add("cursor base64 garbage", "cursor=" + base64.b64encode(b"\xff\x00garbage").decode(),
            frozenset({404}))  # fmt: skip
        add("cursor bad position", "cursor=" + base64.b64encode(b"p=not-a-date").decode(),
            frozenset({404}))  # fmt: skip
        add("cursor bad offset", "cursor=" + base64.b64encode(b"o=-5&p=x").decode(),
            frozenset({404}))  # fmt: skip
        add("cursor huge offset (clamped)", "cursor=" + base64.b64encode(b"o=" + b"9" * 40).decode(),
            OK)  # fmt: skip
        add("cursor NUL (ignored)", "cursor=%00", OK)
        add("cursor bad reverse flag", "cursor=" + base64.b64encode(b"r=x&p=x").decode(),
            frozenset({404}))  # fmt: skip
    for name in ("start", "end"):
        if name in params:
            for value in ("2026-13-45", "yesterday", "2026-04-10T25:00:00Z", "%00", "9" * 50,
                          "2026-04-10T14:30:00+99:00", "%ff%fe"):  # fmt: skip
                add(f"{name}={value}", f"{name}={value}", frozenset({400}))
    if "status" in params:
        for value in ("bogus", "ANOMALY", "%00", "no_data%0a"):
            add(f"status={value}", f"status={value}", frozenset({400}))
    if "sent" in params:
        for value in ("maybe", "2", "%00", "yes please"):
            add(f"sent={value}", f"sent={value}", frozenset({400}))
    if "serial" in params:
        add("serial traversal is just no match", "serial=..%2F..%2Fetc", OK)
    add("non-utf8 query", "x=%ff%fe", OK)
    add("control characters in an unknown parameter", "x=%01%1b", OK)
    return cases


def path_cases(endpoint: str, method: str, template: str, expect=None) -> list[Case]:
    """Traversal and junk in path parameters: ``{license}`` and ``{serial}`` slots."""
    cases = []
    expect = expect or frozenset({400, 403, 404, 405})
    if "{license}" in template:
        for value in ("abc", "-1", "0", "99999999999999999999999", "1e3", "%00", "..", "%2e%2e",
                      *HUGE_TEXTS):  # fmt: skip
            path = template.replace("{license}", value).replace("{serial}", SERIAL)
            cases.append(Case(endpoint, f"license id {value}", method, path, expect=expect))
    if "{serial}" in template:
        for value in ("..", "%2e%2e", "..%2F..%2Fstore.sqlite3", "%2e%2e%2f%2e%2e%2fetc",
                      "a%00b", "%ff", "..%5c..%5cx", "%0d%0aX-Injected:%201",
                      "NO-SUCH-CAMERA"):  # fmt: skip
            path = template.replace("{serial}", value)
            cases.append(Case(endpoint, f"serial {value}", method, path, expect=expect))
    return cases


def build(license_id: int, other_license: int | None = None) -> list[Case]:
    """The whole corpus for a store seeded with ``seed()`` (``license_id``: LIC-BAD's id)."""
    va = "/v1/vision-alert"
    lic = f"{va}/{license_id}"
    cam = f"{lic}/cameras/{SERIAL}"
    cases: list[Case] = []
    # -- VisionAlert
    cases += upload_cases("create-log", f"{va}/create-log/", "upload",
                          {"camera_id": "NEW-CAM", "tag": "t"}, ("camera_id", "tag"),
                          required=("camera_id",), paths=("camera_id", "tag"))  # fmt: skip
    cases += upload_cases("reference POST", f"{cam}/reference/", "upload", {}, ())
    cases += query_cases("licenses", f"{va}/licenses/", ("page_size",))
    cases += query_cases("cameras", f"{lic}/cameras/", ("page_size", "cursor", "status"))
    cases += query_cases("camera logs", f"{cam}/logs/",
                         ("page_size", "cursor", "start", "end", "status"))  # fmt: skip
    cases += query_cases("license logs", f"{lic}/logs/",
                         ("page_size", "cursor", "start", "end", "status", "serial"))  # fmt: skip
    cases += query_cases("alerts", f"{lic}/alerts/",
                         ("page_size", "cursor", "start", "end", "sent"))  # fmt: skip
    cases += path_cases("cameras", "GET", va + "/{license}/cameras/")
    cases += path_cases("camera logs", "GET", va + "/{license}/cameras/{serial}/logs/")
    cases += path_cases("license logs", "GET", va + "/{license}/logs/")
    cases += path_cases("alerts", "GET", va + "/{license}/alerts/")
    cases += path_cases("delete camera", "DELETE", va + "/{license}/cameras/{serial}/")
    cases += path_cases("reference GET", "GET", va + "/{license}/cameras/{serial}/reference/")
    cases += path_cases("reference POST", "POST", va + "/{license}/cameras/{serial}/reference/")
    if other_license is not None:
        cases.append(
            Case(
                "delete camera",
                "another account's license",
                "DELETE",
                f"{va}/{other_license}/cameras/{SERIAL}/",
                expect=frozenset({403, 404}),
            )
        )
    # -- ParkPow
    pp = "/api/v1"
    cases += json_body_cases("create-camera", "POST", f"{pp}/create-camera/",
                             {"code": "NEWCAM", "name": "n", "type": "EXIT"})  # fmt: skip
    for label, extra in (
        ("type bogus", {"type": "SIDEWAYS"}),
        ("latitude 91", {"latitude": 91}),
        ("longitude text", {"longitude": "east"}),
        ("latitude NaN", {"latitude": "NaN"}),
        ("longitude Infinity", {"longitude": "Infinity"}),
        ("code NUL", {"code": "1\x00"}),
        ("blank code", {"code": "  "}),
        ("name null", {"name": None}),
        *((f"latitude {value}", {"latitude": value}) for value in HUGE_INTS),
        *((f"longitude {value}", {"longitude": value}) for value in HUGE_INTS),
    ):
        body = {"code": "NEWCAM", "name": "n", **extra}
        cases.append(_json_case("create-camera", label, "POST", f"{pp}/create-camera/", body))
    cases += json_body_cases("create-vehicle", "POST", f"{pp}/create-vehicle/",
                             {"license_plate": "NEW1", "payment_status": "1"})  # fmt: skip
    cases.append(_json_case("create-vehicle", "plate NUL", "POST", f"{pp}/create-vehicle/",
                            {"license_plate": "AB\x00C"}))  # fmt: skip
    cases += json_body_cases("visit-list POST", "POST", f"{pp}/visit-list/",
                             {"start": "2026-04-10", "end": "2026-04-11"})  # fmt: skip
    cases += query_cases("visit-list GET", f"{pp}/visit-list/", ("start", "end"))
    cases += query_cases("parking-list", f"{pp}/parking-list/", ())
    log_vehicle = f"{pp}/log-vehicle/"
    image64 = base64.b64encode(jpeg()).decode()
    good_results = [{"plate": "xyz789", "score": 0.9}]
    cases += json_body_cases("log-vehicle json", "POST", log_vehicle,
                             {"camera": PP_CODE, "image": image64, "results": good_results,
                              "time": "2026-04-10 14:30:00.000000+0000"})  # fmt: skip
    for label, extra in (
        ("image not base64", {"image": "%%%not base64%%%"}),
        ("image base64 of text", {"image": base64.b64encode(b"hello").decode()}),
        ("image base64 bomb", {"image": base64.b64encode(png_bomb()).decode()}),
        ("image truncated", {"image": base64.b64encode(truncated_jpeg()).decode()}),
        ("results not json", {"results": "{not json"}),
        ("results without plate", {"results": [{"score": 1}]}),
        ("results plate blank", {"results": [{"plate": "  "}]}),
        ("results plate NUL", {"results": [{"plate": "a\x00b"}]}),
        ("results 101 plates", {"results": [{"plate": f"P{i}"} for i in range(101)]}),
        ("results number", {"results": 5}),
        ("time garbage", {"time": "half past ten"}),
        ("time month 13", {"time": "2026-13-01 10:00:00.000000+0000"}),
        ("time huge epoch", {"time": 1e30}),
        ("time negative epoch", {"time": -5}),
        ("time bool", {"time": True}),
        ("camera NUL", {"camera": "1\x00"}),
        ("camera list", {"camera": ["101"]}),
        *((f"time {value}", {"time": value}) for value in HUGE_INTS[1:]),  # 2**31: in 2038
    ):
        body = {"camera": PP_CODE, "image": image64, "results": good_results, **extra}
        cases.append(_json_case("log-vehicle json", label, "POST", log_vehicle, body))
    cases += upload_cases("log-vehicle multipart", log_vehicle, "image",
                          {"camera": PP_CODE, "results": json.dumps(good_results)},
                          ("camera",), required=("camera",))  # fmt: skip
    from .parkpow.bad_inputs_parkpow import build as parkpow_tool_cases  # it imports this module

    cases += parkpow_tool_cases(pp)
    # -- media
    for value in ("..%2F..%2Fstore.sqlite3", "%2e%2e", "0" * 32 + ".jpg", "a%00b.jpg", "%ff"):
        cases.append(Case("media", f"name {value}", "GET", f"/media/camera_snapshot/{value}",
                          expect=frozenset({404})))  # fmt: skip
    cases.append(Case("media", "kind traversal", "GET", "/media/..%2F..%2F/x.jpg",
                      expect=frozenset({404})))  # fmt: skip
    # -- control plane
    cases += control_cases(license_id)
    cases += dashboard_cases(license_id)
    return [
        Case(**{**case.__dict__, "expect": ACCEPTED.get((case.endpoint, case.name), case.expect)})
        for case in cases
    ]


#: rows where the contract accepts what the family generator calls bad (non-mutating calls)
ACCEPTED: dict[tuple[str, str], frozenset] = {
    # visit-list reads a body that is not JSON as a form: no start/end, the last 24 hours
    ("visit-list POST", "malformed json, form content type"): OK,
    ("visit-list POST", "empty object (missing fields)"): OK,
    # an empty change set changes nothing and answers the current values
    ("settings", "empty object (missing fields)"): OK,
    ("thresholds", "empty object (missing fields)"): OK,
    ("notifications", "empty object (missing fields)"): OK,
    # JSON in UTF-16 is still JSON to Flask's reader; the value is checked all the same
    ("mutants", "utf-16 json"): OK | FOUR_XX,
    # int() reads any Unicode decimal digit: '٣' is 3
    ("requests", "limit=%D9%A3"): OK | frozenset({400}),
}


def control_cases(license_id: int) -> list[Case]:
    ctl = "/_mock"
    cases: list[Case] = []
    cases += json_body_cases("seed", "POST", f"{ctl}/seed", {"accounts": [{"token": "x"}]})
    for label, body in (
        ("accounts not a list", {"accounts": "x"}),
        ("token missing", {"accounts": [{"products": ["parkpow"]}]}),
        ("token existing", {"accounts": [{"token": TOKEN}]}),
        ("products bogus", {"accounts": [{"token": "n1", "products": ["coffee"]}]}),
        ("webhook file://", {"accounts": [{"token": "n2", "visionalert": {"licenses": [
            {"code": "L-N2", "size": 1, "webhook_url": "file:///etc/passwd"}]}}]}),
        ("webhook ftp://", {"accounts": [{"token": "n3", "visionalert": {"licenses": [
            {"code": "L-N3", "size": 1, "webhook_url": "ftp://127.0.0.1/x"}]}}]}),
        ("webhook javascript:", {"accounts": [{"token": "n4", "visionalert": {"licenses": [
            {"code": "L-N4", "size": 1, "webhook_url": "javascript:alert(1)"}]}}]}),
        ("license size -1", {"accounts": [{"token": "n5", "visionalert": {"licenses": [
            {"code": "L-N5", "size": -1}]}}]}),
        ("expiration garbage", {"accounts": [{"token": "n6", "visionalert": {"licenses": [
            {"code": "L-N6", "size": 1, "expiration": "soon"}]}}]}),
        ("camera serial with slash", {"accounts": [{"token": "n7", "visionalert": {"licenses": [
            {"code": "L-N7", "size": 1, "cameras": [{"serial": "../x"}]}]}}]}),
        ("rate limit text", {"accounts": [{"token": "n8", "rate_limit_per_second": "fast"}]}),
        ("parking camera type bogus", {"accounts": [{"token": "n9", "parkpow": {"parkings": [
            {"name": "p", "cameras": [{"code": "1", "name": "c", "type": "UP"}]}]}}]}),
        ("second account bad: all or nothing", {"accounts": [
            {"token": "n10"}, {"token": "n11", "products": 5}]}),
        *((f"license size {value}", {"accounts": [{"token": "n12", "visionalert": {"licenses": [
            {"code": "L-N12", "size": value}]}}]}) for value in HUGE_INTS),
        *((f"rate limit {value}", {"accounts": [{"token": "n13", "rate_limit_per_second": value}]})
          for value in HUGE_INTS[1:]),
        *((f"parking spaces {value}", {"accounts": [{"token": "n14", "parkpow": {"parkings": [
            {"name": "p", "parking_spaces": value}]}}]}) for value in HUGE_INTS),
        *((f"absent timer {value}", {"accounts": [{"token": "n15", "parkpow": {"parkings": [
            {"name": "p", "absent_timer": value}]}}]}) for value in HUGE_INTS),
    ):  # fmt: skip
        cases.append(_json_case("seed", label, "POST", f"{ctl}/seed", body))
    cases.append(Case("reset", "seed=bogus", "POST", f"{ctl}/reset", query="seed=bogus"))
    cases.append(Case("reset", "seed=../../etc/passwd", "POST", f"{ctl}/reset",
                      query="seed=..%2F..%2Fetc%2Fpasswd"))  # fmt: skip
    cases += json_body_cases("clock", "POST", f"{ctl}/clock", {"advance": 1})
    for label, body in (
        ("two keys", {"set": START, "advance": 1}),
        ("set garbage", {"set": "tomorrow"}),
        ("set number", {"set": 5}),
        ("advance negative", {"advance": -1}),
        ("advance text", {"advance": "10"}),
        ("advance NaN", None),
        ("advance huge", {"advance": 1e300}),
        ("real false", {"real": False}),
    ):
        raw = b'{"advance": NaN}' if body is None else None
        cases.append(_json_case("clock", label, "POST", f"{ctl}/clock", body, raw=raw))
    cases += json_body_cases("settings", "POST", f"{ctl}/settings", {"processing_delay": 5})
    for label, body in (
        ("unknown setting", {"bogus": 1}),
        ("negative", {"camera_window": -1}),
        ("text", {"alert_window": "900"}),
        ("NaN", None),
    ):
        raw = b'{"review_band": NaN}' if body is None else None
        cases.append(_json_case("settings", label, "POST", f"{ctl}/settings", body, raw=raw))
    for setting in ("camera_window", "offline_after", "alert_window", "review_band",
                    "retry_delay", "webhook_retries", "webhook_backoff", "default_threshold",
                    "webhook_min_score", "import_delay"):  # fmt: skip
        for value in (*HUGE_INTS, 10**400):
            cases.append(_json_case("settings", f"{setting}: {str(value)[:24]}", "POST",
                                    f"{ctl}/settings", {setting: value}))  # fmt: skip
    cases += json_body_cases("faults", "POST", f"{ctl}/faults",
                             {"match": {"path": "/x"}, "action": "status"})  # fmt: skip
    for label, body in (
        ("status 99", {"action": {"type": "status", "status": 99}}),
        ("status 600", {"action": {"type": "status", "status": 600}}),
        ("action bogus", {"action": "explode"}),
        ("rate 2", {"rate": 2, "action": "status"}),
        ("times -1", {"times": -1, "action": "status"}),
        ("latency negative", {"action": {"type": "latency", "ms": -5}}),
        ("latency huge", {"action": {"type": "latency", "ms": 1e12}}),
        ("bad regex", {"match": {"path_regex": "(("}, "action": "status"}),
        ("header injection", {"action": {"type": "status", "status": 500,
                                         "headers": {"X-A": "b\r\nSet-Cookie: x=1"}}}),
    ):  # fmt: skip
        cases.append(_json_case("faults", label, "POST", f"{ctl}/faults", body))
    for value in HUGE_INTS:
        for label, body in (
            ("status", {"action": {"type": "status", "status": value}}),
            ("times", {"times": value, "action": "status"}),
            ("latency ms", {"action": {"type": "latency", "ms": value}}),
            ("rate", {"rate": value, "action": "status"}),
        ):  # fmt: skip
            cases.append(_json_case("faults", f"{label} {value}", "POST", f"{ctl}/faults", body))
    for value in ("abc", "99999", "-1", "99999999999999999999999", *HUGE_TEXTS):
        cases.append(Case("fault", f"GET id {value}", "GET", f"{ctl}/faults/{value}",
                          expect=frozenset({404})))  # fmt: skip
        cases.append(Case("fault", f"DELETE id {value}", "DELETE", f"{ctl}/faults/{value}",
                          expect=frozenset({404, 405})))  # fmt: skip
    for query in (
        *(f"{name}={value}" for name in ("since", "limit", "status") for value in HUGE_TEXTS),
        "status=abc",
        "status=999x",
        "since=-1",
        "since=abc",
        "limit=0",
        "limit=abc",
        "since=%C2%B2",
        "limit=%D9%A3",
        "status=%C2%B2%C2%B2%C2%B2",
    ):
        cases.append(Case("requests", query, "GET", f"{ctl}/requests", query=query,
                          expect=frozenset({400})))  # fmt: skip
    cases.append(Case("assertions", "unknown name", "GET", f"{ctl}/assertions/nope",
                      expect=frozenset({404})))  # fmt: skip
    for query in ("min_checked=abc", "tolerance=-1", "min_seconds=NaN", "growth=x",
                  "min_checked=%C2%B2", *(f"min_checked={value}" for value in HUGE_TEXTS[2:3])):  # fmt: skip
        name = (
            "backoff_after_5xx"
            if "growth" in query or "min_seconds" in query
            else ("retry_after_honoured")
        )
        cases.append(Case("assertions", query, "GET", f"{ctl}/assertions/{name}", query=query,
                          expect=frozenset({400})))  # fmt: skip
    rate = f"{ctl}/accounts/{TOKEN}/rate-limit"
    cases += json_body_cases("rate-limit", "POST", rate, {"rate_limit_per_second": 2})
    for label, body in (
        ("negative", {"rate_limit_per_second": -1}),
        ("zero", {"rate_limit_per_second": 0}),
        ("text", {"rate_limit_per_second": "fast"}),
        ("missing", {}),
    ):
        cases.append(_json_case("rate-limit", label, "POST", rate, body))
    cases.append(Case("rate-limit", "unknown token", "GET", f"{ctl}/accounts/nobody/rate-limit",
                      expect=frozenset({404})))  # fmt: skip
    cases.append(_json_case("rate-limit", "unknown token POST", "POST",
                            f"{ctl}/accounts/nobody/rate-limit", {"rate_limit_per_second": 1},
                            expect=frozenset({404})))  # fmt: skip
    va = f"{ctl}/visionalert"
    camera = f"{va}/licenses/{license_id}/cameras/{SERIAL}"
    cases += json_body_cases("thresholds", "POST", f"{camera}/thresholds", {"Blur": 0.7})
    for label, body in (
        *((f"Blur {value}", {"Blur": value}) for value in HUGE_INTS),
        ("unknown type", {"Sharpness": 0.5}),
        ("above 1", {"Blur": 1.5}),
        ("negative", {"Glare": -0.1}),
        ("text", {"Blur": "high"}),
    ):
        cases.append(_json_case("thresholds", label, "POST", f"{camera}/thresholds", body))
    cases += json_body_cases("forced-scores", "POST", f"{camera}/forced-scores",
                             {"scores": {"Blur": 0.9}, "count": 1})  # fmt: skip
    for label, body in (
        *((f"count {value}", {"scores": {"Blur": 0.9}, "count": value}) for value in HUGE_INTS),
        *((f"score {value}", {"scores": {"Blur": value}}) for value in HUGE_INTS),
        ("count 0", {"scores": {"Blur": 0.9}, "count": 0}),
        ("count huge", {"scores": {"Blur": 0.9}, "count": 10**12}),
        ("score 2", {"scores": {"Blur": 2}}),
        ("unknown type", {"scores": {"Color": 0.5}}),
        ("fail text", {"fail": "yes"}),
        ("neither", {"count": 1}),
    ):
        cases.append(_json_case("forced-scores", label, "POST", f"{camera}/forced-scores", body))
    cases += json_body_cases("resolve", "POST", f"{va}/logs/999999/resolve", {"status": "normal"})
    for value in HUGE_TEXTS:
        cases.append(_json_case("resolve", f"log id {value}", "POST", f"{va}/logs/{value}/resolve",
                                {"status": "normal"}, expect=frozenset({404, 405})))  # fmt: skip
    notifications = f"{va}/licenses/{license_id}/notifications"
    cases += json_body_cases("notifications", "POST", notifications,
                             {"webhook_url": "http://127.0.0.1:9/x"})  # fmt: skip
    for label, body in (
        ("webhook file://", {"webhook_url": "file:///etc/passwd"}),
        ("webhook ftp://", {"webhook_url": "ftp://127.0.0.1/"}),
        ("webhook gopher://", {"webhook_url": "gopher://127.0.0.1:25/x"}),
        ("webhook no scheme", {"webhook_url": "127.0.0.1:8000/hook"}),
        ("webhook javascript:", {"webhook_url": "javascript:alert(1)"}),
        ("email not an address", {"notify_email": "nobody"}),
        ("unknown key", {"sms": "+1"}),
    ):
        cases.append(_json_case("notifications", label, "POST", notifications, body))
    cases += path_cases("camera state", "GET", f"{va}/licenses/{{license}}/cameras/{{serial}}")
    cases += path_cases("thresholds GET", "GET",
                        f"{va}/licenses/{{license}}/cameras/{{serial}}/thresholds")  # fmt: skip
    cases += path_cases("forced-scores GET", "GET",
                        f"{va}/licenses/{{license}}/cameras/{{serial}}/forced-scores")  # fmt: skip
    cases += path_cases("notifications GET", "GET", f"{va}/licenses/{{license}}/notifications")
    cases += path_cases("forced-scores DELETE", "DELETE",
                        f"{va}/licenses/{{license}}/cameras/{{serial}}/forced-scores")  # fmt: skip
    for query in ("license_id=abc", "license_id=%00", "license_id=-1",
                  *(f"license_id={value}" for value in HUGE_TEXTS)):  # fmt: skip
        cases.append(Case("scenario alerts", query, "GET", f"{va}/alerts", query=query,
                          expect=frozenset({400})))  # fmt: skip
    for query in ("alert_id=abc", "alert_id=1e3",
                  *(f"alert_id={value}" for value in HUGE_TEXTS)):  # fmt: skip
        cases.append(Case("deliveries", query, "GET", f"{va}/deliveries", query=query,
                          expect=frozenset({400})))  # fmt: skip
    cases += json_body_cases("mutants", "POST", f"{ctl}/mutants", {"active": []})
    cases.append(_json_case("mutants", "unknown mutant", "POST", f"{ctl}/mutants",
                            {"active": ["no-such-mutant"]}))  # fmt: skip
    for name in ("nope", "..%2F..%2Fpyproject", "%00"):
        cases.append(Case("openapi", f"name {name}", "GET", f"{ctl}/openapi/{name}.yaml",
                          expect=frozenset({404})))  # fmt: skip
    return cases


#: a dashboard form comes from the dashboard (the cross-site guard wants this origin)
SAME_ORIGIN = {"Origin": "http://localhost"}


def _form(endpoint: str, name: str, path: str, fields: dict, expect=FOUR_XX) -> Case:
    return Case(endpoint, name, "POST", path, body=urlencode(fields).encode(),
                content_type="application/x-www-form-urlencoded", headers=SAME_ORIGIN,
                expect=expect)  # fmt: skip


def dashboard_cases(license_id: int) -> list[Case]:
    """The dashboard's pages (query parameters, path parts) and its forms."""
    ui = "/_mock/ui"
    not_found = frozenset({404})
    cases: list[Case] = []
    positions = (
        "abc",
        "1.x",
        "-1.5",
        "1",
        "1.2.3",
        "99999999999999999999.1",
        "%00",
        "1e3.1",
        *(f"1.{value}" for value in HUGE_TEXTS),
        f"{2**63}.1",
    )
    pages = {
        "ui cameras": f"{ui}/licenses/{license_id}",
        "ui camera": f"{ui}/licenses/{license_id}/cameras/{SERIAL}",
        "ui alerts": f"{ui}/licenses/{license_id}/alerts",
        "ui parkpow": f"{ui}/parkpow",
    }
    for endpoint, path in pages.items():
        for value in positions:
            cases.append(Case(endpoint, f"after={value}", "GET", path, query=f"after={value}",
                              expect=frozenset({400})))  # fmt: skip
    for value in ("abc", "-1", "1.5", "%00", "99999999999999999999", *HUGE_TEXTS):
        cases.append(Case("ui camera", f"log={value}", "GET", pages["ui camera"],
                          query=f"log={value}", expect=frozenset({400})))  # fmt: skip
        cases.append(Case("ui parkpow", f"account={value}", "GET", pages["ui parkpow"],
                          query=f"account={value}", expect=frozenset({400})))  # fmt: skip
    cases.append(Case("ui camera", "log of another camera", "GET", pages["ui camera"],
                      query="log=987654", expect=not_found))  # fmt: skip
    cases.append(Case("ui parkpow", "unknown account", "GET", pages["ui parkpow"],
                      query="account=987654", expect=not_found))  # fmt: skip
    # (a bare ".." last would be the client's own URL normalisation, to the overview)
    cases += [
        case
        for case in path_cases("ui cameras", "GET", f"{ui}/licenses/{{license}}", not_found)
        if not case.path.endswith("/..")
    ]
    cases += path_cases("ui camera", "GET", f"{ui}/licenses/{{license}}/cameras/{{serial}}")
    cases += path_cases("ui alerts", "GET", f"{ui}/licenses/{{license}}/alerts", not_found)
    for value in ("abc", "0", "987654", "99999999999999999999999", *HUGE_TEXTS):
        cases.append(Case("ui overlay", f"log {value}", "GET",
                          f"{ui}/logs/{value}/overlay.svg", expect=not_found))  # fmt: skip
        cases.append(Case("ui journal entry", f"id {value}", "GET", f"{ui}/journal/{value}",
                          expect=not_found))  # fmt: skip
    for name in ("nope.jpg", "..%2F..%2Fstore.sqlite3", "%2e%2e", "a%00b", "..%5cx"):
        cases.append(Case("ui thumbnail", name, "GET", f"{ui}/thumbs/{name}", expect=not_found))
        cases.append(Case("ui static", name, "GET", f"{ui}/static/{name}", expect=not_found))
    for query in ("status=abc", "status=999x", "status=%C2%B2%C2%B2%C2%B2"):
        cases.append(Case("ui journal", query, "GET", f"{ui}/journal", query=query,
                          expect=frozenset({400})))  # fmt: skip
    for query in ("status=abc", "since=-1", "since=abc", "limit=0", "limit=%D9%A3",
                  *(f"{name}={value}" for name in ("since", "limit") for value in HUGE_TEXTS)):  # fmt: skip
        cases.append(Case("ui journal feed", query, "GET", f"{ui}/feed/requests", query=query,
                          expect=frozenset({400})))  # fmt: skip
    clock = f"{ui}/clock"
    for label, fields in (
        ("nothing", {}),
        ("advance not a button", {"advance": "61"}),
        ("advance negative", {"advance": "-60"}),
        ("advance huge", {"advance": "9" * 40}),
        *((f"advance {value}", {"advance": value}) for value in HUGE_TEXTS),
        ("set garbage", {"set": "tomorrow"}),
        ("set NUL", {"set": "2026-04-10\x00"}),
        ("real 0", {"real": "0"}),
        ("back only", {"back": "https://evil.example/"}),
    ):
        cases.append(_form("ui clock", label, clock, fields, frozenset({400})))
    faults = f"{ui}/faults"
    for label, fields in (
        ("no action", {"path": "/x"}),
        ("bogus action", {"kind": "explode"}),
        ("status text", {"kind": "status", "status": "teapot"}),
        ("status 99", {"kind": "status", "status": "99"}),
        ("status 600", {"kind": "status", "status": "600"}),
        ("latency text", {"kind": "latency", "ms": "slow"}),
        ("latency huge", {"kind": "latency", "ms": "999999999"}),
        *((f"{name} {value}", {"kind": kind, name: value})
          for kind, name in (("status", "status"), ("latency", "ms"), ("drop", "times"))
          for value in HUGE_TEXTS),
        ("times negative", {"kind": "drop", "times": "-1"}),
        ("times text", {"kind": "drop", "times": "x"}),
        ("method bogus", {"kind": "drop", "method": "BREW"}),
        ("path huge", {"kind": "drop", "path": HUGE}),
        ("retry-after injection", {"kind": "status", "status": "429",
                                   "retry_after": "1\r\nSet-Cookie: x=1"}),
    ):  # fmt: skip
        cases.append(_form("ui faults", label, faults, fields, frozenset({400})))
    for value in ("abc", "987654", "99999999999999999999999", *HUGE_TEXTS):
        cases.append(Case("ui remove fault", f"id {value}", "POST",
                          f"{faults}/{value}/delete", headers=SAME_ORIGIN, expect=not_found))  # fmt: skip
    return cases
