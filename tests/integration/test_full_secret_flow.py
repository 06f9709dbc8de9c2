"""The whole secret path on a persistent OpenBao, as production runs it, across a restart.

Our entrypoint script initializes and unseals a raft-backed OpenBao; ``sprocket-infra vault apply``
creates the mounts and policies; ``sprocket-infra secrets bootstrap`` writes the external secrets; a token
holding only the platform policy reads them. Then the server is stopped, started again on the same
storage, unsealed again by the script, and the same token still reads the same values, while a second
bootstrap finds nothing to change. No value may appear in any output or log along the way.

It runs the shipped ``lan`` environment: besides the usual manual secrets its manifest holds the external
PostgreSQL server's hand-made passwords, whose paths are outside ``manual/``, one of them the platform's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.access import Access, vault_access
from tests.integration.openbao import BaoNode
from tests.integration.openbao_dev import local_client
from tests.integration.processes import running, wait_until

pytestmark = pytest.mark.integration

ENV = "lan"
CLI = Path(sys.executable).parent / "sprocket-infra"
_CLEARED = ("VAULT_ADDR", "VAULT_TOKEN", "BAO_ADDR", "BAO_TOKEN", "SPROCKET_ENV", "SPROCKET_CONFIG_DIR")
MANIFEST = external_secrets(ENV)
PLATFORM_READS = [
    ref
    for ref in MANIFEST.values()
    if vault_access(ENV).platform_policy.allows(ref.mount, ref.path, Access.READ)
]
"""What the platform's token is meant to read: its mount's share and its database password."""


def _cli(
    node: BaoNode, token: str, *args: str, extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    names = {*_CLEARED, *MANIFEST.env_vars}
    env = {key: value for key, value in os.environ.items() if key not in names}
    env.update(
        {
            "VAULT_ADDR": node.addr,
            "VAULT_TOKEN": token,
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
            **(extra or {}),
        }
    )
    return subprocess.run(
        [str(CLI), *args, "--env", ENV], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _kv_ready(client: hvac.Client, mount: str) -> bool:
    """A fresh KV v2 mount upgrades its storage in the background; until then requests fail with 400."""
    try:
        client.secrets.kv.v2.read_secret_version(
            path="readiness-probe", mount_point=mount, raise_on_deleted_version=True
        )
    except hvac.exceptions.InvalidPath:
        return True
    except hvac.exceptions.VaultError:
        return False
    return True


def _read_platform_values(reader: hvac.Client) -> dict[str, str]:
    values = {}
    for ref in PLATFORM_READS:
        read = reader.secrets.kv.v2.read_secret_version(
            path=ref.path, mount_point=ref.mount.path, raise_on_deleted_version=True
        )
        values[ref.env_var] = read["data"]["data"][ref.key]
    return values


def test_unseal_apply_bootstrap_read_restart_read(tmp_path: Path) -> None:
    node = BaoNode(tmp_path)
    values = {name: f"canary-{uuid.uuid4().hex}" for name in MANIFEST.env_vars}
    platform_values = {ref.env_var: values[ref.env_var] for ref in PLATFORM_READS}
    assert "POSTGRES_PLATFORM_PASSWORD" in platform_values
    outputs: list[str] = []

    with running(node.serve()) as first:
        node.wait_unsealed()
        node.wait_active()
        root_token = node.root_token()
        root = local_client(node.addr, root_token)

        applied = _cli(node, root_token, "vault", "apply", "--json")
        outputs += [applied.stdout, applied.stderr]
        assert applied.returncode == 0, applied.stderr
        assert {change["outcome"] for change in json.loads(applied.stdout)["changes"]} == {"created"}
        for mount in ("platform", "infrastructure"):
            wait_until(lambda mount=mount: _kv_ready(root, mount), timeout_s=20, what=f"KV v2 mount {mount}")

        bootstrapped = _cli(node, root_token, "secrets", "bootstrap", "--json", extra=values)
        outputs += [bootstrapped.stdout, bootstrapped.stderr]
        assert bootstrapped.returncode == 0, bootstrapped.stderr

        reader_token = root.auth.token.create(policies=[f"platform-{ENV}"], ttl="30m")["auth"]["client_token"]
        reader = local_client(node.addr, reader_token)
        assert _read_platform_values(reader) == platform_values
        first.stop()
        outputs.append(first.output())

    with running(node.serve()) as second:
        node.wait_unsealed()
        node.wait_active()
        assert "initialized with" not in second.output()
        assert node.root_token() == root_token

        assert _read_platform_values(reader) == platform_values
        checked = _cli(node, root_token, "secrets", "check")
        again = _cli(node, root_token, "secrets", "bootstrap", "--json", extra=values)
        outputs += [checked.stdout, checked.stderr, again.stdout, again.stderr]
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert again.returncode == 0, again.stderr
        assert {entry["status"] for entry in json.loads(again.stdout)["entries"]} == {"unchanged"}
        second.stop()
        outputs.append(second.output())

    everything = "\n".join(outputs)
    assert "canary-" not in everything, "a secret value reached an output or a log"
    assert root_token not in everything
