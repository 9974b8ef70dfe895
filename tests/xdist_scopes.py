"""How ``pytest -n auto --dist loadscope`` (``make test``) shares the suite among workers.

A scope runs whole on one worker, so what a module starts once (a live server, a
PostgreSQL database, a browser page's server) is started once per worker that runs it,
never once per test. The scopes are xdist's ``loadscope`` ones with three changes:

* a module is one scope even where it holds classes (its module fixtures serve them all);
* the whole contract suite is one scope: one in-process world and one fidelity report
  (``reports/``), written by the one worker that ran every contract test;
* the Locust load runs are one scope: they share the frame cache under
  ``load_tests/results/`` (written on first use) and would otherwise load the machine at
  the same time;
* the bad-input corpus is one scope per backend (each is a long run of its own, with its
  own module-scoped app), so the two halves run side by side.

Scopes are handed out largest first (xdist's default order), so the long corpus halves
start at once and the short modules fill in around them.
"""

from __future__ import annotations

CONTRACT_SUITE = "contract_tests/"
LOAD_RUNS = (
    "tests/system/test_fleet_profile.py",
    "tests/system/test_parkpow_stream_load.py",
    "tests/system/test_smoke_load.py",
)
SPLIT_BY_BACKEND = ("tests/system/test_bad_input.py",)
BACKENDS = ("sqlite", "postgresql")


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to (tests of one unit run on one worker, in order)."""
    if nodeid.startswith(CONTRACT_SUITE):
        return CONTRACT_SUITE
    module, _, rest = nodeid.partition("::")
    if module in LOAD_RUNS:
        return "tests/system (Locust load runs)"
    if module in SPLIT_BY_BACKEND and "[" in rest:
        backend = rest.split("[", 1)[1].split("-", 1)[0].rstrip("]")
        if backend in BACKENDS:
            return f"{module}[{backend}]"
    return module


def make_scheduler(config, log):
    """The scheduler for ``--dist loadscope``; other modes keep xdist's own (None)."""
    if getattr(config.option, "dist", None) != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorldScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return WorldScopeScheduling(config, log)
