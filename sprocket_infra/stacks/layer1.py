"""layer1, the core: shared overlay networks, the Docker socket proxy, Traefik and Vault.

Everything later stacks need from here is a public attribute (``ingress_network``, ``vault``); handing
the stack object on is how names cross stacks, so nothing is ever typed twice.
"""

from __future__ import annotations

from constructs import Construct

from sprocket_infra import naming, providers
from sprocket_infra.config import Environment
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxy, DockerSocketProxyProps
from sprocket_infra.constructs.overlay_network import overlay_network
from sprocket_infra.constructs.traefik_proxy import TraefikProxy, TraefikProxyProps
from sprocket_infra.constructs.vault_with_s3_backend import VaultWithS3Backend, VaultWithS3BackendProps
from sprocket_infra.stacks.base import SprocketStack


class Layer1Stack(SprocketStack):
    def __init__(self, scope: Construct, environment: Environment) -> None:
        super().__init__(scope, "layer1", environment)
        providers.docker_provider(self)
        if environment.uses_digitalocean:
            providers.digitalocean_provider(self)

        self.ingress_network = overlay_network(
            self, "ingress-network", name=naming.INGRESS_NETWORK, encrypted=False
        )
        self.socket_proxy_network = overlay_network(
            self,
            "socket-proxy-network",
            name=naming.SOCKET_PROXY_NETWORK,
            internal=True,
            encrypted=environment.swarm.encrypt_overlays,
        )
        self.socket_proxy = DockerSocketProxy(
            self,
            "socket-proxy",
            DockerSocketProxyProps(environment=environment, network=self.socket_proxy_network),
        )
        self.traefik = TraefikProxy(
            self,
            "traefik",
            TraefikProxyProps(
                environment=environment,
                ingress=self.ingress_network,
                socket_proxy_network=self.socket_proxy_network,
                socket_proxy_endpoint=self.socket_proxy.endpoint,
            ),
        )
        self.vault = VaultWithS3Backend(
            self, "vault", VaultWithS3BackendProps(environment=environment, ingress=self.ingress_network)
        )
