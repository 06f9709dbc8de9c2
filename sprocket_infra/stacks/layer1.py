"""layer1, the core: the edge networks (one per routed backend or platform zone), the Docker socket proxy,
Traefik (and the routing every stack goes through) and Vault.

Everything later stacks need from here is a public attribute (``routing``, ``vault``); handing the stack
object on is how names cross stacks, so nothing is ever typed twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from constructs import Construct

from sprocket_infra import naming, providers
from sprocket_infra.catalog import Catalog
from sprocket_infra.config import Environment
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxy, DockerSocketProxyProps
from sprocket_infra.constructs.edge import EdgeNetwork, Routing
from sprocket_infra.constructs.overlay_network import overlay_network
from sprocket_infra.constructs.traefik_proxy import TraefikProxy, TraefikProxyProps
from sprocket_infra.constructs.vault_with_s3_backend import VaultWithS3Backend, VaultWithS3BackendProps
from sprocket_infra.edge_networks import edge_plan
from sprocket_infra.stacks.base import SprocketStack

if TYPE_CHECKING:
    from sprocket_infra.constructs.hosts import Hosts


class Layer1Stack(SprocketStack):
    def __init__(self, scope: Construct, environment: Environment, *, source: str, catalog: Catalog) -> None:
        """``source`` names the environment file in the routing errors this stack's edge raises; the
        ``catalog`` says which platform zones have routed entries (each gets an edge network)."""
        super().__init__(scope, "layer1", environment)
        providers.docker_provider(self)
        if environment.uses_digitalocean:
            providers.digitalocean_provider(self)
        self.hosts: Hosts | None = None
        """Droplets, firewall, node labels and (after :meth:`publish_dns`) DNS; None without ``hosts``."""
        if environment.hosts:
            # Imported only here: the hosts constructs load the DigitalOcean bindings into the jsii kernel
            # (about 0.5 s of a synth, docs/performance.md), which an environment without hosts never uses.
            from sprocket_infra.constructs.hosts import Hosts, HostsProps

            self.hosts = Hosts(self, "hosts", HostsProps(environment=environment))

        edges = [
            EdgeNetwork(
                key=spec.key,
                name=spec.name,
                subnet=spec.subnet,
                network=overlay_network(
                    self,
                    spec.construct_id,
                    name=spec.name,
                    swarm=environment.swarm,
                    internal=spec.internal,
                    subnet=spec.subnet,
                ),
            )
            for spec in edge_plan(environment, catalog)
        ]
        socket_proxy = DockerSocketProxy(
            self,
            "socket-proxy",
            DockerSocketProxyProps(
                environment=environment,
                network=overlay_network(
                    self,
                    "socket-proxy-network",
                    name=naming.SOCKET_PROXY_NETWORK,
                    swarm=environment.swarm,
                    internal=True,
                ),
            ),
        )
        traefik = TraefikProxy(
            self,
            "traefik",
            TraefikProxyProps(
                environment=environment,
                source=source,
                edges=edges,
                socket_proxy=socket_proxy,
            ),
        )
        self.routing: Routing = traefik.routing
        """The edge: every later stack routes through it (hosts claimed once, rules checked)."""
        self.vault = VaultWithS3Backend(
            self, "vault", VaultWithS3BackendProps(environment=environment, routing=self.routing)
        )

    def publish_dns(self) -> None:
        """DNS records for every route of every stack; ``build_app`` calls it after the last stack."""
        if self.hosts is not None:
            self.hosts.publish_dns(self.routing.routes)
