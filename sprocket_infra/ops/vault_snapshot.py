"""Vault raft snapshots: take one to a file, restore one into a (possibly brand-new) cluster.

Environments whose Vault uses integrated raft storage (``local``, ``lan``) keep everything in one raft
log, and the server's own snapshot API is the consistent way to copy it: a copy of the data directory
taken while the server runs is not. A snapshot holds the data still encrypted by the barrier, so it is
only useful together with the unseal keys of the cluster it was taken from; those live on the node
(``VAULT_KEYS_DIR``) and are backed up separately. Restoring into a freshly initialized cluster needs
``force``: the new cluster's keys do not match the snapshot, which the server refuses unless told.

Snapshot files are written with mode 0600 and renamed into place only once complete, so an interrupted
backup never leaves a truncated file that looks like a good one.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import hvac

from sprocket_infra.vault.client import VaultOperationError, vault_errors

CHUNK_BYTES = 1 << 16


@dataclass(frozen=True, kw_only=True)
class SnapshotFile:
    path: Path
    size_bytes: int
    sha256: str
    seconds: float


def save_snapshot(client: hvac.Client, out: Path) -> SnapshotFile:
    """Stream a raft snapshot from ``client``'s Vault into ``out`` (0600, atomic)."""
    started = time.monotonic()
    partial = out.with_name(f".{out.name}.partial")
    digest = hashlib.sha256()
    size = 0
    try:
        out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise VaultOperationError(
            f"taking a raft snapshot: cannot create {out.parent}: {error.strerror}"
        ) from None
    with vault_errors("taking a raft snapshot", client.url):
        response = client.sys.take_raft_snapshot()
        if response.status_code != 200:
            raise VaultOperationError(f"taking a raft snapshot: Vault answered {response.status_code}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as sink:
                for chunk in response.iter_content(CHUNK_BYTES):
                    sink.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                sink.flush()
                os.fsync(sink.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if size == 0:
        partial.unlink(missing_ok=True)
        raise VaultOperationError("taking a raft snapshot: Vault sent an empty snapshot")
    partial.replace(out)
    return SnapshotFile(
        path=out, size_bytes=size, sha256=digest.hexdigest(), seconds=time.monotonic() - started
    )


def restore_snapshot(client: hvac.Client, source: Path, *, force: bool) -> float:
    """Install the snapshot in ``source``; returns the seconds the server took.

    ``force`` restores a snapshot of another cluster (a disaster recovery into a new one); without it the
    server refuses a snapshot whose keys differ from its own, which protects a healthy cluster from a
    restore aimed at the wrong one.
    """
    try:
        data = source.read_bytes()
    except OSError as error:
        raise VaultOperationError(
            f"restoring a raft snapshot: cannot read {source}: {error.strerror}"
        ) from None
    started = time.monotonic()
    with vault_errors("restoring a raft snapshot", client.url):
        response = (
            client.sys.force_restore_raft_snapshot(data) if force else client.sys.restore_raft_snapshot(data)
        )
        if response.status_code not in (200, 204):
            raise VaultOperationError(f"restoring a raft snapshot: Vault answered {response.status_code}")
    return time.monotonic() - started
