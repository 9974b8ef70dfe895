"""What a cassette keeps of a secret: a placeholder for a token, ``<redacted>`` for
anything that looks like a credential; nothing else changes."""

from __future__ import annotations

from mockserver.parity.cassette import Cassette, decode_body, encode_body
from mockserver.parity.redaction import REDACTED, Redactor


def test_a_token_becomes_the_same_placeholder_wherever_it_appears():
    redactor = Redactor()
    assert redactor.header("Authorization", "Token s3cret-key") == "Token <token-1>"
    assert redactor.header("Authorization", "Bearer other-key") == "Bearer <token-2>"
    assert redactor.text("a=1&b=s3cret-key") == "a=1&b=<token-1>"
    assert redactor.json({"alerts": [{"token": "s3cret-key", "n": 1}]}) == {
        "alerts": [{"token": "<token-1>", "n": 1}]
    }


def test_credential_looking_values_are_redacted_even_unknown():
    redactor = Redactor()
    assert redactor.text("page=2&api_key=abc&password=x") == (
        f"page=2&api_key={REDACTED}&password={REDACTED}"
    )
    assert redactor.json({"webhook_url": "https://me:pw@hooks.example/x", "name": "pwd-less"}) == {
        "webhook_url": f"https://me:{REDACTED}@hooks.example/x",
        "name": "pwd-less",
    }
    assert redactor.json({"client_secret": "zzz"}) == {"client_secret": REDACTED}
    assert redactor.header("X-Api-Key", "zzz") == REDACTED
    assert redactor.header("Content-Type", "application/json") == "application/json"


def test_a_json_string_is_not_read_as_a_form():
    """A base64 image in JSON may contain ``token=``-like text: it stays as it is."""
    redactor = Redactor()
    image = "QUJDdG9rZW49eHl6=="
    assert redactor.json({"image": image}) == {"image": image}


def test_a_multipart_upload_keeps_its_file_by_hash_and_comes_back_whole(tmp_path):
    cassette = Cassette(tmp_path).create(["http://up"])
    redactor = Redactor({"tok-1234": "<token-1>"})
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="camera_id"\r\n\r\nC1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff\xd8 bytes tok-1234 \xff\xd9"
        + f"\r\n--{boundary}--\r\n".encode()
    )

    kept = encode_body(
        body, f"multipart/form-data; boundary={boundary}", cassette.store_bytes, redactor
    )

    camera, upload = kept["multipart"]
    assert camera == {"name": "camera_id", "value": "C1"}
    assert (upload["name"], upload["filename"], upload["content_type"]) == (
        "upload",
        "a.jpg",
        "image/jpeg",
    )
    stored = cassette.read_bytes(upload["sha256"])
    assert stored == b"\xff\xd8 bytes <token-1> \xff\xd9"  # not even inside a file
    again, content_type = decode_body(kept, cassette)
    assert content_type.startswith("multipart/form-data; boundary=")
    assert stored in again and b'name="camera_id"\r\n\r\nC1' in again
