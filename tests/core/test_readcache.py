"""Read replies are reused only while the store is unchanged, across worker processes."""

from __future__ import annotations

import requests

from mockserver.testkit.plugin import LiveServer

from ..conftest import BOTH_BACKENDS, SEED_EXAMPLE, auth

pytestmark = BOTH_BACKENDS


def _serials(client, lic):
    reply = client.get(f"/v1/vision-alert/{lic}/cameras/", headers=auth("tok-a"))
    assert reply.status_code == 200
    return [camera["serial"] for camera in reply.json["results"]]


def test_reply_follows_every_change_in_process(client, seeded):
    lic = seeded["accounts"][0]["licenses"][0]["id"]
    assert _serials(client, lic) == ["C1"]
    assert _serials(client, lic) == ["C1"]  # the same request again: same reply
    path = f"/v1/vision-alert/{lic}/cameras/C1/"
    assert client.delete(path, headers=auth("tok-a")).status_code == 204
    assert _serials(client, lic) == []


def test_another_store_never_answers(make_app):
    first, second = make_app().test_client(), make_app().test_client()
    one = first.post("/_mock/seed", json=SEED_EXAMPLE).json
    lic = one["accounts"][0]["licenses"][0]["id"]
    assert _serials(first, lic) == ["C1"]
    other = {"accounts": [dict(SEED_EXAMPLE["accounts"][0])]}
    other["accounts"][0]["visionalert"] = {
        "licenses": [{"code": "LIC-A", "cameras": [{"serial": "X9"}]}]
    }
    second.post("/_mock/seed", json=other)
    assert _serials(second, lic) == ["X9"]  # same path, account id and version number


def test_changes_made_through_another_worker_are_seen():
    with LiveServer(workers=2, seed="none") as server:
        reply = requests.post(server.url + "/_mock/seed", json=SEED_EXAMPLE)
        lic = reply.json()["accounts"][0]["licenses"][0]["id"]
        url = f"{server.url}/v1/vision-alert/{lic}/cameras/"
        headers = auth("tok-a")
        for _ in range(10):  # fresh connections: both workers answer and remember
            assert [c["serial"] for c in requests.get(url, headers=headers).json()["results"]] == [
                "C1"
            ]
        deleted = requests.delete(f"{url}C1/", headers=headers)
        assert deleted.status_code == 204
        for _ in range(10):
            assert requests.get(url, headers=headers).json()["results"] == []
