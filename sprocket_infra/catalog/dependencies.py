"""What a catalog entry may depend on from layer2, and the credentials each dependency brings along.

A service that ``uses: [redis]`` always needs its own Redis login, so the catalog does not list it again:
the dependency implies the secrets and the files they land in. The names here are the stable names of the
credentials layer2 generates; :mod:`sprocket_infra.platform_config.dependencies` maps each one to the
Vault key layer2 publishes, and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

Dependency = Literal["redis", "rabbitmq", "postgres", "s3", "influx"]
DEPENDENCIES: tuple[Dependency, ...] = get_args(Dependency)


@dataclass(frozen=True, kw_only=True)
class Credential:
    """One secret a dependency implies: its stable name and the file stem under ``/app/secret``."""

    name: str
    file: str


CREDENTIALS: Mapping[Dependency, tuple[Credential, ...]] = {
    "redis": (
        Credential(name="redis-username", file="redis-username"),
        Credential(name="redis-password", file="redis-password"),
    ),
    "rabbitmq": (
        Credential(name="rabbitmq-username", file="rabbitmq-username"),
        Credential(name="rabbitmq-password", file="rabbitmq-password"),
    ),
    # The original mounted this as db-password.txt for core and db-secret.txt for image generation.
    "postgres": (Credential(name="database-password", file="db-password"),),
    "s3": (
        Credential(name="s3-access-key-id", file="minio-access"),
        Credential(name="s3-secret-access-key", file="minio-secret"),
    ),
    "influx": (Credential(name="influx-token", file="influx-token"),),
}


def credential_owner(secret: str) -> Dependency | None:
    """The dependency whose credential ``secret`` is, or None for any other secret name."""
    for dependency, credentials in CREDENTIALS.items():
        if any(credential.name == secret for credential in credentials):
            return dependency
    return None
