"""platform, the Sprocket applications, built from the service catalog, and the status page.

The stack only composes: one overlay per network purpose the catalog names, one Vault reader for all
Docker secrets, one :class:`PlatformService` per catalog entry, and Gatus, last, over every route any
stack recorded. What a service is lives in ``sprocket_infra/catalog/services.yaml``; how an entry becomes
a service, in ``PlatformService``.
"""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from sprocket_infra import naming, providers
from sprocket_infra.catalog import Catalog, load_catalog
from sprocket_infra.config import Environment
from sprocket_infra.constructs.observability.gatus import ALERTING_TEMPLATE, Gatus, GatusProps
from sprocket_infra.constructs.overlay_network import overlay_network
from sprocket_infra.constructs.platform_service import PlatformService, PlatformServiceProps
from sprocket_infra.constructs.vault_docker_secrets import VaultDockerSecrets
from sprocket_infra.edge_networks import platform_subnets
from sprocket_infra.platform_config.context import RenderContext
from sprocket_infra.platform_config.dependencies import Layer2Outputs, dependency_networks
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.stacks.base import SprocketStack
from sprocket_infra.stacks.layer1 import Layer1Stack


class PlatformStack(SprocketStack):
    """Public attributes: ``services`` (catalog key -> :class:`PlatformService`), ``networks``, ``gatus``."""

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
        providers.docker_provider(self)
        providers.vault_provider(self)
        if isinstance(layer2, TerraformStack):
            # Secrets and services of layer2 must exist first, even where no attribute is a reference.
            self.add_dependency(layer2)

        purposes = sorted({purpose for entry in catalog.services.values() for purpose in entry.networks})
        subnets = platform_subnets(environment, catalog)
        self.networks = {
            purpose: overlay_network(
                self,
                f"network-{purpose}",
                name=naming.platform_network(environment, purpose),
                swarm=environment.swarm,
                internal=False,
                subnet=subnets[purpose],
            )
            for purpose in purposes
        }
        vault_secrets = VaultDockerSecrets(self, "secrets")
        services = Construct(self, "services")
        self.services = {
            key: PlatformService(
                services,
                key,
                PlatformServiceProps(
                    context=RenderContext(environment=environment, catalog=catalog, layer2=layer2, key=key),
                    routing=layer1.routing,
                    networks=self.networks,
                    dependency_networks=dependency_networks(layer2),
                    vault_secrets=vault_secrets,
                ),
            )
            for key in catalog.services
        }
        self.gatus = Gatus(
            self,
            "gatus",
            GatusProps(
                environment=environment,
                routing=layer1.routing,
                routes=layer1.routing.routes,
                alerting=vault_secrets.docker_secret_file(
                    owner="gatus",
                    name="alerting-yaml",
                    template=ALERTING_TEMPLATE,
                    refs=[external_secrets(environment)["gatus-alert-webhook"]],
                ),
            ),
        )
        """The status page; built last, so ``routes`` holds every route of every stack."""
        TerraformOutput(self, "vault-address", value=layer1.vault.address)
