"""Named Docker volumes to a gzipped tar and back, through the Engine API alone.

Docker reads and writes a container's filesystem, mounted volumes included, even when the container never
runs (``GET``/``PUT /containers/{id}/archive``), so a backup needs no running task, no image registry and
no shell on the node: a tiny image is imported from an in-memory tar (one empty ``/data`` directory and
nothing to execute), a container of it is *created* with the volume mounted at ``/data``, the archive is
copied, and the container is removed. The services that own the data (Grafana, n8n, Neo4j, InfluxDB) are
not stopped; scale a service to 0 first when it must be a crash-consistent copy (docs/runbook.md).

Restores go into an empty volume only (the disaster-recovery case: a new node, a lost disk); a volume
that holds data is refused, since the Engine API can add files but not delete them.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sprocket_infra.ops.docker_api import DockerApiError, DockerClient, Sink

HELPER_IMAGE = "sprocket-volume-io:1"
"""Imported locally by :func:`_helper_image`; never pulled, never run."""
MOUNT = "/data"
ARCHIVE_ROOT = MOUNT.strip("/")
"""Docker's archive of ``/data`` has every entry below ``data/``."""


class VolumeBackupError(RuntimeError):
    """A backup or restore could not be done; the message names the volume and the step."""


@dataclass(frozen=True, kw_only=True)
class VolumeArchive:
    path: Path
    size_bytes: int
    entries: int
    seconds: float


def _helper_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(ARCHIVE_ROOT)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    return buffer.getvalue()


def _helper_image(docker: DockerClient) -> None:
    status, _ = docker.request("GET", f"/images/{HELPER_IMAGE}/json")
    if status == 200:
        return
    repo, tag = HELPER_IMAGE.split(":")
    status, body = docker.request(
        "POST",
        "/images/create",
        query={"fromSrc": "-", "repo": repo, "tag": tag},
        body=_helper_tar(),
        content_type="application/x-tar",
    )
    if status != 200 or b'"error"' in body:
        raise VolumeBackupError(f"importing {HELPER_IMAGE}: {status} {body[-300:].decode(errors='replace')}")


@contextmanager
def _volume_container(docker: DockerClient, volume: str, *, read_only: bool) -> Iterator[str]:
    """A created (never started) container with ``volume`` at ``/data``; removed however the block ends."""
    try:
        docker.volume(volume)
    except DockerApiError as error:
        raise VolumeBackupError(f"volume {volume}: {error}") from None
    _helper_image(docker)
    spec = {
        "Image": HELPER_IMAGE,
        "Cmd": ["/never-run"],
        "Labels": {"sprocket.volume-io": volume},
        "HostConfig": {
            "Mounts": [{"Type": "volume", "Source": volume, "Target": MOUNT, "ReadOnly": read_only}]
        },
    }
    created = docker.json("POST", "/containers/create", body=json.dumps(spec).encode())
    container = str(created["Id"])
    try:
        yield container
    finally:
        docker.request("DELETE", f"/containers/{container}", query={"force": "true"})


def _archive(docker: DockerClient, container: str, sink: Sink) -> None:
    """Copy the tar of ``/data`` into ``sink`` in chunks (a volume may be far larger than memory)."""
    status, body = docker.download(f"/containers/{container}/archive", sink, query={"path": MOUNT})
    if status != 200:
        raise VolumeBackupError(f"reading {MOUNT}: {status} {body[:300].decode(errors='replace')}")


def backup_volume(docker: DockerClient, volume: str, out: Path) -> VolumeArchive:
    """Write ``volume``'s files to ``out`` as ``.tar.gz`` (0600, renamed into place when complete)."""
    started = time.monotonic()
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as sink,
            _volume_container(docker, volume, read_only=True) as container,
        ):
            _archive(docker, container, sink)
        with tarfile.open(partial, "r:gz") as check:
            entries = len(check.getmembers())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    return VolumeArchive(
        path=out, size_bytes=out.stat().st_size, entries=entries, seconds=time.monotonic() - started
    )


def _is_empty(docker: DockerClient, container: str) -> bool:
    buffer = io.BytesIO()
    _archive(docker, container, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:") as tar:
        return all(member.name.rstrip("/") == ARCHIVE_ROOT for member in tar.getmembers())


def _checked_tar(source: Path, scratch: Path) -> Path:
    """Decompress ``source`` and refuse entries outside ``data/`` (absolute, ``..``, links out)."""
    plain = scratch / "restore.tar"
    try:
        with gzip.open(source, "rb") as packed, plain.open("wb") as sink:
            shutil.copyfileobj(packed, sink)
        with tarfile.open(plain, "r:") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if not parts or parts[0] != ARCHIVE_ROOT or ".." in parts or member.name.startswith("/"):
                    raise VolumeBackupError(f"{source}: entry {member.name!r} is outside {ARCHIVE_ROOT}/")
                if (member.issym() or member.islnk()) and (
                    member.linkname.startswith("/") or ".." in Path(member.linkname).parts
                ):
                    raise VolumeBackupError(f"{source}: link {member.name!r} points outside the volume")
    except (OSError, EOFError, tarfile.TarError) as error:
        raise VolumeBackupError(f"{source}: not a volume backup (.tar.gz): {error}") from None
    return plain


def restore_volume(docker: DockerClient, volume: str, source: Path) -> float:
    """Unpack the backup ``source`` into ``volume``; returns the seconds it took.

    The volume must exist (the stacks create it) and be empty: the Engine API can add files to a volume
    but not remove them, so restoring over old data would leave a mix of both.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sprocket-restore-") as scratch:
        plain = _checked_tar(source, Path(scratch))
        with _volume_container(docker, volume, read_only=False) as container:
            if not _is_empty(docker, container):
                raise VolumeBackupError(
                    f"volume {volume} is not empty: scale its service to 0, `docker volume rm {volume}`, "
                    "redeploy the stack (it recreates the volume empty), then restore"
                )
            status, body = docker.request(
                "PUT",
                f"/containers/{container}/archive",
                query={"path": "/"},
                body=plain.read_bytes(),
                content_type="application/x-tar",
            )
            if status != 200:
                raise VolumeBackupError(
                    f"writing into {volume}: {status} {body[:300].decode(errors='replace')}"
                )
    return time.monotonic() - started
