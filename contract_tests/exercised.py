"""Whether a check had anything to check on a response: the fidelity report's "exercised".

Schemathesis counts a check as passed whenever it returns without raising, and most of
its checks also return early when a response gives them nothing to look at
(``use_after_free`` outside a stateful sequence, ``negative_data_rejection`` on a
positive case, ``response_headers_conformance`` on a response that documents no header).
Counted that way, a check never exercised reads as passed. These predicates mirror the
checks' own early returns, so the report counts a pass only where the check could have
failed. The suite's own checks return True when they do not apply (Schemathesis then
records no success), so they need no predicate here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar

from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

#: in a stateful step, the step before this one and its reply (set by the state machine)
PARENT: ContextVar[tuple | None] = ContextVar("contract_parent_step", default=None)


def _meta_mode(case) -> GenerationMode | None:
    meta = case.meta
    return meta.generation.mode if meta is not None else None


def _coverage(case):
    from schemathesis.generation.meta import CoveragePhaseData

    meta = case.meta
    data = meta.phase.data if meta is not None else None
    return data if isinstance(data, CoveragePhaseData) else None


def _definition(case, response):
    return case.operation.responses.find_by_status_code(response.status_code)


def _has_headers(case, response) -> bool:
    definition = _definition(case, response)
    return definition is not None and bool(definition.headers)


def _has_content(case, response) -> bool:
    definition = _definition(case, response)
    raw = getattr(definition, "definition", None) if definition is not None else None
    return isinstance(raw, Mapping) and bool(raw.get("content")) and bool(response.content)


def _missing_header_probe(case, _response) -> bool:
    from schemathesis.generation.meta import CoverageScenario

    data = _coverage(case)
    return bool(
        data is not None
        and data.parameter
        and data.parameter_location == ParameterLocation.HEADER
        and data.scenario == CoverageScenario.MISSING_PARAMETER
    )


def _unspecified_method_probe(case, response) -> bool:
    from schemathesis.generation.meta import CoverageScenario

    data = _coverage(case)
    return bool(
        data is not None
        and data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD
        and response.request.method != "OPTIONS"
    )


def _after_delete(case, response) -> bool:
    parent = PARENT.get()
    return bool(
        parent is not None
        and parent[0].operation.method.upper() == "DELETE"
        and parent[1] is not None
        and 200 <= parent[1].status_code < 400
        and case.operation.method.upper() in ("GET", "HEAD")
    )


def _after_create(case, response) -> bool:
    parent = PARENT.get()
    return bool(
        parent is not None
        and parent[0].operation.method.upper() == "POST"
        and parent[1] is not None
        and 200 <= parent[1].status_code < 400
    )


def _authenticated_success(case, response) -> bool:
    """ignored_auth re-sends a successful request without credentials (path as generated)."""
    meta = case.meta
    negative_path = meta is not None and meta.is_negative_at(ParameterLocation.PATH)
    return 200 <= response.status_code < 300 and not negative_path


def _peer_identity_read(case, response) -> bool:
    """object_level_authorization replays a read as another configured identity (auth peers)."""
    from schemathesis.specs.openapi.object_authorization import escalating_provider

    if case.method != "GET" or not 200 <= response.status_code < 300:
        return False
    provider = escalating_provider(case.operation.schema)
    return provider is not None and getattr(case, "auth_identity", None) is not None


PREDICATES: dict[str, Callable] = {
    "content_type_conformance": _has_content,
    "response_schema_conformance": _has_content,
    "response_headers_conformance": _has_headers,
    "negative_data_rejection": lambda case, _r: _meta_mode(case) == GenerationMode.NEGATIVE,
    "positive_data_acceptance": lambda case, _r: _meta_mode(case) == GenerationMode.POSITIVE,
    "missing_required_header": _missing_header_probe,
    "unsupported_method": _unspecified_method_probe,
    "use_after_free": _after_delete,
    "ensure_resource_availability": _after_create,
    "allow_header_conformance": lambda _c, response: response.status_code == 405,
    "ignored_auth": _authenticated_success,
    "object_level_authorization": _peer_identity_read,
}


def applies(name: str, case, response) -> bool:
    """Whether check ``name``, having passed on ``response``, actually checked something."""
    predicate = PREDICATES.get(name)
    if predicate is None:
        return True  # not_a_server_error, status_code_conformance, the suite's own checks
    try:
        return bool(predicate(case, response))
    except Exception:  # noqa: BLE001 - an unforeseen shape: count it, as Schemathesis does
        return True
