"""Disaster recovery of Vault, exercised: snapshot a real OpenBao holding secrets, destroy it, restore the
snapshot into a brand-new one and read the secrets back.

Both servers are single-node raft OpenBao started by the shipped entrypoint (``init-unseal.sh serve``),
as in production for ``local`` and ``lan``. The new server initializes itself with keys of its own; the
snapshot is restored with ``force`` (it comes from another cluster), after which the data, the root token
and the unseal keys are the old cluster's: the runbook's step of putting the old keys file back on the
node and restarting the entrypoint is done here too. The restore's duration is printed, for the DR drill
figures in docs/runbook.md.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import hvac
import pytest
from typer.testing import CliRunner

from sprocket_infra.cli import app as cli_app
from sprocket_infra.ops.vault_snapshot import restore_snapshot, save_snapshot
from sprocket_infra.vault.client import VaultOperationError
from tests.integration.openbao import BaoNode, running_entrypoint
from tests.integration.openbao_dev import local_client

pytestmark = pytest.mark.integration

SECRETS = {f"app-{index}": {"password": f"value-{index}", "user": f"user-{index}"} for index in range(20)}
MOUNT = "secret-dr"


def _client(node: BaoNode) -> hvac.Client:
    return local_client(node.addr, node.root_token())


def _write_secrets(client: hvac.Client) -> None:
    client.sys.enable_secrets_engine("kv", path=MOUNT, options={"version": "2"})
    for path, data in SECRETS.items():
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point=MOUNT)


def _read_secrets(client: hvac.Client) -> dict[str, dict[str, str]]:
    return {
        path: client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=MOUNT, raise_on_deleted_version=True
        )["data"]["data"]
        for path in SECRETS
    }


def _cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_snapshot_destroy_restore_into_a_new_server_reads_the_secrets(tmp_path: Path) -> None:
    old = BaoNode(tmp_path / "old")
    with running_entrypoint(old.serve()):
        old.wait_unsealed()
        old.wait_active()
        _write_secrets(_client(old))
        backup = _cli("backup", "vault", "--vault-addr", old.addr, "--vault-token", old.root_token(),
                      "--out", str(tmp_path / "backup" / "vault.snap"), "--json")  # fmt: skip
    snapshot = Path(backup["location"])
    assert backup["bytes"] == snapshot.stat().st_size > 0
    assert snapshot.stat().st_mode & 0o777 == 0o600
    # What survives the disaster: the snapshot file and the old node's keys (kept apart from the data).
    kept_keys = tmp_path / "kept-keys"
    shutil.copytree(old.keys_dir, kept_keys)
    shutil.rmtree(old.root)

    new = BaoNode(tmp_path / "new")
    started = time.monotonic()
    with running_entrypoint(new.serve()):
        new.wait_unsealed()
        new.wait_active()
        restored = _cli("restore", "vault", "--vault-addr", new.addr, "--vault-token", new.root_token(),
                        "--from", str(snapshot), "--force", "--yes", "--json")  # fmt: skip
        print(f"\nvault restore: the server applied the snapshot in {restored['seconds']:.2f} s")
    # The node now holds the old cluster's data and seals itself: its own keys no longer open it.
    shutil.rmtree(new.keys_dir)
    shutil.copytree(kept_keys, new.keys_dir)
    with running_entrypoint(new.serve()):
        new.wait_unsealed()
        new.wait_active()
        assert _read_secrets(_client(new)) == SECRETS
        total_s = time.monotonic() - started
    print(f"vault DR drill: new server to secrets readable in {total_s:.1f} s ({backup['bytes']} bytes)")


def test_restore_of_another_clusters_snapshot_is_refused_without_force(tmp_path: Path) -> None:
    first, second = BaoNode(tmp_path / "a"), BaoNode(tmp_path / "b")
    with running_entrypoint(first.serve()):
        first.wait_unsealed()
        first.wait_active()
        snapshot = save_snapshot(_client(first), tmp_path / "a.snap")
    with running_entrypoint(second.serve()):
        second.wait_unsealed()
        second.wait_active()
        with pytest.raises(VaultOperationError, match="restoring a raft snapshot"):
            restore_snapshot(_client(second), snapshot.path, force=False)
        refused = CliRunner().invoke(
            cli_app,
            ["restore", "vault", "--vault-addr", second.addr, "--vault-token", second.root_token(),
             "--from", str(snapshot.path), "--yes"],
        )  # fmt: skip
        assert refused.exit_code == 1
        assert refused.output.startswith("error: restoring a raft snapshot"), refused.output
        assert second.root_token() not in refused.output
