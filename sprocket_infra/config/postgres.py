"""``layer2.postgres``: where the services' databases live, and who may connect."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import ConnectHost, Count, DigitString, Strict

_TAG_RE = re.compile(r"^[a-zA-Z0-9_:-]{1,255}$")
"""DigitalOcean tag names (API reference, "Create a new tag")."""


class TrustedSource(Strict):
    """One entry of the managed database's firewall: who may open a connection."""

    type: Literal["tag", "droplet", "ip_addr"] = Field(
        description="'tag' (every droplet with that tag), 'droplet' (a droplet id) or 'ip_addr'."
    )
    value: str = Field(min_length=1, description="The tag, droplet id or IP address/CIDR.")

    @model_validator(mode="after")
    def _names_someone(self) -> TrustedSource:
        """What DigitalOcean's database firewall takes for each type (API reference, "Update firewall
        rules for a database"): a tag name, a droplet's numeric id, or an address or CIDR. A CIDR of
        length 0 admits every address on the internet, which this field exists to prevent."""
        if self.type == "droplet" and not self.value.isdigit():
            raise ValueError(f"a droplet is named by its numeric id (got {self.value!r})")
        if self.type == "tag" and not _TAG_RE.match(self.value):
            raise ValueError(f"a tag is letters, digits, ':', '-' or '_' (got {self.value!r})")
        if self.type == "ip_addr":
            try:
                network = ipaddress.ip_network(self.value, strict=False)
            except ValueError:
                raise ValueError(f"expected an IP address or CIDR (got {self.value!r})") from None
            if network.prefixlen == 0:
                raise ValueError(
                    f"{self.value} admits anyone on the internet; list the Swarm nodes' addresses"
                )
            if network.network_address.is_unspecified:
                raise ValueError(f"{self.value} is no address a node connects from")
        return self


class ManagedPostgresConfig(Strict):
    """A DigitalOcean managed PostgreSQL cluster created and owned by layer2."""

    kind: Literal["managed"] = "managed"
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,62}$", description="Cluster name in DigitalOcean.")
    size: str = Field("db-s-1vcpu-1gb", description="Node size slug. Left out: the smallest (1 vCPU/1 GB).")
    version: DigitString = Field(
        "17", pattern=r"^[0-9]{2}$", description="PostgreSQL major version ('17' or 17). Left out: 17."
    )
    node_count: Count = Field(1, ge=1, le=3, description="Nodes (1 primary + standbys). Left out: 1.")
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
    host: ConnectHost = Field(description="Host name or IP the services connect to, without ':<port>'.")
    port: Count = Field(5432, ge=1, le=65535)
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"


class NoPostgresConfig(Strict):
    """No PostgreSQL: no database logins; Grafana and n8n keep their state in SQLite on a volume."""

    kind: Literal["none"] = "none"


PostgresConfig = Annotated[
    ManagedPostgresConfig | ExistingPostgresConfig | ExternalPostgresConfig | NoPostgresConfig,
    Field(discriminator="kind"),
]
