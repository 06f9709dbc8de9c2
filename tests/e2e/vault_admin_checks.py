"""The e2e deploy holds ``vault-admin``, never a root token: docs/deployment.md's first steps on Vault.

The e2e OpenBao is a dev server (layer1's Vault image cannot run here), so the root token an
initialization would leave in the keys directory is stood in for by a second, orphan root token made from
the dev server's own; that one stays with the test to inspect OpenBao. ``sprocket-infra vault bootstrap``
then runs as an operator runs it: it writes the ``vault-admin`` policy and AppRole, the credentials file,
revokes the stand-in root token and deletes its file. Every ``cdktf`` command and the secrets bootstrap
after that run with a token from an AppRole login, so a path missing from the policy fails the deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sprocket_infra.vault.admin import VAULT_ADMIN
from sprocket_infra.vault.admin_bootstrap import approle_login, token_valid
from tests.e2e.engine import VENV_BIN, Deployment
from tests.integration.openbao_dev import DevServer, local_client


@dataclass(frozen=True)
class AdminIdentity:
    token: str
    """A vault-admin token from an AppRole login: what the deploy's ``VAULT_TOKEN`` holds."""
    initial_root_token: str
    root_token_file: Path
    report: dict[str, Any]


IDENTITIES: dict[str, AdminIdentity] = {}
"""Per environment, the identity its deployment was given (the checks below read it back)."""


def bootstrap_vault_admin(deployment: Deployment, openbao: DevServer) -> AdminIdentity:
    """Run the bootstrap on a stand-in initial root token; return the identity the deploy then uses."""
    root = local_client(openbao.addr, openbao.root_token)
    initial = root.auth.token.create(policies=["root"], no_parent=True, ttl="2h")["auth"]["client_token"]
    token_file = deployment.workdir / "root-token"
    token_file.touch(mode=0o600)
    token_file.write_text(initial + "\n")
    credentials = deployment.workdir / "vault-admin.json"
    result = deployment.run(
        [
            str(VENV_BIN / "sprocket-infra"), "vault", "bootstrap", "--env", deployment.environment,
            "--root-token-file", str(token_file), "--credentials-out", str(credentials), "--json",
        ],
        what="vault bootstrap",
    )  # fmt: skip
    identity = AdminIdentity(
        token=approle_login(openbao.addr, credentials),
        initial_root_token=initial,
        root_token_file=token_file,
        report=json.loads(result.stdout),
    )
    IDENTITIES[deployment.environment] = identity
    return identity


def vault_admin_problems(deployment: Deployment, openbao: DevServer, stacks: dict[str, Any]) -> list[str]:
    """What is wrong with how this deployment used Vault; empty when it deployed with vault-admin only."""
    identity = IDENTITIES[deployment.environment]
    problems = []
    if deployment.credentials.get("VAULT_TOKEN") != identity.token:
        problems.append("the deploy's VAULT_TOKEN is not the vault-admin AppRole token")
    held = local_client(openbao.addr, identity.token).auth.token.lookup_self()["data"]["policies"]
    if sorted(held) != sorted(["default", VAULT_ADMIN]):
        problems.append(f"the deploy token holds {held}, not default + {VAULT_ADMIN}")
    if token_valid(openbao.addr, identity.initial_root_token, timeout_s=10):
        problems.append("the initial root token still works after the bootstrap")
    if identity.root_token_file.exists():
        problems.append(f"{identity.root_token_file} is still on disk")
    root = local_client(openbao.addr, openbao.root_token)
    for body in stacks["layer2"]["resource"]["vault_quota_rate_limit"].values():
        live = root.read(f"sys/quotas/rate-limit/{body['name']}")
        if live is None or live["data"]["path"] != body["path"] or live["data"]["rate"] != body["rate"]:
            problems.append(f"quota {body['name']} is not in OpenBao as synthesized ({live})")
    return problems
