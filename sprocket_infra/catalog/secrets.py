"""Operator-provided secrets the platform needs that the shared manifest does not list yet.

Temporary: these belong in :mod:`sprocket_infra.secrets.external` (so ``secrets bootstrap`` writes them);
they live here until its owner adds them. The original generated the JWT key with ``random`` inside the
platform stack; a signing key that changes whenever state is rebuilt logs every user out, so it is an
operator-held value now.
"""

from __future__ import annotations

from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.secrets.manifest import SecretManifest, SecretRef
from sprocket_infra.vault.access import MANUAL, PLATFORM, secret_path


def catalog_secrets(env: str) -> SecretManifest:
    """Secrets only the catalog knows about so far, by stable name."""
    return SecretManifest(
        [
            SecretRef(
                name="jwt-secret",
                mount=PLATFORM,
                path=secret_path(env, MANUAL, "core"),
                key="jwtSecret",
                description="Key core signs session JWTs with (jwtSecret.txt); 64+ random characters",
                env_var="CORE_JWT_SECRET",
            ),
        ]
    )


def platform_secrets(env: str) -> SecretManifest:
    """Every operator-provided secret a platform service may mount: the platform mount's share of the
    shared manifest, then the catalog's own."""
    shared = [ref for ref in external_secrets(env).values() if ref.mount == PLATFORM]
    return SecretManifest([*shared, *catalog_secrets(env).values()])
