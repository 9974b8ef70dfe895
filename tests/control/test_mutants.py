"""The contract suite catches every mutant: the mutation score is 100 %.

For each mutant the contract suite runs in-process with that mutant on, restricted to the
operations and scenarios where the deviation shows (so the whole matrix stays well under
a minute), and must fail; the same selection without a mutant passes as part of the
default contract run. A rule mutant (every reply valid under the specs) runs its rule
scenario in this process and must be caught by the model's prediction, not by a check of
the replies' form; ``make contract-deep`` puts each through a whole contract run instead.
The score is written to ``reports/mutation-score.md``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mockserver import Config, create_app
from mockserver.control.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[2]

#: mutant → (operations fuzzed, scenario tests): where the deviation shows
SELECTIONS: dict[str, tuple[list[str], list[str]]] = {
    "renamed_field": (["listCameras"], []),
    "missing_next": (["listCameras"], ["test_walking_next_visits_every_camera_once"]),
    "found_not_404": ([], ["test_unknown_camera_is_404"]),
    "ignored_auth": (["listLicenses"], ["test_credentials_are_required"]),
    "unclamped_page_size": (["listCameras"], ["test_page_size_is_clamped_to_200"]),
    "wrong_retry_after": ([], ["test_camera_upload_limit_answers_429_with_retry_after"]),
    "naive_timezone": ([], ["test_naive_timestamps_are_read_in_the_server_timezone"]),
    "deleted_camera_reuse": ([], ["test_deleted_camera_is_gone", "test_stateful[visionalert]"]),
    "offset_timestamps": (["listLicenses"], []),
    "reversed_previous_page": ([], ["test_walks.py::test_page_walk"]),
}
#: rule mutants → the rule scenario (contract_tests/test_rules.py) where the deviation shows.
#: Every reply stays valid under the specs: only the model of the suite's own writes may
#: catch them (a check of the replies' form failing first is a defect of the mutant).
RULE_SCENARIOS: dict[str, str] = {
    "window_end_refused": "test_uploads_filters_and_order_at_their_boundaries",
    "window_wait_whole": "test_uploads_filters_and_order_at_their_boundaries",
    "log_visible_late": "test_uploads_filters_and_order_at_their_boundaries",
    "ties_oldest_first": "test_uploads_filters_and_order_at_their_boundaries",
    "tag_filter_first_tag": "test_uploads_filters_and_order_at_their_boundaries",
    "end_exclusive": "test_uploads_filters_and_order_at_their_boundaries",
    "end_day_short": "test_uploads_filters_and_order_at_their_boundaries",
    "throttle_wait_long": "test_account_throttle_and_license_size_at_their_boundaries",
    "license_overfilled": "test_account_throttle_and_license_size_at_their_boundaries",
    "visit_duration_seconds": "test_visits_at_their_boundaries",
    "count_of_page": "test_visits_at_their_boundaries",
    "default_period_short": "test_visits_at_their_boundaries",
}
#: ``make contract-deep``: the rule mutants too go through whole contract runs (subprocesses)
DEEP = os.environ.get("MOCKSERVER_CONTRACT_DEEP", "") in ("1", "true", "yes")
if DEEP:
    SELECTIONS.update(
        {name: ([], [f"test_rules.py::{test}"]) for name, test in RULE_SCENARIOS.items()}
    )


def _run(mutant: str, report_dir: Path, world: Path) -> tuple[str, int, str]:
    operations, scenarios = SELECTIONS[mutant]
    targets = []
    if operations:
        targets.append("contract_tests/test_visionalert.py")
    for name in scenarios:
        if "::" in name:  # module.py::test
            targets.append(f"contract_tests/{name}")
            continue
        module = "test_stateful" if name.startswith("test_stateful") else "test_scenarios"
        targets.append(f"contract_tests/{module}.py::{name}")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "--timeout=240",
        *dict.fromkeys(targets),
        "--contract-mutant",
        mutant,
        *(["--contract-include", ",".join(operations)] if operations else []),
        "--contract-examples",
        "8",
        "--contract-report-dir",
        str(report_dir / mutant),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_CONTRACT_")}
    env["MOCKSERVER_CONTRACT_WORLD_CACHE"] = str(world)  # built once, copied by every run
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    verdict = next(
        (line for line in done.stdout.splitlines() if line.startswith("contract verdict:")), ""
    )
    report = report_dir / mutant / "contract-fidelity.md"
    checks = (
        re.search(r"\((\d+) passed, (\d+) failed\)", report.read_text())
        if report.exists()
        else None
    )
    failed_checks = f"checks failed: {checks.group(2)}" if checks else "checks failed: ?"
    return (
        mutant,
        done.returncode,
        f"{verdict}\n{failed_checks}\n{done.stdout[-3000:]}{done.stderr[-2000:]}",
    )


def test_every_mutant_has_a_selection():
    assert set(SELECTIONS) | set(RULE_SCENARIOS) == set(MUTANTS)


def _build_world(directory: Path) -> None:
    """The contract suite's in-process world, built once for all the mutant runs."""
    from contract_tests.target import Options, Target

    Target(Options(world_cache=str(directory))).start().close()


@pytest.fixture(scope="module")
def contract_world(tmp_path_factory) -> Path:
    """The contract suite's in-process world, built once for every run of this module."""
    world = tmp_path_factory.mktemp("contract") / "world"
    _build_world(world)
    return world


def _rule_mutant_caught(target, name: str) -> tuple[str, bool, str]:
    """Run the rule scenario in-process with the mutant on: caught when the model's
    prediction fails (``Mismatch``); a failing check of the replies' form is no catch."""
    from contract_tests.model import Mismatch
    from contract_tests.test_rules import SCENARIOS

    test = RULE_SCENARIOS[name]
    target.refresh()
    switched = target.http("POST", "/_mock/mutants", token=False, json={"active": [name]})
    assert switched.status_code == 200, switched.text
    try:
        SCENARIOS[test](target)
    except Mismatch as mismatch:
        return name, True, f"{test}: {str(mismatch).splitlines()[0]}"
    except Exception as error:  # noqa: BLE001 - reported: a form check or an error stopped it
        return name, False, f"{test}: not the model: {type(error).__name__}: {error}"[:600]
    return name, False, f"{test}: passed"


@pytest.mark.timeout(600)  # subprocess runs, two at a time, on a shared 2-core machine
def test_contract_suite_catches_every_mutant(tmp_path, contract_world):
    from contract_tests.target import Options, Target

    world = contract_world
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda name: _run(name, tmp_path, world), sorted(SELECTIONS)))
    # caught: the run failed on a contract check, not on an error that stopped it
    results = {}
    for name, code, output in runs:
        failed = re.findall(r"FAILED (\S+)", output)
        how = ", ".join(sorted(set(failed))) or f"exit {code}"
        caught = code == 1 and "contract verdict: BROKEN" in output
        if name in RULE_SCENARIOS and "checks failed: 0\n" not in output:
            caught, how = False, f"a check of the replies' form failed: {how}"
        results[name] = (caught, how, output)
    rule_mutants = sorted(set(RULE_SCENARIOS) - set(SELECTIONS))
    if rule_mutants:  # in-process, one world for all (a whole contract run each is the deep form)
        target = Target(Options(world_cache=str(world))).start()
        try:
            for name in rule_mutants:
                _, caught, how = _rule_mutant_caught(target, name)
                results[name] = (caught, how, how)
        finally:
            target.close()
    lines = [
        "# Mutation score",
        "",
        "| mutant | deviation | caught | how |",
        "| --- | --- | --- | --- |",
    ]
    for name, (caught, how, _output) in sorted(results.items()):
        lines.append(f"| `{name}` | {MUTANTS[name]} | {'yes' if caught else 'NO'} | {how} |")
    score = sum(caught for caught, _how, _output in results.values())
    rules = sum(results[name][0] for name in RULE_SCENARIOS)
    lines += [
        "",
        f"Mutation score: **{score}/{len(MUTANTS)}** ({100 * score // len(MUTANTS)} %); "
        f"rule mutants (every reply valid under the specs, caught by the model): "
        f"**{rules}/{len(RULE_SCENARIOS)}**.",
    ]
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "mutation-score.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    missed = {name: output for name, (caught, _how, output) in results.items() if not caught}
    assert not missed, "mutants the contract suite did not catch:\n" + "\n\n".join(
        f"== {name}\n{output}" for name, output in missed.items()
    )


def _contract_run(tmp_path, *options: str, world: Path | None = None) -> tuple[int, str, str]:
    """One contract run in a subprocess: exit code, output, the fidelity report."""
    report = tmp_path / "report"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    command += [*options, "--contract-report-dir", str(report)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_CONTRACT_")}
    if world is not None:
        env["MOCKSERVER_CONTRACT_WORLD_CACHE"] = str(world)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    markdown = report / "contract-fidelity.md"
    return done.returncode, done.stdout, markdown.read_text() if markdown.exists() else ""


def test_unreachable_target_is_could_not_proceed_not_broken(tmp_path):
    """A server that cannot be reached is no contract failure: the verdict says so."""
    from mockserver.testkit.plugin import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, output, report = _contract_run(
        tmp_path,
        "contract_tests/test_visionalert.py",
        *("--contract-include", "listLicenses", "--base-url", url, "--token", "t"),
    )
    assert code != 0
    assert "contract verdict: COULD NOT PROCEED" in output, output[-2000:]
    assert "BROKEN" not in output
    assert "Verdict: **COULD NOT PROCEED" in report and "ConnectionError" in report


def test_report_lists_checks_never_exercised(tmp_path, contract_world):
    """Checks that ran but had nothing to check are 'not exercised', not passed."""
    world = contract_world
    code, output, report = _contract_run(
        tmp_path,
        "contract_tests/test_visionalert.py",
        "--contract-include",
        "listLicenses",  # a bare array: no page, no filter, no 429, no stateful parent
        "--contract-examples",
        "3",
        world=world,
    )
    assert code == 0, output[-2000:]
    assert "contract verdict: HELD" in output
    idle = report.split("## Not exercised", 1)[1].split("##", 1)[0]
    for name in ("page_size_honoured", "filters_honoured", "next_link_conforms", "use_after_free"):
        assert f"`{name}`" in idle, (name, idle)
    assert "`response_schema_conformance`" not in idle
    assert "| `page_size_honoured` | 0 (not exercised) | 0 | 0 |" in report


# -- the switch itself ---------------------------------------------------------------------


@pytest.fixture
def mutant_client(tmp_path):
    app = create_app(Config(seed="demo", tick_seconds=0, data_dir=str(tmp_path)))
    yield app.test_client()
    app.extensions["mockserver"].close()


def test_control_plane_switches_mutants(mutant_client):
    reply = mutant_client.get("/_mock/mutants")
    assert reply.status_code == 200
    assert reply.json["active"] == [] and set(reply.json["available"]) == set(MUTANTS)
    on = mutant_client.post("/_mock/mutants", json={"active": ["missing_next"]})
    assert on.status_code == 200 and on.json["active"] == ["missing_next"]
    licenses = mutant_client.get(
        "/v1/vision-alert/licenses/", headers={"Authorization": "Token demo-token"}
    )
    license_id = licenses.json[0]["id"]
    page = mutant_client.get(
        f"/v1/vision-alert/{license_id}/cameras/", headers={"Authorization": "Token demo-token"}
    )
    assert "next" not in page.json and "results" in page.json
    off = mutant_client.post("/_mock/mutants", json={"active": []})
    assert off.json["active"] == []
    page = mutant_client.get(
        f"/v1/vision-alert/{license_id}/cameras/", headers={"Authorization": "Token demo-token"}
    )
    assert "next" in page.json


def test_unknown_mutant_is_400(mutant_client):
    reply = mutant_client.post("/_mock/mutants", json={"active": ["no_such_bug"]})
    assert reply.status_code == 400 and "active" in reply.json
    assert mutant_client.post("/_mock/mutants", json={"active": "missing_next"}).status_code == 400


def test_ignored_auth_mutant_serves_anonymous_requests(mutant_client):
    assert mutant_client.get("/v1/vision-alert/licenses/").status_code == 401
    mutant_client.post("/_mock/mutants", json={"active": ["ignored_auth"]})
    assert mutant_client.get("/v1/vision-alert/licenses/").status_code == 200


def test_mutants_from_config(tmp_path):
    app = create_app(
        Config(seed="demo", tick_seconds=0, data_dir=str(tmp_path), mutants="ignored_auth")
    )
    try:
        client = app.test_client()
        assert client.get("/_mock/mutants").json["active"] == ["ignored_auth"]
        assert client.get("/api/v1/parking-list/").status_code == 200
    finally:
        app.extensions["mockserver"].close()
    with pytest.raises(ValueError):
        create_app(
            Config(seed="none", tick_seconds=0, data_dir=str(tmp_path / "x"), mutants="bogus")
        )


def test_deleted_camera_reuse_is_shared_by_workers(tmp_path):
    """Two apps on one data directory are two worker processes: a camera deleted through
    one is answered for by the other (the mutant's memory lives in the store)."""
    config = dict(seed="demo", tick_seconds=0, data_dir=str(tmp_path))
    first, second = create_app(Config(**config)), create_app(Config(**config))
    try:
        headers = {"Authorization": "Token demo-token"}
        one, two = first.test_client(), second.test_client()
        one.post("/_mock/mutants", json={"active": ["deleted_camera_reuse"]})
        license_id = one.get("/v1/vision-alert/licenses/", headers=headers).json[0]["id"]
        camera = f"/v1/vision-alert/{license_id}/cameras/Q2GV-ABCD-1234"
        assert one.delete(f"{camera}/", headers=headers).status_code == 204
        for client in (one, two):
            logs = client.get(f"{camera}/logs/", headers=headers)
            assert logs.status_code == 200 and logs.json["results"] == []
            reference = client.get(f"{camera}/reference/", headers=headers)
            assert reference.status_code == 200 and reference.json == {"reference_image": None}
        # without the mutant, both answer as the vendor does
        two.post("/_mock/mutants", json={"active": []})
        for client in (one, two):
            assert client.get(f"{camera}/logs/", headers=headers).status_code == 404
    finally:
        first.extensions["mockserver"].close()
        second.extensions["mockserver"].close()
