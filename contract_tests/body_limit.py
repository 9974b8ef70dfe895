"""The upload limit at its boundary (PRODUCT.md §4.1): a create-log of exactly the limit is
accepted, one byte more is 413 with the DRF shape.

The body at the limit is a real upload (a camera frame and the form's fields) padded with a
file part of zeros to the exact size. The body one byte over is the same form behind a
``Content-Length``, its padding produced only as the server reads it: the limit is judged from that
header before the body is read, so the server need not read it at all. The limit is the
documented default (10 MiB) unless the run says otherwise
(``MOCKSERVER_CONTRACT_UPLOAD_LIMIT``).
"""

from __future__ import annotations

from . import images
from . import target as target_module
from .model import expect
from .rules import LEDGER
from .server_clock import Clock, control, stamp, unthrottled

CREATE_LOG = "/v1/vision-alert/create-log/"
CHECK = "body_at_the_limit"
RULES = ("upload.body_limit",)
TOO_LARGE = {"detail": "Request body is larger than the upload limit."}
BOUNDARY = "contract-body-limit"


class Form:
    """A create-log form of ``size`` bytes whose padding file part is made as it is read:
    the whole body never exists at once, and a server that reads it finds a valid upload
    (so only the limit can refuse it)."""

    def __init__(self, size: int, serial: str) -> None:
        self.head = (
            _part("camera_id", serial.encode())
            + _part("upload", images.frames()[2], "f.jpg")
            + _head("padding", "padding.bin")
        )
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.zeros = size - len(self.head) - len(self.tail)
        if self.zeros < 0:
            raise ValueError(f"an upload limit of {size} bytes leaves no room for a frame")
        self.size, self.position = size, 0

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return self.head + bytes(self.zeros) + self.tail

    def read(self, wanted: int = -1) -> bytes:
        left = self.size - self.position
        count = left if wanted is None or wanted < 0 else min(wanted, left)
        start, self.position = self.position, self.position + count
        zeros_end = len(self.head) + self.zeros
        head = self.head[start : start + count]
        zeros = max(0, min(start + count, zeros_end) - max(start, len(self.head)))
        tail = self.tail[max(0, start - zeros_end) : max(0, start + count - zeros_end)]
        return head + bytes(zeros) + tail

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self.position, self.size)[whence]
        self.position = min(max(base + offset, 0), self.size)
        return self.position


def _head(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if filename:
        head += "Content-Type: application/octet-stream\r\n"
    return head.encode() + b"\r\n"


def _part(name: str, content: bytes, filename: str | None = None) -> bytes:
    return _head(name, filename) + content + b"\r\n"


def body_at_the_limit(target) -> None:
    clock = control(target, RULES)
    try:
        with unthrottled(target):
            _body_at_the_limit(target, clock)
    finally:
        clock.release()


def _body_at_the_limit(target, clock: Clock) -> None:
    limit = target.options.upload_limit
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    serial = f"limit-{stamp(clock.now)}"
    at = target.http("POST", CREATE_LOG, headers=headers, data=bytes(Form(limit, serial)))
    asked = f"create-log of exactly the upload limit ({limit} bytes)"
    expect("upload.body_limit", asked, (200, {"message": "Log created successfully."}),
           (at.status_code, at.json()))  # fmt: skip
    target_module.CREATED.add(serial)
    LEDGER.exercise("upload.body_limit", CHECK)
    over = target.http("POST", CREATE_LOG, headers=headers, data=Form(limit + 1, f"{serial}-over"))
    asked = f"create-log one byte over the upload limit ({limit + 1} bytes)"
    expect("upload.body_limit", asked, (413, TOO_LARGE), (over.status_code, over.json()))
    LEDGER.exercise("upload.body_limit", CHECK)
