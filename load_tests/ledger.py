"""What this load process got accepted, written out for lost-write checks.

Every 2xx create-log is counted per camera serial; every 2xx log-vehicle sighting is kept
with its plate, camera and time; failed requests of any kind are counted by name. With ``--ledger PATH`` each process writes
``PATH.<pid>.json`` when the test stops; a checker sums the files (see ``verify.py``).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

from locust import events

from .options import ledger_path, plan

_lock = threading.Lock()
uploads: Counter[str] = Counter()
sightings: list[dict] = []
failures: Counter[str] = Counter()  # request name -> failed requests


def upload_accepted(serial: str) -> None:
    with _lock:
        uploads[serial] += 1


def sighting_accepted(plate: str, camera: str, kind: str, at: str | None) -> None:
    with _lock:
        sightings.append({"plate": plate, "camera": camera, "kind": kind, "time": at})


def write(base: str) -> str:
    path = ledger_path(base)
    with _lock:
        body = {"uploads": dict(uploads), "sightings": list(sightings), "failures": dict(failures)}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(body, handle)
    return path


@events.request.add_listener
def _count_failure(name: str, exception=None, **_kwargs) -> None:
    if exception is not None:
        with _lock:
            failures[name] += 1


@events.test_stop.add_listener
def _write_on_stop(environment, **_kwargs) -> None:
    base = plan(environment).ledger
    if base:
        write(base)
