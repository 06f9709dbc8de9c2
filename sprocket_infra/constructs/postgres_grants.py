"""``PostgresGrants``: a Swarm service that applies :func:`~sprocket_infra.postgres_grants.grants_sql` to a
DigitalOcean cluster as its admin, from inside the Swarm (the only place the cluster's firewall admits).

Why a service and not a Terraform PostgreSQL provider: the provider would need a network path from the
operator's machine to the cluster, which the firewall refuses, and no test here could run it (ADR 0013).
Why not a Swarm job: the Docker provider (4.6.0, and the 3.6.2 the bindings come from) has no
``replicated_job`` mode (kreuzwerker/terraform-provider-docker#967). So the task applies the script with
bounded retries, then sleeps; its healthcheck passes only once PID 1 is that sleep, so ``docker service
ps`` and a rolled-back update show a failed apply. The script is a Docker config named by its content
hash: a new consumer is a new config, a service update, and a new run.

The admin login reaches the task as two Docker secrets (mode 0400, owned by the image's ``postgres``
user) read from Vault, where layer2 keeps it for operators (``<env>/postgres-admin``, outside
``for-platform``). TLS is verified against the cluster's CA (``verify-full``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Protocol

from cdktf import TerraformResource
from cdktf_cdktf_provider_docker.secret import Secret
from constructs import Construct

from sprocket_infra.config import Environment
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    Resources,
    SecretFile,
    SwarmService,
    SwarmServiceProps,
)
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.endpoints import Login, ServiceEndpoint
from sprocket_infra.postgres_grants import DatabaseGrant, grants_sql

NAME = "postgres-grants"
IMAGE_UID = 70
"""The ``postgres`` user of the official Alpine images (uid and gid 70)."""
SCRIPT = "/etc/sprocket/apply-grants.sh"
GRANTS = "/etc/sprocket/grants.sql"
CA = "/etc/sprocket/postgres-ca.pem"
ADMIN_USER_FILE = "/run/secrets/postgres-admin-user"
ADMIN_PASSWORD_FILE = "/run/secrets/postgres-admin-password"  # noqa: S105 (a path)
IDLE = ("sleep", "2147483647")
"""What the task runs once the grants are in: a sleep as PID 1 (the healthcheck looks for it)."""


class DockerSecrets(Protocol):
    """Where the admin's Docker secrets come from: layer2's ``Layer2Secrets`` (Vault reads), or in the
    e2e test a stand-in holding test values."""

    def docker_secret(self, ref: VaultKey, *, owner: str) -> Secret: ...


def apply_script() -> str:
    return files("sprocket_infra.assets").joinpath("postgres/apply-grants.sh").read_text()


@dataclass(frozen=True, kw_only=True)
class PostgresGrantsProps:
    environment: Environment
    endpoint: ServiceEndpoint
    """The cluster (host and port; the host may be a reference)."""
    ca_certificate: str
    """PEM of the cluster's CA (a reference); psql verifies the server against it."""
    grants: Sequence[DatabaseGrant]
    maintenance_database: str
    """Where psql connects first (``defaultdb`` on DigitalOcean)."""
    admin: Login
    """Vault keys of the cluster's admin login."""
    secrets: DockerSecrets
    after: Sequence[TerraformResource] = ()
    """The databases and users the script names: the service is created after them."""
    attempts: int = 30
    """psql runs before the task gives up (Swarm's restart policy then starts another). Left out: 30."""
    retry_s: int = 10
    """Pause between attempts. Left out: 10 s."""

    def __post_init__(self) -> None:
        if not self.grants:
            raise ValueError("postgres grants: no consumer databases given")
        if self.attempts < 1 or self.retry_s < 1:
            raise ValueError(
                f"postgres grants: attempts and retry_s must be >= 1 (got {self.attempts}, {self.retry_s})"
            )


class PostgresGrants(Construct):
    """Public attributes: ``sql`` (the rendered script), ``service``."""

    def __init__(self, scope: Construct, construct_id: str, props: PostgresGrantsProps) -> None:
        super().__init__(scope, construct_id)
        self.sql = grants_sql(props.grants, maintenance_database=props.maintenance_database)
        secrets = [
            SecretFile(
                secret=props.secrets.docker_secret(ref, owner=NAME),
                target=target,
                uid=IMAGE_UID,
                gid=IMAGE_UID,
            )
            for ref, target in (
                (props.admin.username, ADMIN_USER_FILE),
                (props.admin.password, ADMIN_PASSWORD_FILE),
            )
        ]
        env = {
            "PGHOST": props.endpoint.host,
            "PGPORT": str(props.endpoint.port),
            "PGDATABASE": props.maintenance_database,
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": CA,
            "PGCONNECT_TIMEOUT": "10",
            "PGAPPNAME": NAME,
            "SPROCKET_ADMIN_USER_FILE": ADMIN_USER_FILE,
            "SPROCKET_ADMIN_PASSWORD_FILE": ADMIN_PASSWORD_FILE,
            "SPROCKET_GRANTS_FILE": GRANTS,
            "SPROCKET_GRANTS_ATTEMPTS": str(props.attempts),
            "SPROCKET_GRANTS_RETRY_S": str(props.retry_s),
        }
        self.service = SwarmService(
            self,
            "job",
            SwarmServiceProps(
                name=NAME,
                image=props.environment.layer2.images.postgres_client,
                command=("/bin/sh", SCRIPT),
                args=IDLE,
                env=env,
                configs=[
                    ConfigFile(target=SCRIPT, content=apply_script(), mode=0o555),
                    ConfigFile(target=GRANTS, content=self.sql),
                    ConfigFile(target=CA, content=props.ca_certificate),
                ],
                secrets=secrets,
                healthcheck=Healthcheck(
                    test=("CMD-SHELL", f'test "$(cat /proc/1/comm)" = {IDLE[0]}'),
                    interval_s=30,
                    start_period_s=props.attempts * (props.retry_s + 10) + 30,
                ),
                resources=Resources(cpus=0.25, memory_mib=64),
                # No overlay: the cluster is reached over the node's own egress, like any managed service.
                networks=[],
                user=f"{IMAGE_UID}:{IMAGE_UID}",
                read_only=True,
                cap_drop=("ALL",),
            ),
        )
        if props.after:
            # Plain addresses: Terraform rejects an interpolated "${...}" in depends_on.
            self.service.service.depends_on = [
                f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"
                for resource in props.after
            ]
