"""Lost-write checks after a load run: every accepted upload is exactly one log, every
accepted gate sighting is in a visit.

    python -m load_tests.verify --host http://127.0.0.1:8000 --token T --ledger results/ledger \
        [--emulator --settle 3600]

Reads the ledgers the load processes wrote (``--ledger``), optionally advances the emulator's
clock so every pending analysis completes (``--settle``), then counts through the public
read APIs only (so it works against any server): license logs page by page, and the
visit list. Exit status 1 on any lost or duplicated write.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests


@dataclass
class Ledger:
    uploads: Counter = field(default_factory=Counter)
    sightings: list[dict] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # request name -> failed requests


@dataclass
class Report:
    accepted_uploads: int
    upload_logs: int
    lost_uploads: dict[str, int]  # serial -> accepted minus logged (> 0)
    duplicated_uploads: dict[str, int]  # serial -> logged minus accepted (> 0)
    sightings: int
    missing_sightings: list[dict]
    late_uploads: int = 0  # logs missing at the first count that appeared while waiting

    @property
    def ok(self) -> bool:
        return not (self.lost_uploads or self.duplicated_uploads or self.missing_sightings)

    def summary(self) -> str:
        return (
            f"uploads accepted {self.accepted_uploads}, logs {self.upload_logs}, "
            f"lost {sum(self.lost_uploads.values())}, "
            f"duplicated {sum(self.duplicated_uploads.values())}, "
            f"late {self.late_uploads}; "
            f"sightings {self.sightings}, not in a visit {len(self.missing_sightings)}"
        )


def read_ledgers(base: str) -> Ledger:
    """Sum the ``<base>.<pid>.json`` files of every load process."""
    ledger = Ledger()
    for path in sorted(glob.glob(f"{glob.escape(base)}.*.json")):
        with open(path) as handle:
            part = json.load(handle)
        ledger.uploads.update(part.get("uploads", {}))
        ledger.sightings.extend(part.get("sightings", []))
        ledger.failures.update(part.get("failures", {}))
    return ledger


def upload_logs(session: requests.Session, base_url: str) -> Counter:
    """Logs per camera serial over every license of the token, offline logs excluded
    (those are written by the emulator for silent cameras, not by uploads)."""
    counts: Counter = Counter()
    licenses = _get(session, f"{base_url}/v1/vision-alert/licenses/")
    for lic in licenses:
        url = f"{base_url}/v1/vision-alert/{lic['id']}/logs/?page_size=200"
        while url:
            page = _get(session, url)
            for row in page["results"]:
                if not (row["status"] == "offline" and row["snapshot"] is None):
                    counts[row["camera_serial"]] += 1
            url = page["next"]
    return counts


def visits(session: requests.Session, base_url: str, around: datetime) -> list[dict]:
    """Every visit that started within a day either side of ``around``."""
    start = (around - timedelta(days=1)).date().isoformat()
    end = (around + timedelta(days=1)).date().isoformat()
    return _get(session, f"{base_url}/api/v1/visit-list/?start={start}&end={end}")


def missing_sightings(sightings: list[dict], visit_list: list[dict]) -> list[dict]:
    """Sightings without a visit: per plate, each entrance opens one visit through that
    camera, each exit closes one through that camera."""
    opened: Counter = Counter()
    closed: Counter = Counter()
    for visit in visit_list:
        plate = visit["vehicle"]["license_plate"].upper()
        if isinstance(visit.get("start_cam"), dict):
            opened[(plate, visit["start_cam"]["code"])] += 1
        if isinstance(visit.get("end_cam"), dict):
            closed[(plate, visit["end_cam"]["code"])] += 1
    missing = []
    for sighting in sightings:
        key = (sighting["plate"].upper(), sighting["camera"])
        pool = opened if sighting["kind"] == "entrance" else closed
        if pool[key] > 0:
            pool[key] -= 1
        else:
            missing.append(sighting)
    return missing


def verify(
    base_url: str, token: str, ledger: Ledger, now: datetime | None = None, patience: float = 0.0
) -> Report:
    """Compare the ledger with what the read APIs show. With ``patience``, logs missing at
    the first count are waited for (re-counted every 2 s) and reported as *late*, not lost:
    an analysis still running in another worker when the clock was advanced."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    lost, extra, logged = _compare_uploads(session, base_url, ledger)
    first_lost = sum(lost.values())
    deadline = time.monotonic() + patience
    while lost and time.monotonic() < deadline:
        time.sleep(2.0)
        lost, extra, logged = _compare_uploads(session, base_url, ledger)
    missing: list[dict] = []
    if ledger.sightings:
        visit_list = visits(session, base_url, now or datetime.now(UTC))
        missing = missing_sightings(ledger.sightings, visit_list)
    return Report(
        accepted_uploads=sum(ledger.uploads.values()),
        upload_logs=sum(logged[s] for s in ledger.uploads),
        lost_uploads=lost,
        duplicated_uploads=extra,
        sightings=len(ledger.sightings),
        missing_sightings=missing,
        late_uploads=first_lost - sum(lost.values()),
    )


def _compare_uploads(session: requests.Session, base_url: str, ledger: Ledger):
    """(lost per serial, duplicated per serial, logs per serial)."""
    logged = upload_logs(session, base_url) if ledger.uploads else Counter()
    accepted = ledger.uploads
    lost = {s: n - logged[s] for s, n in accepted.items() if n > logged[s]}
    extra = {s: logged[s] - n for s, n in accepted.items() if logged[s] > n}
    return lost, extra, logged


def _get(session: requests.Session, url: str):
    reply = session.get(url, timeout=120)
    if reply.status_code != 200:
        raise RuntimeError(f"GET {url}: {reply.status_code} {reply.text[:300]}")
    return reply.json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ledger", required=True, help="the --ledger base the run used")
    parser.add_argument("--emulator", action="store_true", help="the target is the emulator")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="emulator only: advance the clock this many seconds first (completes analysis)",
    )
    parser.add_argument(
        "--patience", type=float, default=30.0, help="seconds to wait for late logs"
    )
    args = parser.parse_args(argv)
    base_url = args.host.rstrip("/")
    now = None
    if args.settle:
        if not args.emulator:
            parser.error("--settle needs --emulator")
        from .control import Control

        clock = Control(base_url).advance(args.settle)
        now = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
    ledger = read_ledgers(args.ledger)
    report = verify(base_url, args.token, ledger, now, patience=args.patience)
    print(report.summary())
    if ledger.failures:
        print(f"failed requests during the run: {dict(ledger.failures)}")
    return 0 if report.ok and not ledger.failures else 1


if __name__ == "__main__":
    sys.exit(main())
