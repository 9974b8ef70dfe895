"""How ``pytest -n auto --dist loadscope`` (``make test``) shares the suite among workers.

A scope runs whole on one worker, so what a module starts once (a live server, a
PostgreSQL database, a browser page's server) is started once per worker that runs it,
never once per test. The scopes are xdist's ``loadscope`` ones with three changes:

* a module is one scope even where it holds classes (its module fixtures serve them all);
* the whole contract suite is one scope: one in-process world and one fidelity report
  (``reports/``), written by the one worker that ran every contract test;
* the Locust load runs are one scope, run last and alone (the other workers idle): they
  share the frame cache under ``load_tests/results/`` (written on first use), and their
  request counts need the machine's cores, not a share of them;
* the bad-input corpus is one scope per backend (each is a long run of its own, with its
  own module-scoped app), so the two halves run side by side.

Scopes are handed out longest first: the few known long ones (``LONG_FIRST``), then by
number of tests (xdist's own order), so the short modules fill in around the long ones.
"""

from __future__ import annotations

CONTRACT_SUITE = "contract_tests/"
LOAD_SCOPE = "tests/system (Locust load runs)"
#: scopes known to take longest, handed out first in this order
LONG_FIRST = (
    "tests/system/test_bad_input.py[postgresql]",
    "tests/control/test_mutants.py",
    "contract_tests/",
)
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
        return LOAD_SCOPE
    if module in SPLIT_BY_BACKEND and "[" in rest:
        backend = rest.split("[", 1)[1].split("-", 1)[0].rstrip("]")
        if backend in BACKENDS:
            return f"{module}[{backend}]"
    return module


def _rank(scope: str, size: int) -> tuple:
    """Where a scope goes in the queue: the known long ones, the rest by size, load last."""
    if scope == LOAD_SCOPE:
        return (2, 0)
    if scope in LONG_FIRST:
        return (0, LONG_FIRST.index(scope))
    return (1, -size)


def make_scheduler(config, log):
    """The scheduler for ``--dist loadscope``; other modes keep xdist's own (None)."""
    if getattr(config.option, "dist", None) != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorldScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def schedule(self) -> None:
            """xdist's ``LoadScopeScheduling.schedule`` with our order of the work queue."""
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            units: dict[str, dict[str, bool]] = {}
            for nodeid in self.collection:
                units.setdefault(scope_of(nodeid), {})[nodeid] = False
            for scope in sorted(units, key=lambda scope: _rank(scope, len(units[scope]))):
                self.workqueue[scope] = units[scope]
            for _ in range(len(self.nodes) - len(self.workqueue)):
                unused, _work = self.assigned_work.popitem()
                unused.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

        load_node = None  # the worker the load runs go to, once the rest is done

        def _reschedule(self, node) -> None:
            """The load runs go to one worker once the rest is done and the others are gone.

            (A worker holds its last test back until it is sent more work or shut down, so
            "done" is one test or none pending on every worker.)"""
            if list(self.workqueue) != [LOAD_SCOPE] or node.shutting_down:
                super()._reschedule(node)
                return
            if any(self._pending_of(work) >= 2 for work in self.assigned_work.values()):
                return
            if self.load_node is None:
                self.load_node = node
                for other in self.nodes:
                    if other is not node:
                        other.shutdown()
            self._hand_out_load()

        def remove_node(self, node):
            crashitem = super().remove_node(node)
            if list(self.workqueue) == [LOAD_SCOPE] and self.load_node in self.nodes:
                self._hand_out_load()
            return crashitem

        def _hand_out_load(self) -> None:
            if self.workqueue and self.nodes == [self.load_node]:
                self._assign_work_unit(self.load_node)

    return WorldScopeScheduling(config, log)
