"""Stateful sequences through the specs' OpenAPI ``links``, deterministic against any server.

Hypothesis' state machines generate a sequence, then replay it to shrink or to report it;
against a live server the world has moved on between the two (a camera was throttled,
a bundle stayed empty), and Hypothesis stops with ``FlakyStrategyDefinition`` although
the server did nothing wrong. This walker never replays: each step is chosen by a
``random.Random`` seeded from ``--contract-seed`` (every chain of links, in a seeded order),
and each step's parameters are read
from the reply just received (``$response.body#/0/id``, ``$request.path.serial``), or,
where the link leaves one open, read afresh from the server (which license holds a
camera just uploaded). The same command against the same server state takes the same
steps and reaches the same verdict.

Every request goes through :func:`suite.send` (every response check), and the two
properties a sequence shows are checks of their own: what was deleted stays gone
(``deleted_stays_gone``: a camera's logs and reference, a ParkPow visit deleted again)
and what was just created can be read (``created_is_available``: a camera in
parking-list, a webhook's visit in the live visit-list by its plate, an import's task).
Against a live server only cameras and visits the suite made itself are deleted.
"""

from __future__ import annotations

import base64
import random
import secrets
from dataclasses import dataclass

from . import images
from .report import RECORDER
from .suite import load, send

CHECKS = ("deleted_stays_gone", "created_is_available")
STEPS = 4  # links followed after the first request of a scenario
UNRESOLVED = object()


@dataclass(frozen=True)
class Link:
    name: str
    source: str  # operationId
    status: str
    target: str  # operationId
    parameters: tuple[tuple[str, object], ...]
    body: tuple[tuple[str, object], ...] = ()  # the link's ``requestBody`` (an object)


class CouldNotProceed(Exception):
    """The target offered nothing to start a sequence from."""


def links(spec: str) -> dict[tuple[str, str], list[Link]]:
    """(operationId, status) → the links its reply declares, in document order."""
    raw = load(spec).raw_schema
    found: dict[tuple[str, str], list[Link]] = {}
    for item in raw.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in (operation.get("responses") or {}).items():
                for name, link in ((response or {}).get("links") or {}).items():
                    found.setdefault((operation["operationId"], str(status)), []).append(
                        Link(
                            name=name,
                            source=operation["operationId"],
                            status=str(status),
                            target=link["operationId"],
                            parameters=tuple(sorted((link.get("parameters") or {}).items())),
                            body=tuple(sorted((link.get("requestBody") or {}).items())),
                        )
                    )
    return found


# -- requests the walker can make from nothing (the roots of a sequence) -------------------


def _fresh(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _log_vehicle_body(target) -> dict:
    facts = target.facts
    code = (facts.entrance_codes or facts.camera_codes or [_fresh("contract-cam")])[0]
    return {
        "camera": code,
        "image": base64.b64encode(images.frames()[0]).decode("ascii"),
        "results": [{"plate": "CT" + secrets.token_hex(3).upper(), "score": 0.9}],
    }


def webhook_body(target) -> dict:
    """A Stream recognition of a fresh plate at a known camera, stamped now (no timestamp)."""
    facts = target.facts
    code = (facts.entrance_codes or facts.camera_codes or [_fresh("contract-cam")])[0]
    plate = "WH" + secrets.token_hex(3).upper()
    return {
        "hook": {"target": "http://localhost/api/v1/webhook-receiver/", "id": code,
                 "event": "recognition"},
        "data": {"camera_id": code, "results": [{"plate": plate.lower(), "score": 0.9}]},
    }  # fmt: skip


ROOTS = {
    "visionalert": {
        "listLicenses": lambda target: {},
        "createLog": lambda target: {
            "body": {"camera_id": _fresh("contract-link"), "upload": images.frames()[2]},
            "media_type": "multipart/form-data",
        },
    },
    "parkpow": {
        "parkingList": lambda target: {},
        "visitList": lambda target: {},
        "createCamera": lambda target: {
            "body": {"code": _fresh("contract-link"), "name": "Contract link", "type": "SPOT"},
            "media_type": "application/x-www-form-urlencoded",
        },
        "logVehicle": lambda target: {
            "body": _log_vehicle_body(target),
            "media_type": "application/json",
        },
        "webhookReceiver": lambda target: {
            "body": webhook_body(target),
            "media_type": "application/json",
        },
        "importVehicles": lambda target: {
            "body": {"import_file": f"license_plate\nIM{secrets.token_hex(3).upper()}\n".encode()},
            "media_type": "multipart/form-data",
        },
    },
}
WRITES = {
    "createLog",
    "createCamera",
    "logVehicle",
    "deleteCamera",
    "setReference",
    "webhookReceiver",
    "deleteVisit",
    "triggerAlert",
    "importVehicles",
}
DELETES = {"deleteCamera", "deleteVisit"}


# -- following a link -----------------------------------------------------------------------


def _pointer(document, pointer: str):
    value = document
    for token in [part for part in pointer.split("/") if part]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        else:
            return UNRESOLVED
    return value


def _resolve(expression: object, parts: dict, reply):
    if not isinstance(expression, str):
        return expression  # a constant (a number)
    if expression.startswith("$response.body#"):
        try:
            body = reply.json()
        except ValueError:
            return UNRESOLVED
        return _pointer(body, expression.split("#", 1)[1])
    if expression.startswith("$request.body#"):
        return _pointer(parts.get("body") or {}, expression.split("#", 1)[1])
    if expression.startswith("$request.path."):
        path = parts.get("path_parameters") or {}
        return path.get(expression.removeprefix("$request.path."), UNRESOLVED)
    return expression  # a constant


def _path_names(spec: str, operation_id: str) -> list[str]:
    operation = load(spec).find_operation_by_id(operation_id)
    return [parameter.name for parameter in operation.path_parameters]


def _media_type(spec: str, operation_id: str) -> str | None:
    operation = load(spec).find_operation_by_id(operation_id)
    media_types = [body.media_type for body in operation.body]
    return media_types[0] if media_types else None


def _license_holding(target, serial: str):
    """Re-read which license of the account holds ``serial`` (create-log leaves it open)."""
    licenses = send(target, "visionalert", "listLicenses")
    for license_ in licenses.json() if licenses.status_code == 200 else []:
        cameras = send(
            target,
            "visionalert",
            "listCameras",
            path_parameters={"license_id": license_["id"]},
            query={"page_size": "200"},
        )
        if cameras.status_code == 200 and serial in [
            c["serial"] for c in cameras.json()["results"]
        ]:
            return license_["id"]
    return UNRESOLVED


def _parts_for(target, spec: str, link: Link, parts: dict, reply) -> dict | None:
    path, query, body = {}, {}, {}
    path_names = _path_names(spec, link.target)
    for name, expression in link.parameters:
        value = _resolve(expression, parts, reply)
        if value is UNRESOLVED:
            return None
        (path if name in path_names else query)[name] = value
    for name, expression in link.body:
        value = _resolve(expression, parts, reply)
        if value is UNRESOLVED:
            return None
        body[name] = value
    if link.target == "deleteVisit" and target.options.live:
        if body.get("id") not in target.facts.owned_visit_ids:
            return None  # live: delete only the visits the suite made
    for name in path_names:
        if name not in path and name == "license_id" and "serial" in path:
            path[name] = _license_holding(target, str(path["serial"]))
        if path.get(name, UNRESOLVED) is UNRESOLVED:
            return None
    if link.target == "deleteCamera" and target.options.live:
        if path.get("serial") not in target.facts.owned_serials:
            path["serial"] = target.upload_camera()  # live: delete only what the suite made
            license_id = _license_holding(target, path["serial"])
            if license_id is UNRESOLVED:
                return None
            path["license_id"] = license_id
    found: dict = {"path_parameters": path} if path else {}
    if query:
        found["query"] = {name: str(value) for name, value in query.items()}
    if body:
        found.update(body=body, media_type=_media_type(spec, link.target))
    return found


# -- the walk -------------------------------------------------------------------------------


def _judge(spec: str, previous: tuple[str, dict, object], link: Link, parts: dict, reply) -> None:
    """The properties a two-step sequence shows, recorded as checks."""
    source, source_parts, source_reply = previous
    label = load(spec).find_operation_by_id(link.target).label
    succeeded = 200 <= source_reply.status_code < 300
    gone = source == "deleteVisit" or link.target != "deleteCamera"
    if source in DELETES and succeeded and gone:
        error = (
            None
            if reply.status_code == 404
            else f"{link.target} {parts.get('path_parameters') or parts.get('body')} after "
            f"{source} answered {reply.status_code}, not 404"
        )
        RECORDER.record_check(spec, label, "deleted_stays_gone", error)
        assert error is None, error
    elif source in WRITES and succeeded:
        error = None
        if reply.status_code == 404:
            what = parts.get("path_parameters") or parts.get("body") or parts.get("query")
            error = f"{link.target} {what}: 404 right after {source}"
        elif link.target == "parkingList" and reply.status_code == 200:
            code = str((source_parts.get("body") or {}).get("code"))
            listed = [c["code"] for parking in reply.json() for c in parking["camera_set"]]
            if code not in listed:
                error = f"camera {code} created by {source} is not in parking-list"
        elif source == "webhookReceiver" and link.target == "visitList":
            made = source_reply.json()[0].get("id")
            page = reply.json() if reply.status_code == 200 else {}
            listed = [visit.get("id") for visit in page.get("results", [])]
            if reply.status_code == 200 and made not in listed:
                error = f"visit {made} made by the webhook is not in the live visit-list"
        RECORDER.record_check(spec, label, "created_is_available", error)
        assert error is None, error


def paths(spec: str, roots: list[str], writes: bool) -> list[tuple[str, tuple[Link, ...]]]:
    """Every maximal chain of links from each root, at most ``STEPS`` links long."""
    by_source: dict[str, list[Link]] = {}
    for (source, _status), found in sorted(links(spec).items()):
        by_source.setdefault(source, []).extend(
            link for link in found if writes or link.target not in WRITES
        )
    chains: list[tuple[str, tuple[Link, ...]]] = []

    def extend(root: str, chain: tuple[Link, ...], operation_id: str) -> None:
        onward = [link for link in by_source.get(operation_id, []) if link not in chain]
        if not onward or len(chain) == STEPS:
            chains.append((root, chain))
            return
        for link in onward:
            extend(root, (*chain, link), link.target)

    for root in roots:
        extend(root, (), root)
    return chains


def walk(target, spec: str, seed: int) -> int:
    """Walk every chain of links once, in an order seeded by ``seed``; returns how many
    links were followed (a link is followed only when the reply offers it)."""
    writes = target.options.writes_allowed
    roots = {name: build for name, build in ROOTS[spec].items() if writes or name not in WRITES}
    chains = paths(spec, sorted(roots), writes)
    random.Random(f"{seed}:{spec}").shuffle(chains)
    followed = 0
    for root, chain in chains:
        operation_id, parts = root, roots[root](target)
        reply = _send(target, spec, operation_id, parts)
        for link in chain:
            if link.status != str(reply.status_code):
                break  # the reply does not offer this link (e.g. 429): the chain ends here
            next_parts = _parts_for(target, spec, link, parts, reply)
            if next_parts is None:
                break
            next_reply = _send(target, spec, link.target, next_parts)
            _judge(spec, (operation_id, parts, reply), link, next_parts, next_reply)
            followed += 1
            operation_id, parts, reply = link.target, next_parts, next_reply
    return followed


def _send(target, spec: str, operation_id: str, parts: dict):
    """One step; uploads wait out the per-account throttle as a client does."""
    reply = send(target, spec, operation_id, **parts)
    if reply.status_code == 429 and operation_id in WRITES:
        target.wait_out(reply)
        reply = send(target, spec, operation_id, **parts)
    if operation_id == "createLog" and 200 <= reply.status_code < 300:
        target.facts.owned_serials.append(parts["body"]["camera_id"])
    if operation_id == "webhookReceiver" and reply.status_code == 200:
        made = [row.get("id") for row in reply.json() if isinstance(row, dict)]
        target.facts.owned_visit_ids.extend(i for i in made if isinstance(i, int))
    return reply


def declare() -> None:
    RECORDER.declare_checks(CHECKS)
