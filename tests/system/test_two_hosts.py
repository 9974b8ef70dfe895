"""Two hosts, one world: two ``mockserver serve`` processes on one PostgreSQL database.

Each host is its own process with its own port, pools and caches, exactly as on two
machines (nothing but the database is shared: no data directory, no shared memory, no
lock file). Requests alternate between the hosts; the rules hold across them.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

from ..control.test_control_hardening import HangingReceiver, raise_alert
from ..control.test_control_hardening import jpeg as hook_jpeg
from ..control.test_control_hardening import seed as hook_seed
from .test_concurrency import jpeg, seed

TOKEN = "tok-conc"
HEADERS = {"Authorization": f"Token {TOKEN}"}
START = "2026-04-10T14:30:00Z"
THREADS = 16


def start_hosts(database_url: str, count: int = 2, **env) -> list[LiveServer]:
    environment = {"MOCKSERVER_TICK_SECONDS": "0.2", **env}
    hosts = []
    try:
        for _ in range(count):
            host = LiveServer(
                workers=1, seed="none", extra_args=["--database", database_url], env=environment
            )
            hosts.append(host.start())
    except Exception:
        for host in hosts:
            host.stop()
        raise
    return hosts


@pytest.fixture(scope="module")
def shared_database(postgres_server):
    url = postgres_server.database()
    yield url
    postgres_server.drop(url)


@pytest.fixture(scope="module")
def hosts(shared_database):
    both = start_hosts(shared_database)
    yield [host.url for host in both]
    for host in both:
        host.stop()


@pytest.fixture
def world(hosts):
    """Reset and seed through the first host, clock frozen at START through the second."""
    first, second = hosts
    assert requests.post(f"{first}/_mock/reset?seed=none").status_code == 200
    reply = requests.post(f"{first}/_mock/seed", json=seed())
    assert reply.status_code == 201, reply.text
    assert requests.post(f"{second}/_mock/clock", json={"set": START}).status_code == 200
    return reply.json()["accounts"][0]["licenses"][0]["id"]


def _parallel(calls: list, work) -> list:
    sessions = threading.local()

    def run(call):
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        return work(sessions.session, call)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, calls))


def _all_pages(url: str, path: str) -> list[dict]:
    found, link = [], f"{url}{path}?page_size=200"
    while link:
        page = requests.get(link, headers=HEADERS, timeout=60).json()
        found += page["results"]
        link = page["next"]
    return found


def test_seed_clock_and_reset_through_one_host_hold_on_the_other(hosts, world):
    first, second = hosts
    for url in (first, second):
        listed = requests.get(f"{url}/v1/vision-alert/licenses/", headers=HEADERS)
        assert [row["id"] for row in listed.json()] == [world]
        assert requests.get(f"{url}/_mock/clock").json() == {"now": START, "frozen": True}
    moved = requests.post(f"{first}/_mock/clock", json={"advance": 3600}).json()
    assert moved["now"] == "2026-04-10T15:30:00Z"
    assert requests.get(f"{second}/_mock/clock").json()["now"] == "2026-04-10T15:30:00Z"
    # a read cached on the second host is not served after a write through the first
    path = f"{second}/v1/vision-alert/{world}/cameras/"
    assert requests.get(path, headers=HEADERS).json()["results"] == []
    reply = requests.post(
        f"{first}/v1/vision-alert/create-log/",
        headers=HEADERS,
        data={"camera_id": "NEW-CAM"},
        files={"upload": ("a.jpg", jpeg(3), "image/jpeg")},
    )
    assert reply.status_code == 200, reply.text
    serials = [camera["serial"] for camera in requests.get(path, headers=HEADERS).json()["results"]]
    assert serials == ["NEW-CAM"]
    assert requests.post(f"{second}/_mock/reset?seed=none").status_code == 200
    assert requests.get(f"{first}/v1/vision-alert/licenses/", headers=HEADERS).status_code == 401


def test_one_camera_48_uploads_across_hosts_exactly_one_accepted_per_window(hosts, world):
    per_window, windows, statuses = 48, 2, Counter()
    for window in range(windows):
        image = jpeg(window)

        def upload(session, number, image=image):
            reply = session.post(
                f"{hosts[number % 2]}/v1/vision-alert/create-log/",
                headers=HEADERS,
                data={"camera_id": "ONE-CAM"},
                files={"upload": ("snap.jpg", image, "image/jpeg")},
                timeout=60,
            )
            return reply.status_code, reply.json()

        results = _parallel(list(range(per_window)), upload)
        codes = Counter(status for status, _body in results)
        statuses.update(codes)
        assert codes[200] == 1 and codes[429] == per_window - 1, codes
        refused = {body["message"] for status, body in results if status == 429}
        assert refused == {"Camera already uploaded a log recently."}
        requests.post(f"{hosts[window % 2]}/_mock/clock", json={"advance": 900})
    logs = _all_pages(hosts[1], f"/v1/vision-alert/{world}/cameras/ONE-CAM/logs/")
    assert len(logs) == windows, logs
    print(f"\n[two hosts] one camera: {per_window * windows} uploads -> {dict(statuses)}")


def test_new_serials_racing_for_a_license_s_last_slot_across_hosts_take_exactly_it(hosts):
    """48 new serials at once through both hosts, for a license with one slot: one
    registered and accepted, the others refused (no slot taken twice)."""
    first, second = hosts
    assert requests.post(f"{first}/_mock/reset?seed=none").ok
    tight = seeds.world(
        seeds.account(TOKEN, products=["visionalert"], licenses=[seeds.license("LIC-1", size=1)])
    )
    assert requests.post(f"{first}/_mock/seed", json=tight).status_code == 201
    image = jpeg(5)

    def upload(session, number):
        reply = session.post(
            f"{hosts[number % 2]}/v1/vision-alert/create-log/",
            headers=HEADERS,
            data={"camera_id": f"RACE-{number:02d}"},
            files={"upload": ("snap.jpg", image, "image/jpeg")},
            timeout=60,
        )
        return reply.status_code

    assert Counter(_parallel(list(range(48)), upload)) == Counter({200: 1, 403: 47})
    license_id = requests.get(f"{second}/v1/vision-alert/licenses/", headers=HEADERS).json()[0]
    cameras = _all_pages(second, f"/v1/vision-alert/{license_id['id']}/cameras/")
    assert len(cameras) == 1


def test_an_account_s_throttle_lets_exactly_its_rate_through_across_hosts(hosts, world):
    """40 uploads of new serials at one frozen instant through both hosts, 5 per second
    allowed: exactly 5 pass the throttle (the history's row is taken in turns)."""
    limit = {"rate_limit_per_second": 5}
    assert requests.post(f"{hosts[0]}/_mock/accounts/{TOKEN}/rate-limit", json=limit).ok
    image = jpeg(6)

    def upload(session, number):
        return session.post(
            f"{hosts[number % 2]}/v1/vision-alert/create-log/",
            headers=HEADERS,
            data={"camera_id": f"THR-{number:02d}"},
            files={"upload": ("snap.jpg", image, "image/jpeg")},
            timeout=60,
        ).status_code

    assert Counter(_parallel(list(range(40)), upload)) == Counter({200: 5, 429: 35})


def test_a_change_through_one_host_applies_on_the_other_s_next_request(hosts, world):
    """Settings, account limits, faults and mutant switches are cached per host until the
    configuration's version moves: a change through one host is seen by the other at
    once, however warm its caches (uploads in between move the world, not that version)."""
    first, second = hosts
    path = f"{second}/v1/vision-alert/{world}/cameras/"

    def upload(serial: str, shade: int) -> int:
        return requests.post(
            f"{second}/v1/vision-alert/create-log/",
            headers=HEADERS,
            data={"camera_id": serial},
            files={"upload": ("a.jpg", jpeg(shade), "image/jpeg")},
            timeout=60,
        ).status_code

    assert [upload("CFG-CAM", 1), upload("CFG-CAM", 2)] == [200, 429]  # the window holds
    assert requests.get(path, headers=HEADERS).status_code == 200
    # a setting: no window from now on
    assert requests.post(f"{first}/_mock/settings", json={"camera_window": 0}).ok
    assert upload("CFG-CAM", 3) == 200
    # a fault, then none
    fault = {"match": {"path": "/v1/vision-alert/*"}, "action": {"type": "status", "status": 503}}
    assert requests.post(f"{first}/_mock/faults", json=fault).status_code == 201
    assert requests.get(path, headers=HEADERS).status_code == 503
    assert requests.delete(f"{first}/_mock/faults").ok
    assert requests.get(path, headers=HEADERS).status_code == 200
    # a mutant switched on, then off
    assert requests.get(path).status_code == 401
    assert requests.post(f"{first}/_mock/mutants", json={"active": ["ignored_auth"]}).ok
    assert requests.get(path).status_code == 200
    assert requests.post(f"{first}/_mock/mutants", json={"active": []}).ok
    assert requests.get(path).status_code == 401
    # an account's rate limit
    limit = {"rate_limit_per_second": 1}
    assert requests.post(f"{first}/_mock/accounts/{TOKEN}/rate-limit", json=limit).ok
    assert [upload("CFG-CAM", 4), upload("CFG-CAM", 5)] == [200, 429]


def test_120_sightings_across_hosts_one_visit_per_plate(hosts, world):
    image64 = base64.b64encode(jpeg(7)).decode()
    plates = [f"TWO{i:03d}" for i in range(40)]
    arrive = "2026-04-10 14:00:00.000000+0000"
    # every plate seen by both entrances and the spot camera, through both hosts at once
    calls = [(gate, plate) for plate in plates for gate in ("E1", "E2", "S1")]
    assert len(calls) == 120

    def sighting(session, call, counter=iter(range(10**6))):
        gate, plate = call
        reply = session.post(
            f"{hosts[next(counter) % 2]}/api/v1/log-vehicle/",
            headers=HEADERS,
            json={"camera": gate, "image": image64, "results": [{"plate": plate}], "time": arrive},
            timeout=60,
        )
        return reply.status_code

    assert Counter(_parallel(calls, sighting)) == Counter({200: 120})
    for url in hosts:
        visits = requests.get(
            f"{url}/api/v1/visit-list/",
            params={"start": "2026-04-10", "end": "2026-04-10"},
            headers=HEADERS,
        ).json()
        per_plate = Counter(visit["vehicle"]["license_plate"] for visit in visits)
        assert per_plate == Counter({plate: 1 for plate in plates}), per_plate


def test_fault_budget_is_consumed_exactly_once_across_hosts_and_journaled_on_both(hosts, world):
    first, second = hosts
    path = f"/v1/vision-alert/{world}/cameras/"
    reply = requests.post(
        f"{first}/_mock/faults",
        json={"match": {"path": path}, "action": {"type": "status", "status": 503}, "times": 5},
    )
    assert reply.status_code == 201, reply.text

    def read(session, number):
        return session.get(f"{hosts[number % 2]}{path}", headers=HEADERS, timeout=60).status_code

    codes = Counter(_parallel(list(range(40)), read))
    assert codes == Counter({503: 5, 200: 35}), codes
    # every request is in the journal, whichever host served it and whichever host reads
    for url in hosts:
        entries = requests.get(f"{url}/_mock/requests", params={"path": path, "limit": 1000}).json()
        entries = entries.get("requests", entries) if isinstance(entries, dict) else entries
        assert Counter(entry["status"] for entry in entries) == codes


class SlowFirstReceiver:
    """A webhook receiver on 127.0.0.1: the first POST is held ``hold`` seconds (longer than
    a claim lasts unless renewed) and answered 500, every later one 204 at once."""

    def __init__(self, hold: float) -> None:
        self.hits: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with receiver.lock:
                    receiver.hits.append(body["id"])
                    first = len(receiver.hits) == 1
                if first:
                    time.sleep(hold)
                self.send_response(500 if first else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_each_webhook_attempt_reaches_the_receiver_once_across_hosts(postgres_server):
    """Both hosts' ticks run due work; the first attempt's POST takes longer than a claim
    lasts without renewal. The receiver still gets each attempt exactly once."""
    url = postgres_server.database()
    receiver = SlowFirstReceiver(hold=12.0)
    servers = start_hosts(url, MOCKSERVER_WEBHOOK_TIMEOUT="60")
    first, second = (host.url for host in servers)
    try:
        reply = requests.post(f"{first}/_mock/seed", json=hook_seed(webhook=receiver.url))
        license_id = reply.json()["accounts"][0]["licenses"][0]["id"]
        requests.post(f"{second}/_mock/clock", json={"set": START})
        # the alert is emitted; its first attempt (500) and the retry 30 s later fall due
        raise_alert(requests, first, license_id, api_url=second)

        def webhook_records() -> list[tuple[int, int]]:
            found = requests.get(f"{second}/_mock/visionalert/deliveries").json()["deliveries"]
            return [(d["attempt"], d["status_code"]) for d in found if d["channel"] == "webhook"]

        deadline = time.monotonic() + 60
        while len(webhook_records()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a second sender, if there were one, would have arrived by now
        assert webhook_records() == [(2, 204), (1, 500)]
        assert len(receiver.hits) == 2 and len(set(receiver.hits)) == 1, receiver.hits
    finally:
        for host in servers:
            host.stop()
        receiver.close()
        postgres_server.drop(url)


def test_sigkill_one_host_the_survivor_keeps_every_write_and_runs_its_claimed_work(
    postgres_server,
):
    """Writers on both hosts; a webhook delivery hangs on the host whose tick claimed it
    when that host is SIGKILLed. Every acknowledged write is then visible through the
    survivor, and the survivor delivers the webhook once the dead host's claim lapses
    (its lease is no longer renewed: ``duework.CLAIM_SECONDS``, 10 s)."""
    url = postgres_server.database()
    receiver = HangingReceiver()
    first, second = start_hosts(url, MOCKSERVER_WEBHOOK_TIMEOUT="60")
    acked: dict[str, list[str]] = {"vehicle": [], "upload": []}
    stop = threading.Event()
    try:
        session = requests.Session()
        reply = session.post(f"{first.url}/_mock/seed", json=hook_seed(webhook=receiver.url))
        license_id = reply.json()["accounts"][0]["licenses"][0]["id"]
        session.post(f"{first.url}/_mock/clock", json={"set": START})
        token = {"Authorization": "Token tok-hard"}

        def writer(index: int) -> None:
            own = requests.Session()
            number = 0
            while not stop.is_set():
                number += 1
                target = (first.url, second.url)[(index + number) % 2]
                key = f"K{index}X{number:04d}"
                try:
                    if number % 2:
                        reply = own.post(
                            f"{target}/api/v1/create-vehicle/",
                            headers=token,
                            json={"license_plate": key},
                            timeout=30,
                        )
                        kind = "vehicle"
                    else:
                        reply = own.post(
                            f"{target}/v1/vision-alert/create-log/",
                            headers=token,
                            data={"camera_id": key},
                            files={"upload": ("a.jpg", hook_jpeg(number % 200), "image/jpeg")},
                            timeout=30,
                        )
                        kind = "upload"
                except requests.RequestException:
                    continue  # the killed host: the write was never acknowledged
                assert reply.status_code < 500, reply.text
                if 200 <= reply.status_code < 300:
                    acked[kind].append(key)

        writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for thread in writers:
            thread.start()
        # an alert whose webhook delivery the first host's tick claims and hangs in
        raise_alert(session, first.url, license_id)
        assert receiver.arrived.wait(30), "the webhook never reached the receiver"
        time.sleep(0.5)
        # either host's tick may have claimed the delivery: kill the one holding it
        holder = _holding_connection((first, second), receiver.url)
        survivor = second if holder is first else first
        holder.kill()  # SIGKILL: its delivery is in flight, writers still sending
        killed_at = sum(len(keys) for keys in acked.values())
        receiver.release.set()  # from now on the receiver answers at once
        time.sleep(1.0)
        stop.set()
        for thread in writers:
            thread.join(timeout=60)

        deadline, delivered = time.monotonic() + 20, []
        while not delivered and time.monotonic() < deadline:
            found = requests.get(f"{survivor.url}/_mock/visionalert/deliveries").json()
            found = found.get("deliveries", found) if isinstance(found, dict) else found
            delivered = [d for d in found if d["channel"] == "webhook" and d["ok"]]
            time.sleep(0.1)
        assert delivered, "the survivor did not run the delivery the killed host had claimed"
        assert receiver.hits >= 2  # the killed attempt, then the survivor's

        with psycopg.connect(url) as conn:  # ParkPow has no vehicle list to read them with
            plates = {row[0] for row in conn.execute("SELECT license_plate FROM pp_vehicles")}
        assert set(acked["vehicle"]) <= plates, set(acked["vehicle"]) - plates
        requests.post(f"{survivor.url}/_mock/clock", json={"advance": 60})
        logged = {
            log["camera_serial"]
            for log in _pages(survivor.url, f"/v1/vision-alert/{license_id}/logs/", token)
        }
        assert set(acked["upload"]) <= logged, set(acked["upload"]) - logged
        print(
            f"\n[two hosts] SIGKILL after {killed_at} acknowledged writes; "
            f"{len(acked['vehicle'])} vehicles, {len(acked['upload'])} uploads acknowledged, "
            f"all present via the survivor; webhook attempts {receiver.hits}"
        )
    finally:
        stop.set()
        first.stop()
        second.stop()
        receiver.close()
        postgres_server.drop(url)


def _pages(url: str, path: str, headers: dict) -> list[dict]:
    found, link = [], f"{url}{path}?page_size=200"
    while link:
        page = requests.get(link, headers=headers, timeout=60).json()
        found += page["results"]
        link = page["next"]
    return found


def _holding_connection(hosts, receiver_url: str):
    """The host one of whose processes has a connection open to the receiver."""
    import psutil

    port = urlsplit(receiver_url).port
    for host in hosts:
        root = psutil.Process(host.process.pid)
        for process in [root, *root.children(recursive=True)]:
            for conn in process.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == port:
                    return host
    raise AssertionError("no host holds a connection to the webhook receiver")
