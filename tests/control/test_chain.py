"""The request layers are declared once (``control/chain.py``) and documented in that
order (ARCHITECTURE.md, "A request's path")."""

from __future__ import annotations

import re
from pathlib import Path

from mockserver.control.chain import LAYERS

ARCHITECTURE = Path(__file__).resolve().parents[2] / "ARCHITECTURE.md"


def test_the_documented_order_is_the_declared_one():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## A request's path", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^   \d+\. \*([^*]+)\*", section, re.MULTILINE)
    assert documented == [layer.name for layer in LAYERS]


def test_each_layer_passes_what_it_does_not_concern(make_app):
    """A control call meets no fault, mutant or journal entry; an API call meets them."""
    client = make_app(seed="demo").test_client()
    fault = {"match": {"path": "*"}, "times": 5, "action": {"type": "status", "status": 503}}
    assert client.post("/_mock/faults", json=fault).status_code == 201
    client.post("/_mock/mutants", json={"active": ["ignored_auth"]})
    assert client.get("/_mock/health").status_code == 200
    assert client.get("/api/v1/parking-list/").status_code == 503
    entries = client.get("/_mock/requests").json["requests"]
    assert [(entry["path"], entry["status"]) for entry in entries] == [
        ("/api/v1/parking-list/", 503)
    ]
