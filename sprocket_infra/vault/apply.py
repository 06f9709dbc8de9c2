"""Apply the Vault description (mounts and policies) to a live Vault/OpenBao, idempotently.

Production applies the same description with Terraform from the layer2 stack; this path exists for local
development (``sprocket-infra vault apply`` against a dev server) and for the integration tests, which need
the policies on a real server to prove they grant exactly what the description says.

Only what is missing or different is written: a mount is enabled if absent, a policy is written if its
stored text differs from :func:`~sprocket_infra.vault.access.policy_hcl`. Nothing is ever removed, and an
existing mount of the wrong kind (e.g. KV version 1) is an error rather than something to "fix": changing
it would be a data migration. The GitHub auth method is left to Terraform: OpenBao ships without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import hvac
import hvac.exceptions

from sprocket_infra.vault.access import KvMount, Policy, VaultAccess, policy_hcl
from sprocket_infra.vault.client import VaultOperationError, vault_errors


class Outcome(StrEnum):
    UNCHANGED = "unchanged"
    WOULD_CREATE = "would create"
    WOULD_UPDATE = "would update"
    CREATED = "created"
    UPDATED = "updated"


_DONE = {Outcome.WOULD_CREATE: Outcome.CREATED, Outcome.WOULD_UPDATE: Outcome.UPDATED}


@dataclass(frozen=True)
class Change:
    kind: str
    """``mount`` or ``policy``."""
    name: str
    outcome: Outcome


def plan_mount(mount: KvMount, existing: Mapping[str, Any] | None) -> Outcome:
    """Compare a wanted mount with its ``sys/mounts`` entry (``None`` when absent)."""
    if existing is None:
        return Outcome.WOULD_CREATE
    kind = existing.get("type")
    version = str((existing.get("options") or {}).get("version", "1"))
    if kind != mount.engine_type or version != mount.options["version"]:
        raise VaultOperationError(
            f"mount {mount.path}/ exists as {kind} version {version}, expected kv version 2; "
            "migrate it by hand (`vault kv enable-versioning`) and run again"
        )
    return Outcome.UNCHANGED


def plan_policy(policy: Policy, stored_rules: str | None) -> Outcome:
    """Compare a wanted policy with the rules text Vault has for it (``None`` when absent)."""
    if stored_rules is None:
        return Outcome.WOULD_CREATE
    if stored_rules.strip() != policy_hcl(policy).strip():
        return Outcome.WOULD_UPDATE
    return Outcome.UNCHANGED


def _stored_rules(client: hvac.Client, name: str) -> str | None:
    try:
        response = client.sys.read_policy(name=name)
    except hvac.exceptions.InvalidPath:
        return None
    body = response.get("data") or response
    return str(body.get("rules", ""))


def apply_access(client: hvac.Client, access: VaultAccess, *, dry_run: bool = False) -> tuple[Change, ...]:
    """Enable missing mounts and write changed policies; with ``dry_run`` only report what would change."""
    addr = str(client.url)
    changes: list[Change] = []
    with vault_errors("listing secrets engines", addr):
        mounted = client.sys.list_mounted_secrets_engines()
    mounted = mounted.get("data") or mounted
    for mount in access.mounts:
        outcome = plan_mount(mount, mounted.get(f"{mount.path}/"))
        if outcome is Outcome.WOULD_CREATE and not dry_run:
            with vault_errors(f"enabling mount {mount.path}/", addr):
                client.sys.enable_secrets_engine(
                    backend_type=mount.engine_type,
                    path=mount.path,
                    description=mount.description,
                    options=mount.options,
                )
            outcome = _DONE[outcome]
        changes.append(Change("mount", mount.path, outcome))
    for policy in access.policies:
        with vault_errors(f"reading policy {policy.name}", addr):
            outcome = plan_policy(policy, _stored_rules(client, policy.name))
        if outcome in _DONE and not dry_run:
            with vault_errors(f"writing policy {policy.name}", addr):
                client.sys.create_or_update_policy(name=policy.name, policy=policy_hcl(policy))
            outcome = _DONE[outcome]
        changes.append(Change("policy", policy.name, outcome))
    return tuple(changes)
