"""Stateful sequences through the specs' OpenAPI ``links``.

Two walkers, one verdict each:

* :mod:`contract_tests.linkwalk` — seeded (``--contract-seed``), never replayed, each step
  reading what it needs from the server: the same command on the same server state takes
  the same steps. It runs everywhere, and is the only stateful walker against live
  servers.
* Schemathesis' state machine (in-process only, where every scenario starts from the same
  restored world, so Hypothesis may replay and shrink safely): it walks the links
  (licenses → cameras → logs / delete camera → logs again; create-log → camera logs;
  create-camera → parking-list; log-vehicle → visit-list; webhook-receiver → live
  visit-list / delete-visit → delete again / trigger-alert; import-vehicles → task-check)
  with generated data and runs
  every check on every step, including the ones that need history (``use_after_free``:
  a deleted camera's logs must be 404; ``ensure_resource_availability``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis.core.parameters import ParameterLocation

from . import checks, exercised, linkwalk, steering
from .suite import load, not_applicable

SPECS = ("visionalert", "parkpow")


@pytest.mark.parametrize("spec", SPECS)
def test_link_walk(spec, contract_target):
    """Seeded sequences through the links, against any server."""
    target = contract_target
    linkwalk.declare()
    followed = linkwalk.walk(target, spec, target.options.seed)
    if followed == 0:
        pytest.skip(f"could not proceed: no reply of {spec} offered a link to follow")


@pytest.mark.parametrize("spec", SPECS)
def test_stateful(spec, contract_target):
    """Schemathesis' state machine, in-process (a live world cannot be replayed)."""
    target = contract_target
    if target.options.live:
        for name, ours in (
            ("use_after_free", "deleted_stays_gone"),
            ("ensure_resource_availability", "created_is_available"),
        ):
            linkwalk.RECORDER.explain(
                name, f"Schemathesis' state machine runs in-process only; live, `{ours}` checks it"
            )
        pytest.skip(
            "live target: Hypothesis would replay sequences against a world that has moved "
            "on; test_link_walk walks the links live"
        )
    schema = load(spec)
    schema.app = target.app
    base = schema.as_state_machine()

    class Steered(base):
        def setup(self):
            target.restore()  # every scenario starts from the same world

        def before_call(self, case):
            steering.steer(case, target.facts)

        def get_call_kwargs(self, case):
            kwargs = dict(target.call_kwargs())
            meta = case.meta
            if not (meta is not None and meta.is_negative_at(ParameterLocation.HEADER)):
                kwargs["headers"] = target.auth_headers()
            return kwargs

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            parent = self.recorder.find_parent(case_id=case.id)
            step = None
            if parent is not None:
                step = (parent, self.recorder.find_response(case_id=parent.id))
            token = exercised.PARENT.set(step)
            try:
                case.validate_response(
                    response,
                    additional_checks=checks.ALL,
                    excluded_checks=not_applicable(case),
                    headers=kwargs.get("headers"),
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )
            finally:
                exercised.PARENT.reset(token)

    options = target.options
    seed(options.seed)(Steered).run(
        settings=settings(
            max_examples=max(5, options.examples // 2),
            stateful_step_count=6,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
    )
