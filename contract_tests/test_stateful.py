"""Stateful sequences through the specs' OpenAPI ``links``.

Schemathesis walks the links (licenses → cameras → logs / delete camera → logs again;
create-log → camera logs; create-camera → parking-list; log-vehicle → visit-list) and
runs every check on every step, including the ones that need history:
``use_after_free`` (a deleted camera's logs must be 404) and
``ensure_resource_availability``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from . import checks, steering
from .suite import load, not_applicable, reproducible

SPECS = ("visionalert", "parkpow")


@pytest.mark.parametrize("spec", SPECS)
def test_stateful(spec, contract_target):
    target = contract_target
    if not target.options.writes_allowed:
        pytest.skip("stateful sequences change state; run with --allow-writes")
    schema = load(spec)
    if target.app is not None:
        schema.app = target.app
    base = schema.as_state_machine()

    class Steered(base):
        def setup(self):
            target.restore()  # every scenario starts from the same world (in-process)

        def before_call(self, case):
            steering.steer(case, target.facts)
            if case.operation.method.upper() == "DELETE" and target.options.live:
                # against a live server, delete only cameras this suite created
                serial = (case.path_parameters or {}).get("serial")
                if serial not in target.facts.owned_serials:
                    case.path_parameters["serial"] = target.own_camera()

        def get_call_kwargs(self, case):
            kwargs = dict(target.call_kwargs())
            meta = case.meta
            if not (meta is not None and meta.is_negative_at(ParameterLocation.HEADER)):
                kwargs["headers"] = target.auth_headers()
            return kwargs

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                additional_checks=checks.ALL,
                excluded_checks=not_applicable(case),
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    options = target.options
    Steered.run(
        settings=settings(
            max_examples=max(5, options.examples // 2),
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=reproducible(),
            suppress_health_check=list(HealthCheck),
        )
    )
