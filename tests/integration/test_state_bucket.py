"""The state bucket and the S3 backend as synthesized, against an S3 server on 127.0.0.1.

The server is ``moto`` (its ``moto_server``): a stand-in for DigitalOcean Spaces, which cannot be reached
here; it speaks the same S3 API, conditional writes included. What runs against it:

* ``ensure_state_bucket`` creates a missing bucket with versioning on, turns versioning on for an existing
  one, and is a no-op the second time;
* OpenTofu with prod layer1's synthesized ``backend "s3"`` block (only the endpoint, the bucket and
  path-style addressing adapted to the stand-in) and prod's encryption block applies a small
  configuration: the state object is written with server-side encryption and holds ciphertext only, a
  second apply leaves two versions, and while one run holds the lock (``use_lockfile``) another is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_infra.cli import app as cli_app
from sprocket_infra.ops.object_store import Bucket
from sprocket_infra.ops.state_bucket import ensure_state_bucket
from tests.conftest import Stacks
from tests.e2e.engine import require_tools
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tools.e2e_tools import BIN, CLI_CONFIG

pytestmark = pytest.mark.integration

PASSPHRASE = "integration-state-passphrase-42"
TOFU_TIMEOUT_S = 600


@pytest.fixture
def endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    server = ServerProcess(
        argv=[str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        log=tmp_path / "moto.log",
    )
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with running(server):
        wait_until(lambda: port_open("127.0.0.1", port), timeout_s=30, what="moto S3 server")
        yield f"http://127.0.0.1:{port}"


def test_a_missing_bucket_is_created_versioned(endpoint: str) -> None:
    bucket = Bucket(name="sprocket-terraform-state", endpoint_url=endpoint)
    first = ensure_state_bucket(bucket)
    assert (first.created, first.versioning) == (True, "Enabled")
    again = ensure_state_bucket(bucket)
    assert (again.created, again.versioning) == (False, "Enabled")


def test_an_existing_bucket_gets_versioning(endpoint: str) -> None:
    bucket = Bucket(name="made-by-hand", endpoint_url=endpoint)
    bucket.client().create_bucket(Bucket=bucket.name)
    assert "Status" not in bucket.client().get_bucket_versioning(Bucket=bucket.name)
    assert ensure_state_bucket(bucket).versioning == "Enabled"


def test_cli_refuses_an_environment_with_local_state() -> None:
    result = CliRunner().invoke(cli_app, ["state", "bucket", "--env", "local"])
    assert result.exit_code == 1
    assert "state.kind: expected 's3'" in result.output


def _stack_dir(tmp_path: Path, stacks: Stacks, endpoint: str, bucket: str) -> Path:
    """prod layer1's terraform block (backend and encryption) over one random_password."""
    terraform: dict[str, Any] = json.loads(json.dumps(stacks["layer1"]["terraform"]))
    backend = terraform["backend"]["s3"]
    assert backend["use_lockfile"] is True
    assert backend["encrypt"] is True
    backend |= {"endpoints": {"s3": endpoint}, "bucket": bucket, "use_path_style": True}
    document = {
        "terraform": {
            "backend": terraform["backend"],
            "encryption": terraform["encryption"],
            "required_providers": {"random": {"source": "hashicorp/random", "version": "3.9.0"}},
        },
        "variable": {"state_passphrase": stacks["layer1"]["variable"]["state_passphrase"]},
        "resource": {"random_password": {"canary": {"length": 32, "special": False}}},
    }
    directory = tmp_path / "stack"
    directory.mkdir()
    (directory / "main.tf.json").write_text(json.dumps(document))
    return directory


def _tofu(directory: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(directory),
        "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
        "TF_VAR_state_passphrase": PASSPHRASE,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "NO_PROXY": "127.0.0.1",
    }
    result = subprocess.run(
        [str(BIN / "tofu"), *args, "-no-color"],
        cwd=directory, env=env, capture_output=True, text=True, timeout=TOFU_TIMEOUT_S, check=False,
    )  # fmt: skip
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.e2e  # needs the OpenTofu `make e2e-tools` builds
def test_opentofu_writes_locked_encrypted_versioned_state(
    endpoint: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    require_tools()
    stacks = synth_stacks("prod")
    bucket = Bucket(name="sprocket-terraform-state", endpoint_url=endpoint)
    ensure_state_bucket(bucket)
    key = stacks["layer1"]["terraform"]["backend"]["s3"]["key"]
    directory = _stack_dir(tmp_path, stacks, endpoint, bucket.name)
    _tofu(directory, "init", "-input=false")
    _tofu(directory, "apply", "-auto-approve", "-input=false")
    client = bucket.client()
    head = client.head_object(Bucket=bucket.name, Key=key)
    assert head.get("ServerSideEncryption") == "AES256"
    stored = client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    shown = json.loads(_tofu(directory, "show", "-json").stdout)
    (resource,) = shown["values"]["root_module"]["resources"]
    canary = resource["values"]["result"]
    assert len(canary) == 32
    assert canary.encode() not in stored
    assert PASSPHRASE.encode() not in stored
    assert "resources" not in json.loads(stored)

    _tofu(directory, "apply", "-auto-approve", "-input=false", "-replace=random_password.canary")
    versions = client.list_object_versions(Bucket=bucket.name, Prefix=key)["Versions"]
    assert len([version for version in versions if version["Key"] == key]) == 2

    lock = f"{key}.tflock"
    client.put_object(Bucket=bucket.name, Key=lock, Body=b'{"ID": "held-by-another-deploy"}')
    refused = _tofu(directory, "plan", "-input=false", "-lock-timeout=0s", ok=False)
    assert refused.returncode != 0
    assert "lock" in (refused.stdout + refused.stderr).lower()
    client.delete_object(Bucket=bucket.name, Key=lock)
    _tofu(directory, "plan", "-input=false", "-lock-timeout=0s")
