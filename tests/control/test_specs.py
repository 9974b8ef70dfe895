"""The OpenAPI documents: valid OpenAPI 3.1, complete, served by the emulator, rendered offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.control.specs import SPEC_NAMES, spec_path

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
METHODS = ("get", "post", "put", "patch", "delete")


def _load(name: str) -> dict:
    return yaml.safe_load((SPECS / f"{name}.yaml").read_text(encoding="utf-8"))


def _operations(doc: dict) -> dict[str, tuple[str, str, dict]]:
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_is_valid_openapi_31(name):
    doc = _load(name)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_vendor_specs_cover_every_documented_endpoint():
    visionalert = {(m, p) for m, p, _ in _operations(_load("visionalert")).values()}
    assert visionalert == {
        ("POST", "/v1/vision-alert/create-log/"),
        ("GET", "/v1/vision-alert/licenses/"),
        ("GET", "/v1/vision-alert/{license_id}/cameras/"),
        ("DELETE", "/v1/vision-alert/{license_id}/cameras/{serial}/"),
        ("GET", "/v1/vision-alert/{license_id}/cameras/{serial}/logs/"),
        ("GET", "/v1/vision-alert/{license_id}/logs/"),
        ("GET", "/v1/vision-alert/{license_id}/cameras/{serial}/reference/"),
        ("POST", "/v1/vision-alert/{license_id}/cameras/{serial}/reference/"),
        ("GET", "/v1/vision-alert/{license_id}/alerts/"),
    }
    operations = _operations(_load("parkpow")).values()
    parkpow = {(m, p) for m, p, op in operations if "x-source" not in op}
    assert parkpow == {
        ("POST", "/api/v1/create-camera/"),
        ("POST", "/api/v1/create-vehicle/"),
        ("GET", "/api/v1/parking-list/"),
        ("GET", "/api/v1/visit-list/"),
        ("POST", "/api/v1/visit-list/"),
        ("POST", "/api/v1/log-vehicle/"),
    }


@pytest.mark.parametrize("name", ["visionalert", "parkpow"])
def test_every_vendor_operation_documents_auth_errors(name):
    doc = _load(name)
    assert doc["components"]["securitySchemes"]["TokenAuth"] == {
        **doc["components"]["securitySchemes"]["TokenAuth"],
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
    }
    for operation_id, (_method, _path, op) in _operations(doc).items():
        assert "401" in op["responses"], operation_id
        unauthorized = op["responses"]["401"]
        if "$ref" in unauthorized:
            unauthorized = doc["components"]["responses"][unauthorized["$ref"].rsplit("/", 1)[-1]]
        assert "WWW-Authenticate" in unauthorized["headers"], operation_id


def test_seed_facts_are_in_the_visionalert_spec():
    doc = _load("visionalert")
    statuses = doc["components"]["schemas"]["Status"]["enum"]
    assert statuses == [
        "normal",
        "anomaly",
        "under_review",
        "offline",
        "config_issue",
        "no_data",
        "pending_retry",
    ]
    anomalies = doc["components"]["schemas"]["Anomalies"]["properties"]
    assert set(anomalies) == {"Blur", "Obstruction", "Glare", "Position change"}
    ops = _operations(doc)
    assert "429" in ops["createLog"][2]["responses"]
    assert "Retry-After" in ops["createLog"][2]["responses"]["429"]["headers"]
    assert set(ops["createLog"][2]["requestBody"]["content"]) == {"multipart/form-data"}
    assert ops["deleteCamera"][2]["responses"].keys() >= {"204", "404"}
    assert ops["setReference"][2]["responses"].keys() >= {"201", "400", "404"}
    text = (SPECS / "visionalert.yaml").read_text()
    for example in (
        "Log created successfully.",
        "Camera already uploaded a log recently.",
        "LIC-ABC123",
        "cD0yMDI2LTA0LTEw",
    ):
        assert example in text


def test_log_vehicle_accepts_both_encodings_and_visit_list_both_methods():
    ops = _operations(_load("parkpow"))
    assert set(ops["logVehicle"][2]["requestBody"]["content"]) == {
        "multipart/form-data",
        "application/json",
    }
    assert ops["visitList"][0] == "GET" and ops["visitListPost"][0] == "POST"
    doc = _load("parkpow")
    params = [
        doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
        for p in ops["visitList"][2]["parameters"]
    ]
    assert {p["name"] for p in params if "x-source" not in p} == {"start", "end"}
    assert {p["name"] for p in params if p.get("x-source") == "vendor-tools"} == {
        "page", "page_size", "plate", "camera", "ordering"}  # fmt: skip


def test_endpoints_beyond_the_published_document_are_marked():
    """Each one says where it comes from: an ``x-source`` and a sentence in its description."""
    tools = {
        op["operationId"]: (method, path)
        for method, path, op in _operations(_load("parkpow")).values()
        if "x-source" in op
    }
    assert set(tools) == {"webhookReceiver", "deleteVisit", "listVehicles", "listVehicleTags",
                          "editTags", "importVehicles", "taskCheck", "triggerAlert"}  # fmt: skip
    for operation_id, (_method, _path, op) in _operations(_load("parkpow")).items():
        if operation_id in tools:
            assert op["x-source"] == "vendor-tools"
            assert "Not in the published document" in op["description"], operation_id


def test_links_drive_the_stateful_sequences():
    va = _operations(_load("visionalert"))
    deleted = va["deleteCamera"][2]["responses"]["204"]["links"]
    assert {link["operationId"] for link in deleted.values()} >= {"listCameraLogs"}
    assert va["createLog"][2]["responses"]["200"]["links"]
    pp = _operations(_load("parkpow"))
    assert (
        pp["createCamera"][2]["responses"]["200"]["links"]["ParkingList"]["operationId"]
        == "parkingList"
    )
    assert pp["logVehicle"][2]["responses"]["200"]["links"]["Visits"]["operationId"] == "visitList"
    # webhook-receiver -> visit-list live form -> delete-visit -> delete again (gone: 404)
    hooked = pp["webhookReceiver"][2]["responses"]["200"]["links"]
    assert hooked["LiveVisitList"]["operationId"] == "visitList"
    listed = _load("parkpow")["components"]["responses"]["VisitsOrPage"]["links"]
    assert listed["DeleteVisit"]["operationId"] == "deleteVisit"
    deleted = pp["deleteVisit"][2]["responses"]["200"]["links"]
    assert deleted["DeleteAgain"]["operationId"] == "deleteVisit"
    assert "404" in pp["deleteVisit"][2]["responses"]


def test_control_spec_has_the_fixed_forms():
    ops = _operations(_load("control"))
    have = {(method, path) for method, path, _ in ops.values()}
    assert have >= {
        ("GET", "/_mock/health"),
        ("POST", "/_mock/reset"),
        ("POST", "/_mock/seed"),
        ("GET", "/_mock/clock"),
        ("POST", "/_mock/clock"),
        ("GET", "/_mock/mutants"),
        ("POST", "/_mock/mutants"),
    }


def test_package_reaches_the_canonical_specs():
    for name in SPEC_NAMES:
        assert spec_path(name).read_bytes() == (SPECS / f"{name}.yaml").read_bytes()


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_emulator_serves_the_specs(client, name):
    reply = client.get(f"/_mock/openapi/{name}.yaml")
    assert reply.status_code == 200
    assert reply.mimetype == "application/yaml"
    assert reply.data == (SPECS / f"{name}.yaml").read_bytes()
    assert client.get(f"/_mock/openapi/{name}.json").json["openapi"].startswith("3.1")


def test_unknown_spec_is_404(client):
    reply = client.get("/_mock/openapi/secrets.yaml")
    assert reply.status_code == 404 and reply.json == {"detail": "Not found."}


def test_docs_page_lists_every_operation_offline(client):
    reply = client.get("/_mock/docs")
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    page = reply.get_data(as_text=True)
    assert "<script" not in page and "http://" not in page.split("<main>")[0]
    for name in SPEC_NAMES:
        for operation_id, (method, path, _op) in _operations(_load(name)).items():
            assert f'id="{name}-{operation_id}"' in page
            assert path in page and method in page
    assert "Enter a valid date (YYYY-MM-DD) or ISO 8601 timestamp." in page
    assert 'href="#visionalert-schema-Camera"' in page and 'id="visionalert-schema-Camera"' in page


def test_specs_are_not_served_without_the_control_plane(make_app):
    client = make_app(control_enabled=False).test_client()
    assert client.get("/_mock/openapi/visionalert.yaml").status_code == 404


CONTROL_CALLS = [
    ("health", {}),
    ("getClock", {}),
    ("setClock", {"body": {"advance": 60}, "media_type": "application/json"}),
    ("getSettings", {}),
    ("listFaults", {}),
    ("listRequests", {"query": {"limit": 5}}),
    ("listAssertions", {}),
    ("getMutants", {}),
    ("setMutants", {"body": {"active": []}, "media_type": "application/json"}),
    ("listOutbox", {}),
    ("listParkpowAlerts", {}),
    ("reset", {"query": {"seed": "demo"}}),
]


@pytest.mark.parametrize(
    ("operation_id", "parts"), CONTROL_CALLS, ids=[c[0] for c in CONTROL_CALLS]
)
def test_control_plane_answers_as_its_spec_says(make_app, operation_id, parts):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    app = make_app(seed="demo")
    schema = schemathesis.openapi.from_path(SPECS / "control.yaml")
    case = schema.find_operation_by_id(operation_id).Case(**parts)
    response = case.call(app=app)
    assert response.status_code < 300, response.text
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
