"""``swarm``: overlay encryption and where each kind of service is placed."""

from __future__ import annotations

from pydantic import Field

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


class SwarmConfig(Strict):
    encrypt_overlays: Flag = Field(True, description="IPsec-encrypt internal overlay networks.")
    placement: PlacementConfig = Field(default_factory=PlacementConfig)
