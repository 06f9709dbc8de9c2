"""``layer2.postgres``: where the services' databases live, and who may connect."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sprocket_infra.config.fields import Strict


class TrustedSource(Strict):
    """One entry of the managed database's firewall: who may open a connection."""

    type: Literal["tag", "droplet", "ip_addr"] = Field(
        description="'tag' (every droplet with that tag), 'droplet' (a droplet id) or 'ip_addr'."
    )
    value: str = Field(min_length=1, description="The tag, droplet id or IP address/CIDR.")


class ManagedPostgresConfig(Strict):
    """A DigitalOcean managed PostgreSQL cluster created and owned by layer2."""

    kind: Literal["managed"] = "managed"
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,62}$", description="Cluster name in DigitalOcean.")
    size: str = Field("db-s-1vcpu-1gb", description="Node size slug. Left out: the smallest (1 vCPU/1 GB).")
    version: str = Field("17", pattern=r"^[0-9]{2}$", description="PostgreSQL major version.")
    node_count: int = Field(1, ge=1, le=3, description="Nodes (1 primary + standbys). Left out: 1.")
    trusted_sources: tuple[TrustedSource, ...] = Field(
        min_length=1, description="Who may connect: the Swarm node(s). Required, never 'anyone'."
    )


class ExistingPostgresConfig(Strict):
    """A DigitalOcean managed cluster made outside this code, looked up by name; layer2 adds to it."""

    kind: Literal["existing"] = "existing"
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,62}$", description="Name of the existing cluster.")
    trusted_sources: tuple[TrustedSource, ...] = Field(
        min_length=1,
        description="Who may connect; this list replaces the cluster's firewall rules, so list every node.",
    )


class ExternalPostgresConfig(Strict):
    """A PostgreSQL server layer2 does not manage: databases, users and Vault passwords exist already."""

    kind: Literal["external"] = "external"
    host: str = Field(min_length=1, description="Host name or IP the services connect to.")
    port: int = Field(5432, ge=1, le=65535)
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"


class NoPostgresConfig(Strict):
    """No PostgreSQL: no database logins; Grafana and n8n keep their state in SQLite on a volume."""

    kind: Literal["none"] = "none"


PostgresConfig = Annotated[
    ManagedPostgresConfig | ExistingPostgresConfig | ExternalPostgresConfig | NoPostgresConfig,
    Field(discriminator="kind"),
]
