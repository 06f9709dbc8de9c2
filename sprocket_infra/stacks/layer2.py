"""layer2, data and observability: services, Vault configuration, managed PostgreSQL, object storage."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from sprocket_infra import providers
from sprocket_infra.config import Environment
from sprocket_infra.stacks.base import SprocketStack
from sprocket_infra.stacks.layer1 import Layer1Stack


class Layer2Stack(SprocketStack):
    def __init__(self, scope: Construct, environment: Environment, layer1: Layer1Stack) -> None:
        super().__init__(scope, "layer2", environment)
        providers.docker_provider(self)
        self.ingress_network_name = layer1.ingress_network.name
        TerraformOutput(self, "ingress-network", value=self.ingress_network_name)
