"""``apply_access`` against a fake sys backend: creates what is missing, then nothing; refuses kv v1."""

from __future__ import annotations

from typing import Any

import hvac.exceptions
import pytest

from sprocket_infra.vault.access import policy_hcl, vault_access
from sprocket_infra.vault.apply import Outcome, apply_access
from sprocket_infra.vault.client import VaultOperationError


class _FakeSys:
    def __init__(self) -> None:
        self.mounts: dict[str, dict[str, Any]] = {"secret/": {"type": "kv", "options": {"version": "2"}}}
        self.policies: dict[str, str] = {}
        self.calls: list[str] = []

    def list_mounted_secrets_engines(self) -> dict[str, Any]:
        return {"data": dict(self.mounts)}

    def enable_secrets_engine(self, *, backend_type: str, path: str, description: str, options: dict) -> None:
        self.calls.append(f"enable {path}")
        self.mounts[f"{path}/"] = {"type": backend_type, "options": options, "description": description}

    def read_policy(self, *, name: str) -> dict[str, Any]:
        if name not in self.policies:
            raise hvac.exceptions.InvalidPath()
        return {"data": {"name": name, "rules": self.policies[name]}}

    def create_or_update_policy(self, *, name: str, policy: str) -> None:
        self.calls.append(f"policy {name}")
        self.policies[name] = policy


class _FakeClient:
    url = "http://127.0.0.1:1"

    def __init__(self) -> None:
        self.sys = _FakeSys()


def _outcomes(changes: tuple) -> dict[str, Outcome]:
    return {f"{change.kind} {change.name}": change.outcome for change in changes}


def test_first_apply_creates_mounts_and_policies_then_a_second_changes_nothing() -> None:
    client = _FakeClient()
    access = vault_access("local")

    first = apply_access(client, access)  # type: ignore[arg-type]
    client.sys.calls.clear()
    second = apply_access(client, access)  # type: ignore[arg-type]

    assert set(_outcomes(first).values()) == {Outcome.CREATED}
    assert len(first) == 2 + 6
    assert set(_outcomes(second).values()) == {Outcome.UNCHANGED}
    assert client.sys.calls == []
    assert client.sys.policies["platform-local"] == policy_hcl(access.platform_policy)
    assert client.sys.mounts["platform/"]["options"] == {"version": "2"}


def test_a_changed_policy_is_updated() -> None:
    client = _FakeClient()
    apply_access(client, vault_access("local"))  # type: ignore[arg-type]
    client.sys.policies["elo-team"] = 'path "platform/*" { capabilities = ["read"] }'

    changes = _outcomes(apply_access(client, vault_access("local")))  # type: ignore[arg-type]

    assert changes["policy elo-team"] == Outcome.UPDATED
    assert changes["policy admin-team"] == Outcome.UNCHANGED


def test_dry_run_reports_and_writes_nothing() -> None:
    client = _FakeClient()

    changes = _outcomes(apply_access(client, vault_access("local"), dry_run=True))  # type: ignore[arg-type]

    assert changes["mount platform"] == Outcome.WOULD_CREATE
    assert changes["policy infrastructure"] == Outcome.WOULD_CREATE
    assert client.sys.calls == []


def test_fails_when_a_mount_exists_as_kv_version_1() -> None:
    client = _FakeClient()
    client.sys.mounts["platform/"] = {"type": "kv", "options": {"version": "1"}}

    with pytest.raises(VaultOperationError, match="platform/ exists as kv version 1"):
        apply_access(client, vault_access("local"))  # type: ignore[arg-type]
