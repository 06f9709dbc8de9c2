"""``swarm``: overlay encryption and where each kind of service is placed."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field

from sprocket_infra.config.fields import Flag, PlacementConstraint, Strict


class PlacementConfig(Strict):
    manager: tuple[PlacementConstraint, ...] = Field(
        ("node.role==manager",), description="Where services that need the Swarm API run (socket proxy)."
    )
    ingress: tuple[PlacementConstraint, ...] = Field(
        ("node.role==manager",),
        description="Where Traefik runs; its ACME volume lives there, so keep it to one node.",
    )
    storage: tuple[PlacementConstraint, ...] = Field(
        ("node.role==manager",),
        description="Where stateful services (Vault keys, databases' volumes) run.",
    )


EDGE_SUBNET_PREFIX = 24
"""Every fixed-subnet overlay is a /24 of ``swarm.subnet_pool``: room for the tasks, VIPs and per-node
load-balancer addresses Swarm hands out on one network."""


def _subnet_pool(value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if value.prefixlen > EDGE_SUBNET_PREFIX - 8:
        raise ValueError(
            f"expected a /{EDGE_SUBNET_PREFIX - 8} or larger private block such as '10.240.0.0/16' "
            f"(it is cut into 256 /{EDGE_SUBNET_PREFIX} networks), got /{value.prefixlen}"
        )
    if not value.is_private:
        raise ValueError(f"expected a private address block such as '10.240.0.0/16', got {value}")
    return value


SubnetPool = Annotated[ipaddress.IPv4Network, AfterValidator(_subnet_pool)]


class SwarmConfig(Strict):
    encrypt_overlays: Flag = Field(
        True, description="IPsec-encrypt overlay networks (the edge networks included)."
    )
    subnet_pool: SubnetPool = Field(
        ipaddress.IPv4Network("10.240.0.0/16"),
        description="Private block the fixed-subnet overlays (edge networks, platform networks) are cut "
        "from, one /24 each (docs/networks.md); it must not overlap Swarm's default-addr-pool or the "
        "hosts' networks. Left out: 10.240.0.0/16.",
    )
    placement: PlacementConfig = Field(default_factory=PlacementConfig)
