"""Load a spec once, configured for this session, and run one generated case against the target."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from . import checks, steering
from . import target as target_module
from .report import RECORDER

_LOADED: dict = {}


def load(name: str):
    """The spec ``specs/<name>.yaml``: positive and negative data, every default check."""
    if name not in _LOADED:
        _LOADED[name] = _load(name)
    return _LOADED[name]


def _load(name: str):
    steering.register()
    options = target_module.CURRENT
    schema = schemathesis.openapi.from_path(target_module.SPECS / f"{name}.yaml")
    if options.include:
        schema = schema.include(operation_id=options.include)
    schema.config.seed = options.seed  # same seed, same cases (Schemathesis seeds each test)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=options.examples,
    )
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not options.include or operation.definition.raw.get("operationId") in options.include:
            labels.append(operation.label)
    RECORDER.declare(name, labels)
    RECORDER.declare_checks(check.__name__ for check in checks.ALL)
    RECORDER.explain(
        "object_level_authorization",
        "replays reads as other configured identities; the suite runs with one token",
    )

    @schema.hook
    def after_validate(context, case, response, results):  # noqa: ARG001 - hook signature
        RECORDER.record(name, case.operation.label, case, response, results)
        target_module.note_upload(case, response)  # live: the cameras to clean up at the end

    return schema


def hypothesis_settings():
    """Bounded by ``--contract-examples``, seeded by ``--contract-seed`` (see :func:`_load`).

    Against a live server nothing is replayed: no shrinking (it re-sends variations of a
    failing case to a world that has moved on) and no example database; a failure is
    reported as found. In-process every test starts from the restored world, so Hypothesis
    may shrink there.
    """
    options = target_module.CURRENT
    phases = [Phase.explicit, Phase.generate]
    if not options.live:
        phases.append(Phase.shrink)
    return settings(
        max_examples=options.examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def run_case(case, target, spec: str) -> None:
    """Send one generated case (steered at real data) and run every check on the response."""
    if not target.may_send(case.operation):
        RECORDER.skip(spec, case.operation.label, "state-changing; needs --allow-writes")
        pytest.skip(f"{case.operation.label} changes state; run with --allow-writes")
    steering.steer(case, target.facts)
    if target.app is not None:
        # the schema's own transport (used for auth probes) must reach the same app
        case.operation.schema.app = target.app
    if case.operation.method.upper() == "DELETE":
        target.dirty = True
    meta = case.meta
    # A case that deliberately drops or breaks the Authorization header keeps it broken.
    broken_auth = meta is not None and meta.is_negative_at(ParameterLocation.HEADER)
    case.call_and_validate(
        headers=None if broken_auth else target.auth_headers(),
        additional_checks=checks.ALL,
        excluded_checks=not_applicable(case),
        **target.call_kwargs(),
    )


def not_applicable(case) -> list:
    """Checks a case cannot support.

    For multipart bodies built from registered media types, Schemathesis sometimes labels a
    valid body negative (coverage: "Multipart body with custom encoding"; fuzzing:
    "Positive test case", extra form fields a server ignores); ``negative_data_rejection``
    would demand a 4xx for a valid upload. Likewise for a form field given an object.
    """
    from schemathesis.specs.openapi.checks import negative_data_rejection

    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.NEGATIVE:
        description = getattr(meta.phase.data, "description", "") or ""
        if description in ("Multipart body with custom encoding", "Positive test case"):
            return [negative_data_rejection]
        if _blank_optional_form_field(case, description):
            # DRF reads an empty optional field of a form as absent (``html.is_html_input``):
            # ``tag=`` is no tag, valid, although the schema's minLength calls "" negative
            return [negative_data_rejection]
        if _nested_form_value(case) or (_is_form(case) and "violates `type`" in description):
            # in a form every scalar is text: a "wrong type" number or boolean arrives as a
            # perfectly valid string, and an object cannot be sent at all
            return [negative_data_rejection]
    return []


def _is_form(case) -> bool:
    media_type = case.media_type or ""
    return media_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _blank_optional_form_field(case, description: str) -> bool:
    if not _is_form(case) or not isinstance(case.body, dict):
        return False
    body = next((b for b in case.operation.body if b.media_type == case.media_type), None)
    schema = body.definition.get("schema", {}) if body is not None else {}
    required = set(schema.get("required", [])) if isinstance(schema, dict) else set()
    return any(
        value == "" and name not in required and f"/properties/{name}" in description
        for name, value in case.body.items()
    )


def _nested_form_value(case) -> bool:
    """A form field holding an object: a form cannot carry it, so what is sent is not what
    was generated (the object's keys go out as fields of their own)."""
    if not _is_form(case):
        return False
    if not isinstance(case.body, dict):
        return False
    return any(
        isinstance(value, dict)
        or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value))
        for value in case.body.values()
    )


def send(target, spec: str, operation_id: str, *, token: str | None | bool = None, **parts):
    """One hand-made request to an operation, validated by the same checks as generated ones.

    ``token``: None sends the target's token, a string another token, False none at all.
    """
    operation = load(spec).find_operation_by_id(operation_id)
    case = operation.Case(**parts)
    if target.app is not None:
        case.operation.schema.app = target.app
    headers = None if token is False else target.auth_headers(token or None)
    return case.call_and_validate(
        headers=headers, additional_checks=checks.ALL, **target.call_kwargs()
    )
