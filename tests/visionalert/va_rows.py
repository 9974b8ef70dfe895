"""Test setup for the VisionAlert read API: seed accounts, put logs and alerts in place.

Logs and alerts are written straight into the store (what processing and alerting
would write), so the read API is tested on exact instants without the upload path.
"""

from __future__ import annotations

import json

from mockserver.core.timefmt import parse_instant
from mockserver.testkit import seeds
from mockserver.visionalert import schema

from ..conftest import auth
from ..images import solid

VA = "/v1/vision-alert"


def seed_account(client, token: str, licenses: list[dict]) -> dict[str, int]:
    """One VisionAlert account; returns license code -> id."""
    reply = client.post(
        "/_mock/seed",
        json=seeds.world(seeds.account(token, products=["visionalert"], licenses=licenses)),
    )
    assert reply.status_code == 201, reply.json
    return {lic["code"]: lic["id"] for lic in reply.json["accounts"][0]["licenses"]}


def set_clock(client, instant: str) -> None:
    assert client.post("/_mock/clock", json={"set": instant}).status_code == 200


def world(app):
    return app.extensions["mockserver"]


def image_bytes(color=(30, 120, 200), size=(64, 48), fmt="PNG") -> bytes:
    return solid(size, color, fmt)


def store_media(app, content: bytes, kind: str = "camera_snapshot") -> int:
    emu = world(app)
    sha = emu.media.write_file(content)
    content_type = "image/png" if content[:4] == b"\x89PNG" else "image/jpeg"
    return emu.store.transact(
        lambda conn: emu.media.add(conn, sha, len(content), content_type, kind, 0)
    )


def camera_id(app, license_id: int, serial: str) -> int:
    cam = schema.va_cameras.c

    def read(conn):
        return conn.execute(
            schema.va_cameras.select()
            .with_only_columns(cam.id)
            .where(cam.license_id == license_id, cam.serial == serial)
        ).scalar_one()

    return world(app).store.query(read)


def insert_log(
    app,
    license_id: int,
    serial: str,
    created: str | int,
    status: str = "normal",
    anomalies: dict | None = None,
    snapshot_id: int | None = None,
) -> int:
    """One processed log, as processing writes it; also the camera's latest status."""
    cid = camera_id(app, license_id, serial)
    created_us = created if isinstance(created, int) else parse_instant(created)

    def work(conn):
        log_id = conn.execute(
            schema.va_logs.insert().values(
                license_id=license_id,
                camera_id=cid,
                status=status,
                anomalies=json.dumps(anomalies or {}),
                snapshot_id=snapshot_id,
                created_us=created_us,
            )
        ).inserted_primary_key[0]
        conn.execute(
            schema.va_cameras.update()
            .where(schema.va_cameras.c.id == cid)
            .values(latest_status=status)
        )
        return log_id

    return world(app).store.transact(work)


def insert_logs(app, license_id: int, rows: list[tuple[str, int, str]]) -> list[int]:
    """Many logs in one transaction: (serial, created_us, status) each."""
    ids = {}
    for serial in {serial for serial, _, _ in rows}:
        ids[serial] = camera_id(app, license_id, serial)

    def work(conn):
        out = []
        for serial, created_us, status in rows:
            out.append(
                conn.execute(
                    schema.va_logs.insert().values(
                        license_id=license_id,
                        camera_id=ids[serial],
                        status=status,
                        created_us=created_us,
                    )
                ).inserted_primary_key[0]
            )
        return out

    return world(app).store.transact(work)


def insert_alert(
    app,
    license_id: int,
    created: str,
    cameras: list[dict],
    sent: bool = False,
    emitted: bool = True,
) -> int:
    """One alert with its cameras (serial, name, status, anomalies, snapshot_id, reference_id)."""
    created_us = parse_instant(created)

    def work(conn):
        alert_id = conn.execute(
            schema.va_alerts.insert().values(
                license_id=license_id,
                sent=sent,
                emitted=emitted,
                opened_us=created_us,
                created_us=created_us,
            )
        ).inserted_primary_key[0]
        for camera in cameras:
            conn.execute(
                schema.va_alert_cameras.insert().values(
                    alert_id=alert_id,
                    serial=camera["serial"],
                    name=camera.get("name", camera["serial"]),
                    status=camera.get("status", "Anomaly"),
                    anomalies=json.dumps(camera.get("anomalies", {})),
                    snapshot_id=camera.get("snapshot_id"),
                    reference_media_id=camera.get("reference_id"),
                )
            )
        return alert_id

    return world(app).store.transact(work)


def get(client, path: str, token: str = "tok-a", **kwargs):
    return client.get(path, headers=auth(token), **kwargs)


def relative(url: str) -> str:
    """A ``next``/``previous`` URL made relative for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def walk(client, url: str, token: str = "tok-a") -> list[dict]:
    """Every page from ``url`` following ``next``."""
    pages = []
    while url:
        reply = get(client, relative(url) if "://" in url else url, token)
        assert reply.status_code == 200, reply.json
        pages.append(reply.json)
        url = reply.json["next"]
    return pages
