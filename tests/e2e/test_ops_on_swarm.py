"""Operator commands against the private Swarm's real dockerd: volume backup round trip, replica checks.

* A named volume is filled (through the Engine API: no image can be pulled here, so nothing runs), backed
  up to ``.tar.gz``, uploaded to an S3 bucket with retention, destroyed, recreated empty, restored from the
  bucket's newest backup, and read back file for file. The bucket is a ``moto`` server on 127.0.0.1: a
  local stand-in for DigitalOcean Spaces, which cannot be reached here; moto speaks the same S3 API.
* ``verify``'s Swarm check reads the real engine: a service whose image cannot be pulled stays at 0/1
  and fails; one scaled to 0 passes; one the stacks declare but Swarm lacks is "not deployed".

Everything the tests create (volumes, services, the helper image) is removed again, so the deploy drills
that share this Swarm find it as they left it.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_infra.cli import app as cli_app
from sprocket_infra.ops.backups import backup_prefix
from sprocket_infra.ops.docker_api import DockerClient
from sprocket_infra.ops.expected import ExpectedService
from sprocket_infra.ops.object_store import Bucket, backup_key, keys, upload
from sprocket_infra.ops.verify import swarm_checks
from sprocket_infra.ops.volume_backup import HELPER_IMAGE, VolumeBackupError, backup_volume, restore_volume
from tests.e2e.swarm import Swarm
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until

pytestmark = pytest.mark.e2e

VOLUME = "sprocket-e2e-grafana-data"
FILES = {
    "grafana.db": os.urandom(200_000),
    "plugins/README": b"plugins go here\n",
    "csv/empty.csv": b"",
}


def _seed_tar() -> Path:
    """What a Grafana volume might hold, as the ``data/``-rooted tar the restore takes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in FILES.items():
            info = tarfile.TarInfo(f"data/{name}")
            info.size = len(data)
            info.mode = 0o640
            info.uid = info.gid = 472  # Grafana's user
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("data/current.db")
        link.type = tarfile.SYMTYPE
        link.linkname = "grafana.db"
        tar.addfile(link)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"seed-{os.getpid()}.tar.gz"
    path.write_bytes(buffer.getvalue())
    return path


def _contents(archive: Path) -> dict[str, tuple[bytes | str, int, int]]:
    found: dict[str, tuple[bytes | str, int, int]] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                found[member.name] = (extracted.read(), member.mode & 0o777, member.uid)
            elif member.issym():
                found[member.name] = (f"-> {member.linkname}", 0, member.uid)
    return found


@pytest.fixture
def docker(swarm: Swarm) -> Iterator[DockerClient]:
    yield DockerClient(host=swarm.host, timeout_s=30)
    for name in (VOLUME,):
        if name in swarm.names("volume"):
            swarm.docker("volume", "rm", "--force", name)
    if swarm.docker("image", "ls", "--quiet", HELPER_IMAGE).strip():
        swarm.docker("image", "rm", "--force", HELPER_IMAGE)


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    port = free_port()
    server = ServerProcess(
        argv=[str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        log=tmp_path / "moto.log",
    )
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(key, value)
    with running(server):
        wait_until(lambda: port_open("127.0.0.1", port), timeout_s=30, what="moto S3 server")
        target = Bucket(name="sprocket-backups-e2e", endpoint_url=f"http://127.0.0.1:{port}")
        target.client().create_bucket(Bucket=target.name)
        yield target


def test_volume_backup_to_a_bucket_and_restore_into_a_new_volume(
    swarm: Swarm, docker: DockerClient, bucket: Bucket, tmp_path: Path
) -> None:
    swarm.docker("volume", "create", VOLUME)
    restore_volume(docker, VOLUME, _seed_tar())
    expected = _contents(_seed_tar())

    first = backup_volume(docker, VOLUME, tmp_path / "first.tar.gz")
    assert {k: v for k, v in _contents(first.path).items() if k in expected} == expected
    assert first.path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(VolumeBackupError, match="is not empty"):
        restore_volume(docker, VOLUME, first.path)

    # Two older backups in the bucket, then one by the CLI with a retention of two: the oldest goes.
    prefix = backup_prefix("volumes", "e2e", VOLUME)
    older = [backup_key(prefix, "tar.gz", now=_at(second)) for second in range(2)]
    for key in older:
        upload(bucket, first.path, key)
    s3 = ["--bucket", bucket.name, "--endpoint-url", str(bucket.endpoint_url), "--env", "e2e"]
    taken = _cli("backup", "volume", VOLUME, "--docker-host", swarm.host, *s3, "--keep", "2", "--json")
    assert taken["pruned"] == older[:1]
    assert keys(bucket, prefix) == [older[1], taken["location"].removeprefix(f"s3://{bucket.name}/")]

    swarm.docker("volume", "rm", VOLUME)  # the disaster
    swarm.docker("volume", "create", VOLUME)  # what the redeploy creates
    restored = _cli("restore", "volume", VOLUME, "--docker-host", swarm.host, *s3, "--json")
    restore_s = restored["seconds"]
    again = backup_volume(docker, VOLUME, tmp_path / "again.tar.gz")
    assert _contents(again.path) == _contents(first.path)
    print(f"\nvolume DR drill: {first.size_bytes} B, backup {first.seconds:.2f} s, restore {restore_s:.2f} s")


def _cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _at(second: int) -> datetime:
    return datetime(2026, 1, 1, 3, 0, second, tzinfo=UTC)


def test_restore_refuses_an_archive_reaching_outside_the_volume(
    swarm: Swarm, docker: DockerClient, tmp_path: Path
) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("data/../etc/passwd")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    swarm.docker("volume", "create", VOLUME)
    with pytest.raises(VolumeBackupError, match="outside data/"):
        restore_volume(docker, VOLUME, evil)


def test_swarm_check_sees_zero_of_one_on_the_real_engine(swarm: Swarm, docker: DockerClient) -> None:
    pending, idle = "sprocket-e2e-pending", "sprocket-e2e-idle"
    image = "registry.invalid/sprocket/never:1"
    swarm.docker("service", "create", "--detach", "--no-resolve-image", "--name", pending, image)
    swarm.docker(
        "service", "create", "--detach", "--no-resolve-image", "--replicas", "0", "--name", idle, image
    )
    try:
        # Swarm schedules the task at once; it stays unstarted because the image cannot be pulled.
        wait_until(
            lambda: bool(swarm.docker("service", "ps", "--quiet", pending).strip()),
            timeout_s=60,
            what=f"a task of {pending}",
        )
        declared = [
            ExpectedService(stack="platform", name=pending, replicas=1),
            ExpectedService(stack="platform", name=idle, replicas=0),
            ExpectedService(stack="platform", name="sprocket-e2e-absent", replicas=1),
        ]
        results = {r.name: (r.outcome.value, r.detail) for r in swarm_checks(declared, docker)}
    finally:
        swarm.docker("service", "rm", pending, idle)
    assert results == {
        pending: ("fail", "0/1 running"),
        idle: ("ok", "0/0 running"),
        "sprocket-e2e-absent": ("fail", "not deployed"),
    }
