"""``hosts``: the Swarm's nodes (their roles and labels), how they come to exist, and the DNS records
that point the environment's routed hosts at the edge node.

Left out entirely, nothing of this exists: the environment runs on a Swarm made by hand and its DNS is
kept by hand, as local, lan and today's prod do. With ``provision.kind: existing-hosts`` the nodes are
still made by hand and only DNS is managed; with ``droplets`` every node is a DigitalOcean droplet with a
firewall around the set (``sprocket_infra/constructs/swarm_hosts.py``).

Checks that need other sections too (placement constraints against these nodes, the catalog's singletons,
encrypted overlays behind a DigitalOcean firewall) live in ``sprocket_infra/placement_checks.py``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from sprocket_infra.config.fields import Count, DigitalOceanRegion, DomainName, RoutableIp, Strict

NodeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
LabelKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*([.-][a-z0-9]+)*$", max_length=63)]
LabelValue = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
SshKeyRef = Annotated[
    str,
    Field(
        pattern=r"^([0-9a-f]{2}(:[0-9a-f]{2}){15}|[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63})$",
        description="An MD5 fingerprint ('aa:bb:...', 16 pairs) or the key's name in the DigitalOcean team.",
    ),
]


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a network such as '203.0.113.7/32' (host bits zero)") from None
    if network.prefixlen == 0:
        raise ValueError(
            "SSH from anywhere is what the firewall exists to prevent; name your admins' networks"
        )
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class Node(Strict):
    """One Swarm node. Its name is the droplet's name and so the node's hostname (``node.hostname``)."""

    name: NodeName
    role: Literal["manager", "worker"]
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        description="Swarm node labels placement constraints read (node.labels.<key>). Left out: none.",
    )
    size: str | None = Field(
        None, pattern=r"^[a-z0-9-]+$", description="Droplet size slug. Left out: provision.size."
    )


class ExistingHosts(Strict):
    """Nodes made by hand (today's single node); only the DNS records are managed."""

    kind: Literal["existing-hosts"] = "existing-hosts"
    edge_address: RoutableIp = Field(
        description="Public IPv4 of the edge node (the one running Traefik); every record points at it."
    )


class Droplets(Strict):
    """Every node is a droplet: created from ``nodes``, joined to the Swarm by cloud-init."""

    kind: Literal["droplets"] = "droplets"
    region: DigitalOceanRegion | None = Field(None, description="Left out: digitalocean.region.")
    size: str = Field("s-2vcpu-4gb", pattern=r"^[a-z0-9-]+$", description="Droplet size of every node.")
    image: str = Field(
        "ubuntu-24-04-x64",
        pattern=r"^[a-z0-9-]+$",
        description="Droplet image slug; cloud-init installs Ubuntu's docker.io on it.",
    )
    ssh_keys: tuple[SshKeyRef, ...] = Field(
        min_length=1, description="Keys installed for root: fingerprints as they are, names looked up."
    )
    admin_cidrs: tuple[Cidr, ...] = Field(min_length=1, description="Networks allowed to reach SSH (22/tcp).")
    tag: str = Field(
        "sprocket-swarm",
        pattern=r"^[a-z][a-z0-9:_-]{0,254}$",
        description="Tag on every node; the firewall's Swarm rules and database trusted sources use it.",
    )
    join_address: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$",
        description="'<address>:2377' of a manager outside this list (today's node when scaling 1 -> 3). "
        "Left out: the first manager listed initializes the Swarm and the others join it.",
    )


class DnsConfig(Strict):
    zone: DomainName = Field(
        description="The DigitalOcean domain the records go into: routing.domain or a parent of it."
    )
    ttl_s: Annotated[Count, Field(ge=30, le=86400)] = Field(
        300, description="Record TTL; short, so moving the edge takes minutes. Left out: 300."
    )


class SpreadConfig(Strict):
    """Stateless platform services (no volume, ``rollout: start-first``) run this many tasks at least."""

    replicas: Annotated[Count, Field(ge=1, le=20)] = Field(2, description="Left out: 2.")
    max_replicas_per_node: Annotated[Count, Field(ge=0, le=20)] = Field(
        1, description="Tasks of one service on one node; 0 = no limit. Left out: 1 (one per node)."
    )


class HostsConfig(Strict):
    provision: ExistingHosts | Droplets = Field(discriminator="kind")
    nodes: tuple[Node, ...] = Field(min_length=1, description="Every node of the Swarm.")
    dns: DnsConfig
    edge_label: LabelKey = Field(
        "sprocket.edge",
        description="The one node labelled '<edge_label>=true' runs Traefik (and holds its ACME file); "
        "DNS points at it.",
    )
    volumes_label: LabelKey = Field(
        "sprocket.volumes",
        description="The one node labelled '<volumes_label>=true' runs every service with a named volume.",
    )
    spread: SpreadConfig | None = Field(
        None, description="Replicas of stateless platform services. Left out: the catalog's counts."
    )

    @model_validator(mode="after")
    def _consistent(self) -> HostsConfig:
        problems = []
        names = [node.name for node in self.nodes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            problems.append(f"node names must be unique (repeated: {duplicates})")
        managers = [node for node in self.nodes if node.role == "manager"]
        if not managers:
            problems.append("at least one node must have role 'manager'")
        elif len(managers) % 2 == 0:
            problems.append(
                f"{len(managers)} managers tolerate no more failures than {len(managers) - 1}: "
                "use an odd number (1, 3, 5)"
            )
        for key, what in ((self.edge_label, "edge_label"), (self.volumes_label, "volumes_label")):
            holders = [node.name for node in self.nodes if node.labels.get(key) == "true"]
            if len(holders) != 1:
                problems.append(
                    f"exactly one node must carry the label {key}=true ({what}); found {holders or 'none'}"
                )
        edge = self.edge_node
        if edge is not None and edge.role != "manager":
            problems.append(f"the edge node {edge.name!r} must be a manager (Traefik reads the Swarm API)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _labelled(self, key: str) -> Node | None:
        holders = [node for node in self.nodes if node.labels.get(key) == "true"]
        return holders[0] if len(holders) == 1 else None

    @property
    def edge_node(self) -> Node | None:
        """The node running Traefik (None only while the model is being validated)."""
        return self._labelled(self.edge_label)

    @property
    def edge_constraint(self) -> str:
        return f"node.labels.{self.edge_label}==true"

    @property
    def volumes_constraint(self) -> str:
        return f"node.labels.{self.volumes_label}==true"
