"""An acknowledged upload's image always resolves, even when the delete of the last row
naming the same bytes races it (the interleavings are driven at the media store's seams)."""

from __future__ import annotations

import io
import threading

import pytest

from ..conftest import BOTH_BACKENDS, auth
from .va_rows import VA, get, image_bytes, relative, seed_account, set_clock, world

pytestmark = BOTH_BACKENDS

PNG = image_bytes((200, 40, 90), fmt="PNG")


@pytest.fixture
def lic(client):
    set_clock(client, "2026-04-10T14:00:00Z")
    cameras = [{"serial": "C1", "name": "Front"}, {"serial": "C2", "name": "Back"}]
    return seed_account(client, "tok-a", [{"code": "LIC-A", "cameras": cameras}])["LIC-A"]


def post_reference(client, lic, serial):
    return client.post(
        f"{VA}/{lic}/cameras/{serial}/reference/",
        headers=auth("tok-a"),
        data={"upload": (io.BytesIO(PNG), "ref.png")},
        content_type="multipart/form-data",
    )


def delete_camera(client, lic, serial):
    assert client.delete(f"{VA}/{lic}/cameras/{serial}/", headers=auth("tok-a")).status_code == 204


def assert_reference_resolves(client, lic, serial):
    url = get(client, f"{VA}/{lic}/cameras/{serial}/reference/").json["reference_image"]
    image = client.get(relative(url))
    assert image.status_code == 200, "an acknowledged upload's image is gone"
    assert image.data == PNG


def test_delete_between_an_upload_writing_its_bytes_and_committing(app, client, lic):
    """The upload finds the bytes already stored and skips writing them; the delete of the
    only row naming them commits and removes them; then the upload commits its row."""
    assert post_reference(client, lic, "C1").status_code == 201
    media = world(app).media
    write_file = media.write_file

    def then_delete(content):
        sha = write_file(content)
        if content == PNG:
            delete_camera(client, lic, "C1")  # the last row naming these bytes goes
        return sha

    media.write_file = then_delete
    try:
        assert post_reference(client, lic, "C2").status_code == 201
    finally:
        media.write_file = write_file
    assert_reference_resolves(client, lic, "C2")


def test_upload_between_a_delete_committing_and_removing_the_bytes(app, client, lic):
    """The delete commits and finds the bytes unnamed; an upload of the same bytes commits;
    then the delete goes on to remove what it found unnamed."""
    assert post_reference(client, lic, "C1").status_code == 201
    media = world(app).media
    remove_files = media.remove_files
    uploaded: list[int] = []

    def upload_first(hashes):
        media.remove_files = remove_files  # once: the upload's own call goes straight on
        uploaded.append(post_reference(client, lic, "C2").status_code)
        return remove_files(hashes)

    media.remove_files = upload_first
    try:
        delete_camera(client, lic, "C1")
    finally:
        media.remove_files = remove_files
    assert uploaded == [201]
    assert_reference_resolves(client, lic, "C2")


def test_delete_overlapping_the_upload_transaction(app, client, lic):
    """The upload's transaction has found its bytes and waits; the delete of the only row
    naming them runs meanwhile (PostgreSQL: it commits; SQLite: it waits for the writer
    turn); then the upload commits."""
    assert post_reference(client, lic, "C1").status_code == 201
    media = world(app).media
    ensure = media.ensure
    deleted: list[int] = []
    done = threading.Event()

    def delete_c1() -> None:
        reply = app.test_client().delete(f"{VA}/{lic}/cameras/C1/", headers=auth("tok-a"))
        deleted.append(reply.status_code)
        done.set()

    worker = threading.Thread(target=delete_c1)

    def ensure_then_wait(conn, sha, content):
        ensure(conn, sha, content)
        if content == PNG and not worker.is_alive() and not done.is_set():
            worker.start()
            done.wait(3)

    media.ensure = ensure_then_wait
    try:
        assert post_reference(client, lic, "C2").status_code == 201
    finally:
        media.ensure = ensure
    worker.join(20)
    assert deleted == [204]
    assert_reference_resolves(client, lic, "C2")
