"""The bad-input corpus for the ParkPow endpoints its own tools call (``bad_inputs.build``
adds these): webhook-receiver, delete-visit, vehicles, tags, imports, trigger-alert."""

from __future__ import annotations

import base64
import json

from ..bad_inputs import (
    BAD_FILES,
    FOUR_XX,
    HUGE,
    HUGE_INTS,
    HUGE_TEXTS,
    PP_CODE,
    UPLOAD_LIMIT,
    Case,
    _json_case,
    jpeg,
    json_body_cases,
    multipart,
    query_cases,
    upload_cases,
)

MISSING_ID = 999_999  # no visit, vehicle or tag has it in the corpus world


def _webhook_data(**changes) -> dict:
    data = {
        "camera_id": PP_CODE,
        "timestamp": "2026-04-10T14:00:00Z",
        "results": [{"plate": "bad123", "score": 0.9}],
    }
    return {**data, **changes}


def webhook_cases(path: str) -> list[Case]:
    endpoint = "webhook-receiver"
    cases = json_body_cases(endpoint, "POST", path, {"data": _webhook_data()})
    for label, data in (
        ("results missing", {"camera_id": PP_CODE}),
        ("results object", _webhook_data(results={"plate": "x"})),
        ("results 101 plates", _webhook_data(results=[{"plate": f"P{i}"} for i in range(101)])),
        ("result a string", _webhook_data(results=["abc"])),
        ("plate a number", _webhook_data(results=[{"plate": 5}])),
        ("plate blank", _webhook_data(results=[{"plate": "  "}])),
        ("plate NUL", _webhook_data(results=[{"plate": "a\x00b"}])),
        ("plate huge", _webhook_data(results=[{"plate": HUGE}])),
        ("score text", _webhook_data(results=[{"plate": "x", "score": "high"}])),
        ("timestamp garbage", _webhook_data(timestamp="half past ten")),
        ("timestamp month 13", _webhook_data(timestamp="2026-13-01T10:00:00Z")),
        ("timestamp huge epoch", _webhook_data(timestamp=1e30)),
        ("camera_id null, no hook id", _webhook_data(camera_id=None)),
        ("camera_id NUL", _webhook_data(camera_id="1\x00")),
        ("camera_id huge", _webhook_data(camera_id=HUGE)),
        ("camera_id list", _webhook_data(camera_id=["101"])),
        *((f"timestamp {value}", _webhook_data(timestamp=value)) for value in HUGE_INTS[1:]),
    ):
        cases.append(_json_case(endpoint, label, "POST", path, {"data": data}))
    cases.append(_json_case(endpoint, "hook a list", "POST", path,
                            {"hook": [1], "data": _webhook_data()}))  # fmt: skip
    cases.append(_json_case(endpoint, "hook event a number", "POST", path,
                            {"hook": {"event": 5}, "data": _webhook_data()}))  # fmt: skip
    good_json = json.dumps({"data": _webhook_data()})

    def add(name: str, parts: dict, expect=FOUR_XX) -> None:
        body, ctype = multipart(parts)
        cases.append(Case(endpoint, name, "POST", path, body=body, content_type=ctype,
                          expect=expect))  # fmt: skip

    for label, content in BAD_FILES.items():
        add(f"upload: {label}", {"json": good_json, "upload": ("f.jpg", content)})
    add("upload base64 of text", {"json": good_json, "upload": base64.b64encode(b"hi").decode()})
    add("upload not base64", {"json": good_json, "upload": "%%%"})
    add("json field missing", {"upload": ("f.jpg", jpeg())})
    add("json field not json", {"json": "{nope", "upload": ("f.jpg", jpeg())})
    add("json field an array", {"json": "[1, 2]", "upload": ("f.jpg", jpeg())})
    add("json field NUL", {"json": "a\x00b", "upload": ("f.jpg", jpeg())})
    add("no parts at all", {})
    add("body over the upload limit",
        {"json": good_json, "upload": ("big.jpg", b"0" * (UPLOAD_LIMIT + 1))},
        expect=frozenset({413}))  # fmt: skip
    for label, value in (("not json", "{nope"), ("a number", "12"), ("missing data", "{}")):
        cases.append(Case(endpoint, f"form json {label}", "POST", path,
                          body=f"json={value}".encode(),
                          content_type="application/x-www-form-urlencoded"))  # fmt: skip
    return cases


def page_cases(endpoint: str, path: str) -> list[Case]:
    cases = query_cases(endpoint, path, ("page_size",))
    for value in ("abc", "0", "-1", "99999", "99999999999999999999999", "%00", "1.5",
                  *HUGE_TEXTS):  # fmt: skip
        cases.append(Case(endpoint, f"page={value}", "GET", path, query=f"page={value}",
                          expect=frozenset({404})))  # fmt: skip
    return cases


def edit_tag_cases(path: str) -> list[Case]:
    endpoint = "edit-tags"
    good = {"checked": "true", "tag_id": str(MISSING_ID), "vehicle_id": str(MISSING_ID)}
    cases = [Case(endpoint, "no parameters", "POST", path)]
    for key in good:
        for label, value in (("missing", None), ("blank", ""), ("text", "abc"), ("NUL", "%00"),
                             ("negative", "-1"), ("huge", "9" * 30), ("non-utf8", "%ff%fe"),
                             *((value, value) for value in HUGE_TEXTS)):  # fmt: skip
            params = {k: v for k, v in good.items() if k != key}
            if value is not None:
                params[key] = value
            query = "&".join(f"{k}={v}" for k, v in params.items())
            cases.append(Case(endpoint, f"{key}: {label}", "POST", path, query=query))
    unknown = "&".join(f"{k}={v}" for k, v in good.items())
    cases.append(Case(endpoint, "unknown tag and vehicle", "POST", path, query=unknown,
                      expect=frozenset({404})))  # fmt: skip
    cases += json_body_cases(endpoint, "POST", path, good)
    return cases


def build(pp: str) -> list[Case]:
    cases = webhook_cases(f"{pp}/webhook-receiver/")
    cases += json_body_cases("delete-visit", "POST", f"{pp}/delete-visit/", {"id": MISSING_ID})
    for label, value in (("zero", 0), ("negative", -5), ("float", 1.5), ("huge", 10**30)):
        cases.append(_json_case("delete-visit", f"id {label}", "POST", f"{pp}/delete-visit/",
                                {"id": value}))  # fmt: skip
    for value in HUGE_TEXTS:
        cases.append(Case("delete-visit", f"form id {value}", "POST", f"{pp}/delete-visit/",
                          body=f"id={value}".encode(),
                          content_type="application/x-www-form-urlencoded"))  # fmt: skip
        cases.append(Case("trigger-alert", f"form visit_id {value}", "POST",
                          f"{pp}/trigger-alert/", body=f"visit_id={value}&alert_template_id=1".encode(),
                          content_type="application/x-www-form-urlencoded"))  # fmt: skip
    cases += page_cases("vehicles", f"{pp}/vehicles/")
    cases.append(Case("vehicles", "unknown tag is just no match", "GET", f"{pp}/vehicles/",
                      query="tags=%00%ff", expect=frozenset({200})))  # fmt: skip
    cases += page_cases("vehicle-tags", f"{pp}/vehicle-tags/")
    cases += edit_tag_cases(f"{pp}/edit-tags/")
    cases += upload_cases("import-vehicles", f"{pp}/import-vehicles/", "import_file",
                          {"remove": "false"}, ("remove",))  # fmt: skip
    for label, value in (("perhaps", "perhaps"), ("empty", ""), ("2", "2")):
        body, ctype = multipart({"import_file": ("v.csv", b"license_plate\nAB1\n"),
                                 "remove": value})  # fmt: skip
        cases.append(Case("import-vehicles", f"remove {label}", "POST",
                          f"{pp}/import-vehicles/", body=body, content_type=ctype))  # fmt: skip
    for label, query, status in (
        ("task_id missing", "", 400),
        ("task_id blank", "task_id=", 400),
        ("task_id unknown", "task_id=nope", 404),
        ("task_id NUL", "task_id=%00", 404),
        ("task_id huge", f"task_id={'x' * 5000}", 404),
    ):
        cases.append(Case("task-check", label, "GET", f"{pp}/task-check/", query=query,
                          expect=frozenset({status})))  # fmt: skip
    cases += json_body_cases("trigger-alert", "POST", f"{pp}/trigger-alert/",
                             {"visit_id": MISSING_ID, "alert_template_id": 1})  # fmt: skip
    cases.append(_json_case("trigger-alert", "template 0", "POST", f"{pp}/trigger-alert/",
                            {"visit_id": MISSING_ID, "alert_template_id": 0}))  # fmt: skip
    for query in ("visit_id=abc", "visit_id=-1", "visit_id=%00", f"visit_id={'9' * 30}",
                  *(f"visit_id={value}" for value in HUGE_TEXTS)):  # fmt: skip
        cases.append(Case("parkpow alerts", query, "GET", "/_mock/parkpow/alerts", query=query,
                          expect=frozenset({400})))  # fmt: skip
    return cases
