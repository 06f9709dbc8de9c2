"""Backups in an S3-compatible bucket (DigitalOcean Spaces in prod): upload, fetch, keep the newest N.

Objects are named ``<prefix>/<UTC time>.<suffix>`` so that name order is time order and retention needs
no metadata: :func:`prune` keeps the newest ``keep`` objects below a prefix and deletes the rest.
Credentials come from the usual AWS variables (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``; for
Spaces, the Spaces key pair), never from options. boto3 is imported only when a bucket is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class ObjectStoreError(RuntimeError):
    """The bucket could not be reached or refused the request; the message names bucket and key."""


@dataclass(frozen=True, kw_only=True)
class Bucket:
    name: str
    endpoint_url: str | None = None
    """S3 API endpoint, e.g. ``https://nyc3.digitaloceanspaces.com``. Left out: AWS's own."""
    region: str = "us-east-1"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)


def backup_key(prefix: str, suffix: str, now: datetime | None = None) -> str:
    """``<prefix>/<YYYYmmddTHHMMSSZ>.<suffix>``: sortable by name, one per second at most."""
    moment = (now or datetime.now(tz=UTC)).astimezone(UTC)
    return f"{prefix.strip('/')}/{moment:%Y%m%dT%H%M%SZ}.{suffix}"


@contextmanager
def _errors(action: str, bucket: Bucket, key: str) -> Iterator[None]:
    """boto3's exceptions as one :class:`ObjectStoreError` line naming the object (never credentials)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ObjectStoreError(f"{action} s3://{bucket.name}/{key}: {code}") from None
    except BotoCoreError as error:
        raise ObjectStoreError(f"{action} s3://{bucket.name}/{key}: {error}") from None


def upload(bucket: Bucket, source: Path, key: str) -> None:
    with _errors("uploading to", bucket, key):
        bucket.client().upload_file(str(source), bucket.name, key)


def download(bucket: Bucket, key: str, target: Path) -> None:
    with _errors("downloading", bucket, key):
        bucket.client().download_file(bucket.name, key, str(target))


def keys(bucket: Bucket, prefix: str) -> list[str]:
    """Every key below ``prefix/``, oldest first (names sort by time)."""
    found: list[str] = []
    with _errors("listing", bucket, f"{prefix}/"):
        paginator = bucket.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket.name, Prefix=f"{prefix.strip('/')}/"):
            found.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(found)


def latest(bucket: Bucket, prefix: str) -> str:
    found = keys(bucket, prefix)
    if not found:
        raise ObjectStoreError(f"no backup below s3://{bucket.name}/{prefix.strip('/')}/")
    return found[-1]


def prune(bucket: Bucket, prefix: str, *, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` backups below ``prefix``; returns the deleted keys."""
    if keep < 1:
        raise ValueError(f"--keep {keep}: expected at least 1 (the backup just taken)")
    old = keys(bucket, prefix)[:-keep]
    client = bucket.client()
    for key in old:
        with _errors("deleting", bucket, key):
            client.delete_object(Bucket=bucket.name, Key=key)
    return old
