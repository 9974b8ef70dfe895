"""Contract-suite options, the target fixture and the fidelity report.

pytest contract_tests                                  # the in-process emulator
pytest contract_tests --base-url URL --token TOKEN     # any live server, read-only
pytest contract_tests --base-url URL --token TOKEN --allow-writes
"""

from __future__ import annotations

import os

import pytest

from . import target as target_module
from .report import RECORDER
from .rules import LEDGER

_WORKER_SUMMARIES = pytest.StashKey[list]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("contract", "contract tests (specs/ against a server)")
    group.addoption(
        "--base-url",
        dest="contract_base_url",
        default=None,
        help="run the contract suite against this server (env MOCKSERVER_CONTRACT_URL); "
        "default: the in-process emulator",
    )
    group.addoption(
        "--token",
        dest="contract_token",
        default=None,
        help="API token for --base-url (env MOCKSERVER_CONTRACT_TOKEN)",
    )
    group.addoption(
        "--allow-writes",
        dest="contract_allow_writes",
        action="store_true",
        default=False,
        help="also send state-changing requests to --base-url (env MOCKSERVER_CONTRACT_ALLOW_WRITES=1)",
    )
    group.addoption(
        "--contract-examples",
        dest="contract_examples",
        type=int,
        default=None,
        help="generated examples per operation and mode (env MOCKSERVER_CONTRACT_EXAMPLES; default 25)",
    )
    group.addoption(
        "--contract-seed",
        dest="contract_seed",
        type=int,
        default=None,
        help="seed of every generated case and walk (env MOCKSERVER_CONTRACT_SEED; default 1): "
        "the same seed against the same server state gives the same run",
    )
    group.addoption(
        "--server-timezone",
        dest="contract_timezone",
        default=None,
        help="timezone the server reads naive timestamps in (default UTC)",
    )
    group.addoption(
        "--contract-mutant",
        dest="contract_mutant",
        action="append",
        default=None,
        help="in-process only: start the emulator with this mutant on (repeatable)",
    )
    group.addoption(
        "--contract-include",
        dest="contract_include",
        default=None,
        help="only these operations (comma-separated operationIds) in the generated tests",
    )
    group.addoption(
        "--contract-report-dir",
        dest="contract_report_dir",
        default=None,
        help="where the fidelity report goes (default: reports/)",
    )


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "rules(*ids): the rules (contract_tests/rules.py) a scenario exercises"
    )
    target_module.CURRENT = target_module.options_from(config)
    from . import checks

    checks.SERVER_TIMEZONE["name"] = target_module.CURRENT.server_timezone


def pytest_collection_modifyitems(items) -> None:
    """One node id per generated test: Schemathesis names each operation's test
    ``test_x[GET /path]``, but under pytest 9 every one gets the node id ``test_x``, and
    test ids that repeat are one test to pytest-xdist (it runs the first, drops the rest)."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    for item in items:
        if seen[item.nodeid] > 1 and item.name != item.nodeid.rsplit("::", 1)[-1]:
            unique = f"{item.parent.nodeid}::{item.name}"
            if hasattr(item, "_id"):  # pytest 9 keeps the node id as a NodeId
                item._id = type(item._id).parse(unique)
            else:
                item._nodeid = unique


@pytest.fixture(scope="session")
def contract_session():
    """The server under test, built (in-process) or discovered (live) once per session."""
    options = target_module.CURRENT
    RECORDER.target = options.base_url or "in-process emulator" + (
        f" (mutants: {', '.join(options.mutants)})" if options.mutants else ""
    )
    server = target_module.Target(options).start()
    yield server
    server.close()


@pytest.fixture
def contract_target(contract_session):
    """The target, its world as built (in-process) whatever earlier tests changed."""
    contract_session.refresh()
    return contract_session


def _is_contract_failure(error: BaseException) -> bool:
    """An assertion about the server's reply (a check, a scenario), as opposed to an error
    that stopped the run (connection refused, timeout, Hypothesis' flakiness guard)."""
    from schemathesis.core.failures import Failure, FailureGroup

    if isinstance(error, BaseExceptionGroup) and not isinstance(error, FailureGroup):
        return any(_is_contract_failure(inner) for inner in error.exceptions)
    return isinstance(error, AssertionError | Failure | FailureGroup)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and not report.skipped:
        for marker in item.iter_markers("rules"):
            for rule_id in marker.args:
                LEDGER.exercise(rule_id, item.originalname or item.name)
    if report.skipped and isinstance(report.longrepr, tuple):
        # a skip says what the world did not offer: the report lists it with its reason
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        RECORDER.could_not_proceed(item.nodeid, reason.removeprefix("could not proceed: "))
        return
    if not report.failed or call.excinfo is None:
        return
    error = call.excinfo.value
    if report.when == "call" and _is_contract_failure(error):
        RECORDER.broken.append(item.nodeid)
    else:
        first_line = (str(error).strip().splitlines() or [""])[0]
        RECORDER.run_errors.append((item.nodeid, f"{type(error).__name__}: {first_line[:200]}"))


def pytest_sessionfinish(session, exitstatus) -> None:
    recorded = any(op.cases for op in RECORDER.operations.values())
    if not (recorded or RECORDER.run_errors or RECORDER.broken):
        return
    directory = session.config.getoption("contract_report_dir") or os.environ.get(
        "MOCKSERVER_CONTRACT_REPORT_DIR", os.path.join(str(session.config.rootpath), "reports")
    )
    markdown, junit = RECORDER.write(directory)
    total = RECORDER.summary()
    lines = [
        f"contract fidelity: {total['covered']}/{total['operations']} operations, "
        f"{total['cases']} cases, {total['checks_passed']} checks passed, "
        f"{total['checks_failed']} failed -> {markdown} , {junit}",
        f"contract verdict: {RECORDER.verdict()}",
    ]
    idle = RECORDER.not_exercised()
    lines.append(f"not exercised: {', '.join(idle) if idle else '(none)'}")
    lines += [f"could not proceed: {what}: {why}" for what, why in RECORDER.blocked]
    lines += [
        f"could not proceed (error, not a contract failure): {test}: {why}"
        for test, why in RECORDER.run_errors
    ]
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: the controller prints the summary
        worker_output["contract_summary"] = lines
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in lines:
            reporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """Under xdist: keep the summary of the worker that ran the contract suite."""
    lines = getattr(node, "workeroutput", {}).get("contract_summary")
    if lines:
        node.config.stash.setdefault(_WORKER_SUMMARIES, []).extend(lines)


def pytest_terminal_summary(terminalreporter) -> None:
    for line in terminalreporter.config.stash.get(_WORKER_SUMMARIES, []):
        terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from tests import xdist_scopes

    return xdist_scopes.make_scheduler(config, log)
