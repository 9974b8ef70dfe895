"""A connection per unit of work: short-lived threads (a thread per request, as Werkzeug's
threaded server runs them) never run the store's pool dry."""

from __future__ import annotations

import threading
import time

import pytest

from mockserver.core import pgstore, store

from ..conftest import BOTH_BACKENDS, SEED_EXAMPLE, auth

pytestmark = BOTH_BACKENDS

THREADS = 60  # more than the pool holds (8 kept + 32 beyond)


@pytest.fixture
def app(make_app, monkeypatch):
    # a dry pool fails after 2 s instead of 30: the same check, a faster failure
    monkeypatch.setattr(store, "POOL_TIMEOUT", 2.0)
    monkeypatch.setattr(pgstore, "POOL_TIMEOUT", 2.0)
    return make_app()


def test_sixty_short_lived_threads_then_a_request_answers_promptly(app):
    client = app.test_client()
    seeded = client.post("/_mock/seed", json=SEED_EXAMPLE).json
    lic = seeded["accounts"][0]["licenses"][0]["id"]
    path = f"/v1/vision-alert/{lic}/cameras/"
    statuses: list[int] = []

    def one_request(index: int) -> None:
        if index % 2:  # reads and writes alike
            reply = app.test_client().get(path, headers=auth("tok-a"))
        else:
            reply = app.test_client().post("/_mock/clock", json={"advance": 1})
        statuses.append(reply.status_code)

    for index in range(THREADS):  # one after another: each thread ends before the next
        thread = threading.Thread(target=one_request, args=(index,))
        thread.start()
        thread.join()
        assert statuses[-1] == 200, f"request {index + 1} failed"
    started = time.monotonic()
    reply = client.get(path, headers=auth("tok-a"))
    assert reply.status_code == 200
    assert [c["serial"] for c in reply.json["results"]] == ["C1"]
    assert time.monotonic() - started < 1.0
