"""platform, the Sprocket applications, built from the service catalog."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from sprocket_infra import providers
from sprocket_infra.config import Environment
from sprocket_infra.stacks.base import SprocketStack
from sprocket_infra.stacks.layer1 import Layer1Stack
from sprocket_infra.stacks.layer2 import Layer2Stack


class PlatformStack(SprocketStack):
    def __init__(
        self, scope: Construct, environment: Environment, layer1: Layer1Stack, layer2: Layer2Stack
    ) -> None:
        super().__init__(scope, "platform", environment)
        providers.docker_provider(self)
        TerraformOutput(self, "vault-address", value=layer1.vault.address)
        self.add_dependency(layer2)
