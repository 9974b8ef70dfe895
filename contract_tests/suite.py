"""Load a spec once, configured for this session, and run one generated case against the target."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from . import checks, steering
from . import target as target_module
from .report import RECORDER


def load(name: str):
    """The spec ``specs/<name>.yaml``: positive and negative data, every default check."""
    steering.register()
    options = target_module.CURRENT
    schema = schemathesis.openapi.from_path(target_module.SPECS / f"{name}.yaml")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=options.examples,
    )
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
    RECORDER.declare(name, labels)

    @schema.hook
    def after_validate(context, case, response, results):  # noqa: ARG001 - hook signature
        RECORDER.record(name, case.operation.label, case, response, results)

    return schema


def hypothesis_settings():
    """Bounded by ``--contract-examples``; reproducible in-process, random against a live server."""
    options = target_module.CURRENT
    return settings(
        max_examples=options.examples,
        deadline=None,
        database=None,
        derandomize=not options.live,
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
    case.call_and_validate(
        headers=target.auth_headers(),
        additional_checks=checks.ALL,
        **target.call_kwargs(),
    )
