"""Trade the initial root token for the ``vault-admin`` deploy identity, once, and revoke the root token.

After the first start, the entrypoint leaves the root token of the initialization in the keys directory
(``root-token``, 0600). :func:`bootstrap_admin` is the only thing that should ever use it:

1. check it really is a root token (a wrong file must not half-configure anything);
2. write the ``vault-admin`` policy (:mod:`sprocket_infra.vault.admin`);
3. enable the AppRole auth method if it is missing and write the ``vault-admin`` role: its tokens carry
   that policy alone, renew up to the deploy token TTLs of the environment, and are not orphans of
   anything the operator holds;
4. create a new secret-id and write role-id and secret-id to the credentials file (0600, never
   overwritten), which is what CI and operators log in with from then on;
5. log in with those credentials and check the token holds ``vault-admin``, so the root token is never
   revoked while nothing else can deploy;
6. destroy the older secret-ids of the role (a rerun rotates the credentials), then revoke the root
   token and confirm Vault refuses it.

The caller deletes the root token file afterwards; the entrypoint also deletes it the next time it sees
the token refused, so a copy left on the node does not outlive the token.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import hvac
import hvac.exceptions

from sprocket_infra.vault.access import VaultAccess, vault_access
from sprocket_infra.vault.admin import APPROLE_PATH, VAULT_ADMIN, admin_policy_hcl, admin_rules, login_quotas
from sprocket_infra.vault.client import DEFAULT_TIMEOUT_S, VaultOperationError, vault_errors

if TYPE_CHECKING:
    from sprocket_infra.config import Environment, Layer2VaultConfig


@dataclass(frozen=True, kw_only=True)
class AdminBootstrapReport:
    """What the bootstrap did; nothing secret (the secret-id's accessor is not secret)."""

    policy: str
    approle_enabled: bool
    """True when this run enabled the AppRole method (False: it was there)."""
    role: str
    secret_id_accessor: str
    older_secret_ids_destroyed: int
    credentials_file: str
    root_token_revoked: bool


def _root_only(client: hvac.Client, addr: str) -> None:
    with vault_errors("checking the root token", addr):
        try:
            policies = client.auth.token.lookup_self()["data"].get("policies") or []
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise VaultOperationError(
                f"Vault at {addr} refused the root token: already revoked? Make a new one with "
                "`operator generate-root` (docs/runbook.md) to run the bootstrap again"
            ) from None
    if "root" not in policies:
        raise VaultOperationError(
            f"the token given is not a root token (its policies: {', '.join(policies) or 'none'}); the "
            "bootstrap needs the root token of the initialization or one made with `operator generate-root`"
        )


def _policy_text(access: VaultAccess, settings: Layer2VaultConfig, *, openbao: bool) -> str:
    quotas = login_quotas(
        access, openbao=openbao, rate=settings.login_rate_limit, interval_s=settings.login_rate_interval_s
    )
    return admin_policy_hcl(admin_rules(access, openbao=openbao, quotas=quotas))


def vault_admin_policy(environment: Environment) -> str:
    """The ``vault-admin`` policy text the bootstrap writes for ``environment``."""
    settings = environment.layer2.vault
    access = vault_access(environment.name, contributors_read_secrets=settings.contributors_read_secrets)
    return _policy_text(access, settings, openbao=environment.vault.is_openbao)


def check_credentials_target(path: Path) -> None:
    """Refuse a credentials file that exists (never overwritten) or has no directory, before Vault is
    touched."""
    if path.exists():
        raise VaultOperationError(
            f"{path} exists; refusing to overwrite deploy credentials (move it away first)"
        )
    if not path.parent.is_dir():
        raise VaultOperationError(f"{path.parent} is not a directory (for --credentials-out)")


def _write_credentials(path: Path, role_id: str, secret_id: str) -> None:
    """role-id and secret-id as the JSON body of an AppRole login, created 0600, never overwritten."""
    text = json.dumps({"role_id": role_id, "secret_id": secret_id}) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _secret_id_accessors(client: hvac.Client) -> list[str]:
    try:
        listed = client.auth.approle.list_secret_id_accessors(VAULT_ADMIN, mount_point=APPROLE_PATH)
    except hvac.exceptions.InvalidPath:
        return []
    return list((listed.get("data") or {}).get("keys") or [])


def bootstrap_admin(
    client: hvac.Client,
    access: VaultAccess,
    settings: Layer2VaultConfig,
    *,
    openbao: bool,
    credentials_file: Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> AdminBootstrapReport:
    """Run steps 1-6 with ``client`` holding the root token; see the module docstring."""
    addr = str(client.url)
    check_credentials_target(credentials_file)
    _root_only(client, addr)
    with vault_errors(f"writing policy {VAULT_ADMIN}", addr):
        client.sys.create_or_update_policy(
            name=VAULT_ADMIN, policy=_policy_text(access, settings, openbao=openbao)
        )
    with vault_errors("enabling the AppRole auth method", addr):
        enabled = f"{APPROLE_PATH}/" not in (client.sys.list_auth_methods().get("data") or {})
        if enabled:
            client.sys.enable_auth_method(
                method_type="approle",
                path=APPROLE_PATH,
                description="Deploy identities: vault-admin for layer2 and platform (vault bootstrap)",
            )
    with vault_errors(f"writing AppRole role {VAULT_ADMIN}", addr):
        client.auth.approle.create_or_update_approle(
            VAULT_ADMIN,
            mount_point=APPROLE_PATH,
            token_policies=[VAULT_ADMIN],
            token_ttl=f"{settings.deploy_token_ttl_s}s",
            token_max_ttl=f"{settings.deploy_token_max_ttl_s}s",
            token_explicit_max_ttl=f"{settings.deploy_token_max_ttl_s}s",
            secret_id_ttl="0s",  # noqa: S106 - a lifetime (never expires; a rerun rotates it)
            bind_secret_id=True,
        )
        older = _secret_id_accessors(client)
        role_id = client.auth.approle.read_role_id(VAULT_ADMIN, mount_point=APPROLE_PATH)["data"]["role_id"]
        created = client.auth.approle.generate_secret_id(
            VAULT_ADMIN, metadata={"made_by": "sprocket-infra vault bootstrap"}, mount_point=APPROLE_PATH
        )["data"]
    try:
        _write_credentials(credentials_file, role_id, created["secret_id"])
    except OSError as error:
        raise VaultOperationError(
            f"cannot write {credentials_file} ({error.strerror}); the root token was not revoked"
        ) from None
    _check_login(addr, role_id, created["secret_id"], timeout_s=timeout_s)
    with vault_errors("destroying older secret-ids", addr):
        for accessor in older:
            client.auth.approle.destroy_secret_id_accessor(VAULT_ADMIN, accessor, mount_point=APPROLE_PATH)
    with vault_errors("revoking the root token", addr):
        client.auth.token.revoke_self()
    return AdminBootstrapReport(
        policy=VAULT_ADMIN,
        approle_enabled=enabled,
        role=VAULT_ADMIN,
        secret_id_accessor=str(created["secret_id_accessor"]),
        older_secret_ids_destroyed=len(older),
        credentials_file=str(credentials_file),
        root_token_revoked=not token_valid(addr, client.token, timeout_s=timeout_s),
    )


def approle_login(addr: str, credentials_file: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """A ``vault-admin`` token from the credentials file the bootstrap wrote."""
    try:
        body = json.loads(credentials_file.read_text())
        role_id, secret_id = str(body["role_id"]), str(body["secret_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise VaultOperationError(
            f"{credentials_file}: expected the JSON file `sprocket-infra vault bootstrap` wrote "
            '({"role_id": ..., "secret_id": ...})'
        ) from None
    client = hvac.Client(url=addr, timeout=timeout_s)
    with vault_errors(f"logging in with the {VAULT_ADMIN} AppRole", addr):
        answer = client.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=APPROLE_PATH)
    return str(answer["auth"]["client_token"])


def _check_login(addr: str, role_id: str, secret_id: str, *, timeout_s: float) -> None:
    """Log in as the deploy identity, check its token holds ``vault-admin``, and revoke that token."""
    client = hvac.Client(url=addr, timeout=timeout_s)
    with vault_errors(f"logging in with the new {VAULT_ADMIN} credentials", addr):
        answer = client.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=APPROLE_PATH)
        policies = answer["auth"].get("token_policies") or []
        client.token = answer["auth"]["client_token"]
        client.auth.token.revoke_self()
    if VAULT_ADMIN not in policies:
        raise VaultOperationError(
            f"a login with the new credentials got policies {policies}, not {VAULT_ADMIN}; the root token "
            "was not revoked"
        )


def token_valid(addr: str, token: str | None, *, timeout_s: float) -> bool:
    """Whether Vault still accepts ``token`` (False once it is revoked)."""
    client = hvac.Client(url=addr, token=token, timeout=timeout_s)
    try:
        client.auth.token.lookup_self()
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
        return False
    return True
