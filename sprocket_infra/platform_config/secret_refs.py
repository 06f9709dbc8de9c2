"""Which Vault key a platform service's secret is read from, by the secret's stable name.

Operator-provided secrets come from the platform mount's share of the manifest (``secrets.external``);
credentials implied by a dependency come from layer2. A credential of a dependency this environment does
not offer (PostgreSQL in ``local``) resolves to None and is simply not mounted.
"""

from __future__ import annotations

from sprocket_infra.catalog.dependencies import credential_owner
from sprocket_infra.config import Environment
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.platform_config.dependencies import Layer2Outputs, credential_key
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.access import PLATFORM


def secret_ref(environment: Environment, layer2: Layer2Outputs, name: str, *, app: str) -> VaultKey | None:
    """The Vault key holding catalog entry ``app``'s secret ``name`` in ``environment``, or None where it
    does not exist. Credentials of shared services are the app's own (one login per app)."""
    if credential_owner(name) is not None:
        return credential_key(layer2, name, app=app)
    return external_secrets(environment, mount=PLATFORM)[name]
