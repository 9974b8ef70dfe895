"""A cassette: the exchanges of one recording, in a folder a person can read.

::

    run1/
      cassette.json      {"format": 1, "upstreams": [...]}: what was recorded
      exchanges.jsonl    one exchange a line, in the order the requests arrived
      bodies/<sha256>    uploaded files and other binary bodies, by the hash of their bytes

An exchange is ``{"seq", "time", "elapsed_ms", "request": {"method", "path", "query",
"headers", "body"}, "response": {"status", "headers", "body"}}``; ``time`` is the instant
the request was sent (ISO 8601, UTC), ``query`` a list of ``[name, value]`` pairs in the
client's order. A body is ``null`` (empty), ``{"json": value}``, ``{"text": str}``,
``{"file": {"sha256", "size", "content_type"}}`` or, for a multipart form, ``{"multipart":
[part, ...]}`` where a part is ``{"name", "value"}`` or ``{"name", "filename",
"content_type", "sha256", "size"}``. Only the headers that matter to a client are kept
(``KEPT_REQUEST_HEADERS``, ``KEPT_REPLY_HEADERS``), and no secret (``redaction``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

from .redaction import Redactor

FORMAT = 1
KEPT_REQUEST_HEADERS = ("content-type", "accept", "authorization")
KEPT_REPLY_HEADERS = (
    "content-type",
    "retry-after",
    "www-authenticate",
    "allow",
    "location",
    "access-control-allow-origin",
)
JSON_TYPES = ("application/json", "+json")
#: bodies kept as text (redacted) when they are not JSON; any other is kept as a file
TEXT_TYPES = ("application/x-www-form-urlencoded", "application/xml")


class Cassette:
    """A cassette folder, read or written."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.bodies = self.folder / "bodies"
        self._lock = threading.Lock()

    # -- writing ------------------------------------------------------------------------------

    def create(self, upstreams: list[str]) -> Cassette:
        self.bodies.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "upstreams": upstreams}
        (self.folder / "cassette.json").write_text(json.dumps(meta, indent=2) + "\n")
        (self.folder / "exchanges.jsonl").write_text("")
        return self

    def append(self, exchange: dict) -> None:
        line = json.dumps(exchange, ensure_ascii=False, sort_keys=True)
        with self._lock, open(self.folder / "exchanges.jsonl", "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def store_bytes(self, content: bytes) -> str:
        digest = sha256(content)
        target = self.bodies / digest
        if not target.exists():
            self.bodies.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(f".{threading.get_ident()}.part")
            temporary.write_bytes(content)
            os.replace(temporary, target)
        return digest

    # -- reading ------------------------------------------------------------------------------

    def meta(self) -> dict:
        return json.loads((self.folder / "cassette.json").read_text())

    def exchanges(self) -> list[dict]:
        path = self.folder / "exchanges.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"{self.folder} holds no cassette (exchanges.jsonl)")
        found = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        return sorted(found, key=lambda exchange: exchange["seq"])

    def read_bytes(self, digest: str) -> bytes:
        return (self.bodies / digest).read_bytes()

    def files(self) -> Iterator[Path]:
        return (path for path in self.folder.rglob("*") if path.is_file())


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(content_type: str) -> bool:
    return content_type.startswith(JSON_TYPES[0]) or content_type.endswith(JSON_TYPES[1])


def kept_headers(headers, kept: tuple[str, ...], redactor: Redactor) -> dict[str, str]:
    """The headers that matter, lower-cased, their secrets redacted."""
    return {
        name.lower(): redactor.header(name, value)
        for name, value in headers
        if name.lower() in kept
    }


def encode_body(
    content: bytes, content_type: str, store: Callable[[bytes], str], redactor: Redactor
) -> dict | None:
    """A body as the cassette keeps it (see the module docstring); ``store`` keeps a
    file's bytes and returns their hash (``Cassette.store_bytes``, or ``sha256`` only)."""
    if not content:
        return None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        parts = multipart_parts(content, content_type)
        if parts is not None:
            return {"multipart": [_part(part, store, redactor) for part in parts]}
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return {"file": _file(content, kind, store, redactor)}
    try:
        return {"json": redactor.json(json.loads(text))}
    except ValueError:
        pass
    if kind.startswith("text/") or kind in TEXT_TYPES or (not kind and text.isprintable()):
        return {"text": redactor.text(text)}
    return {"file": _file(content, kind, store, redactor)}


def multipart_parts(content: bytes, content_type: str) -> list[dict] | None:
    """A multipart form's parts: ``{"name", "filename", "content_type", "content"}``."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + content)
    if not message.is_multipart():
        return None
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            return None
        parts.append(
            {
                "name": name,
                "filename": part.get_filename(),
                "content_type": part.get_content_type() if part.get("content-type") else None,
                "content": part.get_payload(decode=True) or b"",
            }
        )
    return parts


def _part(part: dict, store: Callable[[bytes], str], redactor: Redactor) -> dict:
    if part["filename"] is None:
        try:
            return {
                "name": part["name"],
                "value": redactor.field(part["name"], part["content"].decode()),
            }
        except UnicodeDecodeError:
            pass
    stored = _file(part["content"], part["content_type"], store, redactor)
    return {"name": part["name"], "filename": part["filename"], **stored}


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _file(content: bytes, content_type: str | None, store, redactor: Redactor) -> dict:
    for secret, placeholder in redactor.secret_bytes():  # a secret is never written down
        content = content.replace(secret, placeholder)
    digest = store(content)
    return {"sha256": digest, "size": len(content), "content_type": content_type}


def decode_body(body: dict | None, cassette: Cassette) -> tuple[bytes, str | None]:
    """A recorded request body as bytes to send again, with its content type (a multipart
    form gets a fresh boundary)."""
    if not body:
        return b"", None
    if "json" in body:
        return json.dumps(body["json"]).encode(), None
    if "text" in body:
        return body["text"].encode(), None
    if "file" in body:
        return cassette.read_bytes(body["file"]["sha256"]), body["file"]["content_type"]
    boundary = "parity-" + hashlib.sha256(json.dumps(body).encode()).hexdigest()[:24]
    chunks = []
    for part in body["multipart"]:
        disposition = f'form-data; name="{part["name"]}"'
        if "sha256" in part:
            disposition += f'; filename="{part.get("filename") or part["name"]}"'
            content = cassette.read_bytes(part["sha256"])
            kind = part.get("content_type") or "application/octet-stream"
            head = f"Content-Disposition: {disposition}\r\nContent-Type: {kind}\r\n"
        else:
            content = part["value"].encode()
            head = f"Content-Disposition: {disposition}\r\n"
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
