"""The mutant switch is the world's: every worker process and host sees one set, and a
process starting again (a respawned worker, another host) does not undo a change."""

from __future__ import annotations

from ..conftest import BOTH_BACKENDS

pytestmark = BOTH_BACKENDS

LICENSES = "/v1/vision-alert/licenses/"


def _active(client) -> list[str]:
    return client.get("/_mock/mutants").json["active"]


def test_a_process_started_after_a_switch_keeps_it(make_app, database_url, tmp_path):
    world = dict(seed="demo", data_dir=str(tmp_path), database_url=database_url or "")
    first = make_app(**world).test_client()
    assert first.post("/_mock/mutants", json={"active": ["ignored_auth"]}).status_code == 200
    second = make_app(**world).test_client()  # a respawned worker, or a second host
    assert _active(second) == ["ignored_auth"] and _active(first) == ["ignored_auth"]
    assert second.get(LICENSES).status_code == 200  # served anonymously: the mutant is on
    second.post("/_mock/mutants", json={"active": ["missing_next"]})
    assert _active(first) == ["missing_next"]
    assert first.get(LICENSES).status_code == 401


def test_the_configured_set_returns_with_a_reset_or_another_configuration(
    make_app, database_url, tmp_path
):
    world = dict(seed="demo", data_dir=str(tmp_path), database_url=database_url or "")
    first = make_app(**world, mutants="missing_next").test_client()
    assert _active(first) == ["missing_next"]
    first.post("/_mock/mutants", json={"active": []})
    again = make_app(**world, mutants="missing_next").test_client()
    assert _active(again) == [] and _active(first) == []  # the same configuration: kept
    assert first.post("/_mock/reset").status_code == 200
    assert _active(again) == ["missing_next"]  # a reset world has the configured set
    other = make_app(**world, mutants="ignored_auth").test_client()
    assert _active(first) == ["ignored_auth"]  # started with another set: it is applied
    assert other.get(LICENSES).status_code == 200
