"""The whole environment file: one model per section, each in its own module."""

from __future__ import annotations

from pydantic import Field

from sprocket_infra.config.cloud import DigitalOceanConfig, LocalState, S3State
from sprocket_infra.config.fields import Strict
from sprocket_infra.config.hosts import HostsConfig
from sprocket_infra.config.images import ImagesConfig
from sprocket_infra.config.layer2 import Layer2Config
from sprocket_infra.config.platform import PlatformConfig
from sprocket_infra.config.routing import RoutingConfig
from sprocket_infra.config.swarm import SwarmConfig
from sprocket_infra.config.vault import VaultConfig


class Environment(Strict):
    """Everything that differs between local, lan and prod."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,20}$", description="Environment name; prefixes queues.")
    routing: RoutingConfig
    swarm: SwarmConfig = Field(default_factory=SwarmConfig)
    vault: VaultConfig
    digitalocean: DigitalOceanConfig = Field(default_factory=DigitalOceanConfig)
    state: LocalState | S3State = Field(default_factory=LocalState, discriminator="kind")
    images: ImagesConfig
    layer2: Layer2Config
    platform: PlatformConfig
    hosts: HostsConfig | None = Field(
        None, description="Nodes, their provisioning and DNS. Left out: hand-made nodes and hand-kept DNS."
    )

    @property
    def uses_digitalocean(self) -> bool:
        """Whether any resource of this environment lives in DigitalOcean (so its provider is needed)."""
        return self.vault.storage.kind == "s3" or self.hosts is not None


SECTION_SCHEMAS = {
    "routing": "sprocket_infra/config/routing.py",
    "swarm": "sprocket_infra/config/swarm.py",
    "vault": "sprocket_infra/config/vault.py",
    "digitalocean": "sprocket_infra/config/cloud.py",
    "state": "sprocket_infra/config/cloud.py",
    "images": "sprocket_infra/config/images.py",
    "layer2": "sprocket_infra/config/layer2.py",
    "platform": "sprocket_infra/config/platform.py",
    "hosts": "sprocket_infra/config/hosts.py",
}
"""Where each top-level section's keys are defined, named in an 'unknown key' message."""
