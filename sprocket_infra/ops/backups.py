"""Where a backup goes and where a restore reads from: a local file, or the newest object in a bucket.

The backup commands produce a local file first (a snapshot, a volume archive); :func:`deliver` keeps it
at ``out`` or uploads it below ``<kind>/<environment>/<name>/`` and applies retention. :func:`fetch` is the
way back. Prefixes come from :func:`backup_prefix`, so backup and restore can never disagree on them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sprocket_infra.ops.object_store import Bucket, backup_key, download, latest, prune, upload


@dataclass(frozen=True, kw_only=True)
class Delivered:
    location: str
    """The file path or ``s3://bucket/key`` the backup now lives at."""
    pruned: tuple[str, ...] = ()


def backup_prefix(kind: str, environment: str, name: str) -> str:
    """``vault/prod/raft``, ``volumes/prod/grafana-data``: one prefix per thing backed up."""
    return f"{kind}/{environment}/{name}"


def require_one(first: object | None, second: object | None, *, flags: str, purpose: str) -> None:
    """Exactly one of two options; checked before anything is read or written."""
    if (first is None) == (second is None):
        raise ValueError(f"say where the backup {purpose}: exactly one of {flags}")


def deliver(
    produced: Path, *, out: Path | None, bucket: Bucket | None, prefix: str, suffix: str, keep: int
) -> Delivered:
    require_one(out, bucket, flags="--out or --bucket", purpose="goes")
    if out is not None:
        if produced != out:
            shutil.move(produced, out)
        return Delivered(location=str(out))
    assert bucket is not None
    key = backup_key(prefix, suffix)
    upload(bucket, produced, key)
    pruned = prune(bucket, prefix, keep=keep)
    return Delivered(location=f"s3://{bucket.name}/{key}", pruned=tuple(pruned))


def fetch(source: Path | None, *, bucket: Bucket | None, prefix: str, key: str | None, scratch: Path) -> Path:
    """The backup to restore: ``source`` itself, or ``key`` (default: the newest below ``prefix``)."""
    require_one(source, bucket, flags="--from or --bucket", purpose="comes from")
    if source is not None:
        return source
    assert bucket is not None
    chosen = key or latest(bucket, prefix)
    target = scratch / Path(chosen).name
    download(bucket, chosen, target)
    return target
