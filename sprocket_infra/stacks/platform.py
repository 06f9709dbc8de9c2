"""platform, the Sprocket applications, built from the service catalog.

The stack only composes: one overlay per network purpose the catalog names, one Vault reader for all
Docker secrets, and one :class:`PlatformService` per catalog entry. What a service is lives in
``sprocket_infra/catalog/services.yaml``; how an entry becomes a service, in ``PlatformService``.
"""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_docker.network import Network
from constructs import Construct

from sprocket_infra import naming, providers
from sprocket_infra.catalog import Catalog, load_catalog
from sprocket_infra.catalog.checks import check_environment
from sprocket_infra.config import Environment
from sprocket_infra.constructs.overlay_network import overlay_network
from sprocket_infra.constructs.platform_service import PlatformService, PlatformServiceProps
from sprocket_infra.constructs.vault_docker_secrets import VaultDockerSecrets
from sprocket_infra.platform_config.context import RenderContext
from sprocket_infra.platform_config.dependencies import Layer2Outputs, dependency_networks
from sprocket_infra.stacks.base import SprocketStack
from sprocket_infra.stacks.layer1 import Layer1Stack


class PlatformStack(SprocketStack):
    """Public attributes: ``services`` (catalog key -> :class:`PlatformService`) and ``networks``."""

    def __init__(
        self,
        scope: Construct,
        environment: Environment,
        layer1: Layer1Stack,
        layer2: Layer2Outputs,
        *,
        catalog: Catalog | None = None,
    ) -> None:
        """``catalog`` defaults to ``sprocket_infra/catalog/services.yaml``; tests pass their own."""
        super().__init__(scope, "platform", environment)
        catalog = catalog or load_catalog()
        check_environment(catalog, environment)
        providers.docker_provider(self)
        providers.vault_provider(self)
        if isinstance(layer2, TerraformStack):
            # Secrets and services of layer2 must exist first, even where no attribute is a reference.
            self.add_dependency(layer2)

        purposes = sorted({purpose for entry in catalog.services.values() for purpose in entry.networks})
        self.networks = {purpose: self._network(purpose) for purpose in purposes}
        vault_secrets = VaultDockerSecrets(self, "secrets")
        services = Construct(self, "services")
        self.services = {
            key: PlatformService(
                services,
                key,
                PlatformServiceProps(
                    context=RenderContext(environment=environment, catalog=catalog, layer2=layer2, key=key),
                    ingress=layer1.ingress_network,
                    networks=self.networks,
                    dependency_networks=dependency_networks(layer2),
                    vault_secrets=vault_secrets,
                ),
            )
            for key in catalog.services
        }
        TerraformOutput(self, "vault-address", value=layer1.vault.address)

    def _network(self, purpose: str) -> Network:
        return overlay_network(
            self,
            f"network-{purpose}",
            name=naming.platform_network(self.environment, purpose),
            encrypted=self.environment.swarm.encrypt_overlays,
        )
