"""Media in an S3-compatible object store (``--media s3://bucket/prefix``), against a real
S3 endpoint over HTTP: an upload's bytes are an object, its URL is the emulator's own and
serves them, a delete removes the object once no row names it, and two hosts on one
PostgreSQL database share the objects."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from mockserver.cli import main

from ..conftest import BOTH_BACKENDS, auth
from ..images import noise
from ..visionalert.va_rows import VA, relative, seed_account, set_clock


@pytest.fixture
def bucket(s3_server):
    return s3_server.bucket()


@pytest.fixture
def s3_app(make_app, s3_server, bucket):
    return make_app(media_url=f"s3://{bucket}/world-1", s3_endpoint=s3_server.endpoint)


def upload(client, serial: str, content: bytes):
    return client.post(
        f"{VA}/create-log/",
        headers=auth("tok-a"),
        data={"camera_id": serial, "upload": (io.BytesIO(content), "frame.jpg")},
        content_type="multipart/form-data",
    )


def seed(client) -> int:
    set_clock(client, "2026-04-10T14:00:00Z")
    return seed_account(client, "tok-a", [{"code": "LIC-A", "size": 10}])["LIC-A"]


def snapshot_urls(client, lic: int) -> list[str]:
    assert client.post("/_mock/clock", json={"advance": 60}).status_code == 200
    reply = client.get(f"{VA}/{lic}/logs/", headers=auth("tok-a"))
    assert reply.status_code == 200, reply.json
    return [log["snapshot"] for log in reply.json["results"]]


@BOTH_BACKENDS
def test_an_upload_is_an_object_served_at_the_emulators_own_url(s3_app, s3_server, bucket):
    client = s3_app.test_client()
    lic = seed(client)
    frame = noise(480, 270, seed=1)
    assert upload(client, "CAM-1", frame).status_code == 200
    [url] = snapshot_urls(client, lic)
    assert "/media/camera_snapshot/" in url and bucket not in url
    image = client.get(relative(url))
    assert image.status_code == 200 and image.data == frame
    assert image.headers["Content-Type"] == "image/jpeg"
    keys = s3_server.keys(bucket)
    assert len(keys) == 1 and keys[0].startswith("world-1/")

    reply = client.delete(f"{VA}/{lic}/cameras/CAM-1/", headers=auth("tok-a"))
    assert reply.status_code == 204
    assert s3_server.keys(bucket) == [], "no row names the bytes: the object goes"
    assert client.get(relative(url)).status_code == 404


@BOTH_BACKENDS
def test_an_object_named_by_another_row_stays(s3_app, s3_server, bucket):
    client = s3_app.test_client()
    lic = seed(client)
    frame = noise(480, 270, seed=2)
    assert upload(client, "CAM-1", frame).status_code == 200
    assert upload(client, "CAM-2", frame).status_code == 200  # the same bytes, one object
    assert len(s3_server.keys(bucket)) == 1
    assert client.delete(f"{VA}/{lic}/cameras/CAM-1/", headers=auth("tok-a")).status_code == 204
    [url] = snapshot_urls(client, lic)
    assert client.get(relative(url)).data == frame
    assert len(s3_server.keys(bucket)) == 1


@BOTH_BACKENDS
def test_a_reset_empties_the_prefix(s3_app, s3_server, bucket):
    client = s3_app.test_client()
    seed(client)
    assert upload(client, "CAM-1", noise(480, 270, seed=3)).status_code == 200
    assert s3_server.keys(bucket)
    assert client.post("/_mock/reset").status_code in (200, 204)
    assert s3_server.keys(bucket) == []


def test_two_hosts_on_one_database_see_the_same_media(
    make_app,
    postgres_server,
    s3_server,
    bucket,
):
    database_url = postgres_server.database()
    media = {"media_url": f"s3://{bucket}/shared", "s3_endpoint": s3_server.endpoint}
    one = make_app(database_url=database_url, **media).test_client()
    two = make_app(database_url=database_url, **media).test_client()
    lic = seed(one)
    frames = [noise(480, 270, seed=10 + n) for n in range(2)]
    assert upload(one, "CAM-1", frames[0]).status_code == 200
    assert upload(two, "CAM-2", frames[1]).status_code == 200
    urls = snapshot_urls(one, lic)
    assert sorted(two.get(relative(url)).data for url in urls) == sorted(frames)
    assert sorted(one.get(relative(url)).data for url in urls) == sorted(frames)
    assert two.delete(f"{VA}/{lic}/cameras/CAM-1/", headers=auth("tok-a")).status_code == 204
    assert len(s3_server.keys(bucket)) == 1


@pytest.mark.parametrize(
    "media, message",
    [
        ("ftp://host/dir", "unsupported media location"),
        ("file://relative/dir", "file:///absolute/path"),
        ("s3:///no-bucket", "not an s3://bucket/prefix URL"),
        ("database", "give --database too"),
    ],
)
def test_a_bad_media_location_is_refused_at_start(media, message):
    result = CliRunner().invoke(main, ["serve", "--ephemeral", "--media", media])
    assert result.exit_code == 2 and message in result.output


def test_bytes_in_the_database_when_asked(make_app, postgres_server):
    """``--media database``: the bytes are a ``media_content`` row, gone with the last
    row naming them."""
    from sqlalchemy import func, select

    from mockserver.core import schema

    app = make_app(database_url=postgres_server.database(), media_url="database")
    client = app.test_client()
    lic = seed(client)
    frame = noise(480, 270, seed=4)
    assert upload(client, "CAM-1", frame).status_code == 200
    [url] = snapshot_urls(client, lic)
    assert client.get(relative(url)).data == frame
    store = app.extensions["mockserver"].store

    def contents() -> int:
        count = select(func.count()).select_from(schema.media_content)
        return store.query(lambda conn: conn.execute(count).scalar_one())

    assert contents() == 1
    assert client.delete(f"{VA}/{lic}/cameras/CAM-1/", headers=auth("tok-a")).status_code == 204
    assert contents() == 0


def test_an_unreachable_store_is_a_503_that_changes_nothing(make_app, s3_server):
    """The object store goes away: an upload answers 503 (retry later), and no log is
    left behind."""
    from ..s3_server import S3

    store = S3()
    app = make_app(media_url=f"s3://{store.bucket()}/w", s3_endpoint=store.endpoint)
    client = app.test_client()
    lic = seed(client)
    store.stop()
    reply = upload(client, "CAM-1", noise(480, 270, seed=5))
    assert reply.status_code == 503, reply.json
    assert reply.json == {"detail": "The image store is unavailable; try again."}
    assert snapshot_urls(client, lic) == []


@BOTH_BACKENDS
def test_the_metrics_count_the_objects_bytes(s3_app):
    """The scrape's stored-images gauge is the bucket's bytes, whichever store names them."""
    client = s3_app.test_client()
    seed(client)
    frame = noise(480, 270, seed=9)
    assert upload(client, "CAM-1", frame).status_code == 200
    reply = client.get("/_mock/metrics")
    assert reply.status_code == 200
    [line] = [x for x in reply.text.splitlines() if x.startswith("mockserver_media_bytes ")]
    assert float(line.split()[1]) == len(frame)
