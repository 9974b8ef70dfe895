"""The dashboard's buttons and forms (POST): move the clock, add and remove faults.

Plain HTML forms, so they work without JavaScript: each answers 303 back to the page it
came from (Post/Redirect/Get). They run the same rules as the JSON control calls
(``faults.parse_spec``, the clock's own moves); bad input is a 400 JSON error like any
other control call. A form posted from another site never gets here: the control plane's
cross-site guard (``control.origin_guard``) lets a dashboard form through only when its
``Origin`` or ``Referer`` is this server.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from ...core import faults
from ...core.errors import FieldErrors
from ...core.timefmt import parse_instant
from ...core.web import current_emulator

blueprint = Blueprint("actions", __name__)

ADVANCES = {"60", "900", "3600"}  # the buttons: +1 min, +15 min, +1 h


def _back(default: str = "pages.index"):
    """Where the form was posted from (same host only), else the overview."""
    target = request.form.get("back") or ""
    if target.startswith("/_mock/ui") and "//" not in target and "\\" not in target:
        return redirect(target, code=303)
    return redirect(url_for(f"ui.{default}"), code=303)


@blueprint.post("/clock")
def clock():
    emulator = current_emulator()
    form = request.form
    emulator.control_plane.journal.sync()  # entries recorded so far keep their times
    if "advance" in form:
        if form["advance"] not in ADVANCES:
            raise FieldErrors({"advance": [f"One of {sorted(ADVANCES, key=int)} seconds."]})
        emulator.advance(int(form["advance"]))
    elif "set" in form:
        try:
            instant = parse_instant(form["set"].strip())
        except ValueError:
            raise FieldErrors({"set": ["An ISO 8601 timestamp."]}) from None
        emulator.store.transact(lambda conn: emulator.clock.freeze_at(conn, instant))
    elif form.get("real") == "1":
        emulator.store.transact(emulator.clock.real)
    else:
        raise FieldErrors({"non_field_errors": ["Give one of 'advance', 'set', 'real'."]})
    emulator.catch_up()
    emulator.wake_background()
    return _back()


def _fault_spec(form) -> dict:
    """A fault spec from the form's fields (empty fields left out), for ``parse_spec``."""
    match = {key: form[key].strip() for key in ("path", "token") if form.get(key, "").strip()}
    if form.get("method"):
        match["method"] = form["method"]
    kind = form.get("kind", "")
    action: dict = {"type": kind}
    if kind == "status":
        action["status"] = _number(form.get("status", ""), "status")
        if form.get("retry_after", "").strip():
            action["headers"] = {"Retry-After": form["retry_after"].strip()}
    elif kind == "latency":
        action["ms"] = _number(form.get("ms", ""), "ms")
    spec: dict = {"match": match, "action": action}
    if form.get("times", "").strip():
        spec["times"] = _number(form["times"], "times")
    return spec


def _number(raw: str, name: str) -> int:
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise FieldErrors({name: ["A whole number."]})
    return int(raw)


@blueprint.post("/faults")
def add_fault():
    spec = faults.parse_spec(_fault_spec(request.form))
    emulator = current_emulator()
    emulator.store.transact(lambda conn: faults.create(conn, spec, emulator.now_us()))
    emulator.control_plane.faults.changed()
    return _back("pages.fault_list")


@blueprint.post("/faults/<int:fault_id>/delete")
def remove_fault(fault_id: int):
    emulator = current_emulator()
    emulator.store.transact(lambda conn: faults.delete(conn, fault_id))
    emulator.control_plane.faults.changed()
    return _back("pages.fault_list")
