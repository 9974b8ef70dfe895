"""Control-plane routes for faults, the request journal, client-behaviour assertions and
account scenario controls. HTTP only: parse, one service call, serialise."""

from __future__ import annotations

from flask import Blueprint, request

from ..core import faults
from ..core.bodies import read_json_object
from ..core.errors import NotFound
from ..core.web import current_emulator, json_response
from . import accounts, assertions, journal

blueprint = Blueprint("control_plane", __name__, url_prefix="/_mock")


def _plane():
    return current_emulator().control_plane


# -- faults -------------------------------------------------------------------------------


@blueprint.get("/faults")
def list_faults():
    emulator = current_emulator()
    return json_response({"faults": emulator.store.query(faults.list_all)})


@blueprint.post("/faults")
def create_fault():
    spec = faults.parse_spec(read_json_object(request))
    emulator = current_emulator()
    created = emulator.store.transact(lambda conn: faults.create(conn, spec, emulator.now_us()))
    _plane().faults.changed()
    return json_response(created, 201)


@blueprint.get("/faults/<int:fault_id>")
def get_fault(fault_id: int):
    return json_response(current_emulator().store.query(lambda conn: faults.get(conn, fault_id)))


@blueprint.delete("/faults/<int:fault_id>")
def delete_fault(fault_id: int):
    current_emulator().store.transact(lambda conn: faults.delete(conn, fault_id))
    _plane().faults.changed()
    return json_response({"deleted": 1})


@blueprint.delete("/faults")
def clear_faults():
    deleted = current_emulator().store.transact(faults.clear)
    _plane().faults.changed()
    return json_response({"deleted": deleted})


# -- the request journal ------------------------------------------------------------------


@blueprint.get("/requests")
def list_requests():
    wanted = _plane().journal.keyed(journal.parse_filter(request.args))
    _plane().journal.sync()
    rows = current_emulator().journal_store.query(lambda conn: journal.entries(conn, wanted))
    last = rows[-1]["id"] if rows else wanted.since
    return json_response({"count": len(rows), "next_since": last, "requests": rows})


@blueprint.delete("/requests")
def clear_requests():
    _plane().journal.sync()
    return json_response({"deleted": current_emulator().journal_store.transact(journal.clear)})


# -- client-behaviour assertions ----------------------------------------------------------


@blueprint.get("/assertions")
def list_assertions():
    return json_response(
        {
            "assertions": [
                {"name": name, "parameters": ["token", "path", *params]}
                for name, params in assertions.PARAMETERS.items()
            ]
        }
    )


@blueprint.get("/assertions/<name>")
def run_assertion(name: str):
    if name not in assertions.ASSERTIONS:
        raise NotFound(f"Unknown assertion. One of {sorted(assertions.ASSERTIONS)}.")
    parameters = assertions.parse_parameters(name, request.args)
    wanted = _plane().journal.keyed(
        journal.JournalFilter(
            token=request.args.get("token") or None, path=request.args.get("path") or None
        )
    )
    _plane().journal.sync()
    rows = current_emulator().journal_store.query(
        lambda conn: journal.rows_for_assertions(conn, wanted)
    )
    return json_response(assertions.ASSERTIONS[name](rows, **parameters))


# -- account scenario controls ------------------------------------------------------------


@blueprint.get("/accounts/<token>/rate-limit")
def get_rate_limit(token: str):
    return json_response(
        current_emulator().store.query(lambda conn: accounts.rate_limit(conn, token))
    )


@blueprint.post("/accounts/<token>/rate-limit")
def set_rate_limit(token: str):
    value = accounts.parse_rate_limit(read_json_object(request))
    emulator = current_emulator()
    return json_response(
        emulator.store.transact(lambda conn: accounts.set_rate_limit(conn, token, value))
    )
