"""A real S3 endpoint for the tests, started by the suite itself: moto's server mode on
127.0.0.1 (HTTP, a free port), reached through boto3 as any S3-compatible store is. Each
test takes a bucket of its own (``S3.bucket()``)."""

from __future__ import annotations

import itertools
import os
import socket

import pytest

#: what boto3 reads from the environment; moto accepts any credentials
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "mockserver-test",
    "AWS_SECRET_ACCESS_KEY": "mockserver-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self._names = itertools.count(1)
        self.client = self._client()

    def _client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def bucket(self) -> str:
        """A fresh bucket name (the emulator creates the bucket itself)."""
        return f"media-{os.getpid()}-{next(self._names)}"

    def keys(self, bucket: str) -> list[str]:
        """Every object key in the bucket (none when the bucket does not exist)."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        except self.client.exceptions.NoSuchBucket:
            return []

    def sizes(self, bucket: str) -> dict[str, int]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture(scope="session")
def s3_server():
    """The S3 endpoint, with the AWS variables boto3 reads set for this process (and the
    servers it starts)."""
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    server = S3()
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class SlowLink:
    """A TCP relay on 127.0.0.1 in front of ``endpoint`` that holds each request for
    ``delay`` seconds before passing it on: a distant or loaded object store, with the real
    endpoint behind it (a request is the client's first bytes after an answer)."""

    def __init__(self, endpoint: str, delay: float) -> None:
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(endpoint)
        self.target = (target.hostname, target.port)
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while not self._closed.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            answered = threading.Event()
            answered.set()
            threading.Thread(target=self._pipe, args=(client, upstream, answered, True)).start()
            threading.Thread(target=self._pipe, args=(upstream, client, answered, False)).start()

    def _pipe(self, source, sink, answered, request: bool) -> None:
        import time

        try:
            while chunk := source.recv(65536):
                if request and answered.is_set():
                    answered.clear()
                    time.sleep(self.delay)
                elif not request:
                    answered.set()
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._closed.set()
        self._listener.close()
