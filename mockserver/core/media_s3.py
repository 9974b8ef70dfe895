"""Media bytes in an S3-compatible object store (AWS S3, MinIO, Ceph): ``--media
s3://bucket/prefix``, so hosts of a shared world need no shared filesystem and the
database carries no image bytes.

One object per content, ``<prefix>/<sha256>``. The endpoint comes from
``MOCKSERVER_S3_ENDPOINT`` (or boto3's own ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``;
none: AWS), credentials and region from the standard AWS variables and files. A missing
bucket is created at start-up, so a fresh MinIO needs no set-up step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from .errors import Detail
from .media import Blobs

UNAVAILABLE = "The image store is unavailable; try again."

#: requests in flight per process (boto3's pool; uploads run on several threads)
POOL = 32


def parse_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix) of ``s3://bucket/prefix``; ``ValueError`` saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3Objects(Blobs):
    """Content as objects of one bucket under one prefix (one prefix per world: a reset and
    the start-up sweep act on every object under it)."""

    #: a HEAD is a round trip like the PUT: content is written without asking (the same
    #: bytes under the same key; uploads rarely repeat bytes)
    cheap_exists = False

    def __init__(self, url: str, endpoint: str = "") -> None:
        self.bucket, self.prefix = parse_url(url)
        self.endpoint = endpoint or None
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        """One boto3 client per process, made on first use (thread-safe; after a fork)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self):
        import boto3
        from botocore.config import Config

        config = Config(
            max_pool_connections=POOL,
            connect_timeout=5,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 4},
            # MinIO and Ceph serve buckets by path; AWS serves both
            s3={"addressing_style": "path" if self.endpoint else "auto"},
        )
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint, config=config)

    def prepare(self) -> None:
        """The bucket exists afterwards (created when missing)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if _status(error) != 404:
                raise
            region = self.client.meta.region_name
            options = {}
            if region and region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                self.client.create_bucket(Bucket=self.bucket, **options)
            except ClientError as again:  # another host made it first
                if _code(again) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def key(self, sha256: str) -> str:
        return self.prefix + sha256

    def get(self, sha256: str) -> bytes | None:
        with _reachable(missing=True) as found:
            reply = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
            found.append(reply["Body"].read())
        return found[0] if found else None

    def put(self, sha256: str, content: bytes) -> None:
        with _reachable():
            self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=content)

    def exists(self, sha256: str) -> bool:
        with _reachable(missing=True) as found:
            found.append(self.client.head_object(Bucket=self.bucket, Key=self.key(sha256)))
        return bool(found)

    def delete(self, sha256: str) -> None:
        with _reachable():
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def delete_many(self, hashes: list[str]) -> None:
        keys = [{"Key": self.key(sha)} for sha in hashes]
        with _reachable():
            for start in range(0, len(keys), 1000):  # the most one request deletes
                self._delete_many(keys[start : start + 1000])

    def listing(self) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if "/" not in name:
                    yield name, item["LastModified"].timestamp()

    def bytes_used(self) -> int:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        return sum(item["Size"] for page in pages for item in page.get("Contents", []))

    def wipe(self) -> None:
        batch: list[dict] = []
        for sha, _modified in self.listing():
            batch.append({"Key": self.key(sha)})
            if len(batch) == 1000:  # the most one request deletes
                self._delete_many(batch)
                batch = []
        if batch:
            self._delete_many(batch)

    def _delete_many(self, keys: list[dict]) -> None:
        self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})


@contextmanager
def _reachable(missing: bool = False):
    """An unreachable or failing store is a 503 the client may retry (what it was doing
    changed nothing: a transaction it was part of rolls back); with ``missing``, a 404
    leaves the yielded list empty instead of raising."""
    from botocore.exceptions import BotoCoreError, ClientError

    found: list = []
    try:
        yield found
    except ClientError as error:
        status = _status(error) or 500
        if missing and status == 404:
            return
        if status >= 500:
            raise Detail(UNAVAILABLE, 503, {"Retry-After": "1"}) from error
        raise
    except BotoCoreError as error:  # connection refused, timeouts
        raise Detail(UNAVAILABLE, 503, {"Retry-After": "1"}) from error


def _status(error) -> int | None:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _code(error) -> str:
    return error.response.get("Error", {}).get("Code", "")
