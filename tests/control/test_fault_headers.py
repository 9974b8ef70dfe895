"""An injected reply's headers: names compare without letter case, as HTTP says."""

from __future__ import annotations

from ..conftest import SEED_EXAMPLE


def test_injected_headers_are_one_per_name_and_content_length_is_computed(make_app):
    client = make_app().test_client()
    assert client.post("/_mock/seed", json=SEED_EXAMPLE).status_code == 201
    fault = {
        "match": {"path": "/v1/*"},
        "action": {
            "type": "status",
            "status": 503,
            "headers": {"content-length": "999", "X-Trace": "a", "x-trace": "b",
                        "content-type": "text/html", "Content-Type": "text/csv"},
            "body": "down",
        },
    }  # fmt: skip
    reply = client.post("/_mock/faults", json=fault)
    assert reply.status_code == 201, reply.json
    assert reply.json["action"]["headers"] == {"x-trace": "b", "Content-Type": "text/csv"}
    reply = client.get("/v1/vision-alert/licenses/", headers={"Authorization": "Token tok-a"})
    assert reply.status_code == 503 and reply.get_data() == b"down"
    names = [name.lower() for name, _ in reply.headers]
    assert names.count("content-length") == 1 and reply.headers["Content-Length"] == "4"
    assert names.count("x-trace") == 1 and reply.headers["X-Trace"] == "b"
    assert names.count("content-type") == 1 and reply.headers["Content-Type"] == "text/csv"
