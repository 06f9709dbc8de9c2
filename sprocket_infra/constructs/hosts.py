"""``Hosts``: what layer1 builds from the ``hosts`` section: droplets and firewall (``droplets`` mode),
the declared node labels, and, once every stack has routed, the DNS records of every routed host.

DNS is added last (:meth:`Hosts.publish_dns`, called by ``build_app`` after the platform stack) because
only then does :class:`~sprocket_infra.constructs.edge.Routing` hold every route; the records still live
in layer1, beside the edge node they point at and the provider that already manages it (ADR 0012).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from sprocket_infra.config import Environment
from sprocket_infra.config.hosts import Droplets, HostsConfig
from sprocket_infra.constructs.dns_records import DnsRecords, DnsRecordsProps
from sprocket_infra.constructs.edge import RecordedRoute
from sprocket_infra.constructs.node_labels import NodeLabels, NodeLabelsProps
from sprocket_infra.constructs.swarm_hosts import SwarmHosts, SwarmHostsProps


@dataclass(frozen=True, kw_only=True)
class HostsProps:
    environment: Environment
    """Must have a ``hosts`` section."""


class Hosts(Construct):
    """Public attributes: ``machines`` (the :class:`SwarmHosts`, or None for existing hosts),
    ``labels``, ``dns`` (None until :meth:`publish_dns`)."""

    def __init__(self, scope: Construct, construct_id: str, props: HostsProps) -> None:
        super().__init__(scope, construct_id)
        if props.environment.hosts is None:
            raise ValueError("Hosts needs the environment's hosts section")
        self._config: HostsConfig = props.environment.hosts
        self.machines = (
            SwarmHosts(self, "droplets", SwarmHostsProps(environment=props.environment))
            if isinstance(self._config.provision, Droplets)
            else None
        )
        self.labels = NodeLabels(
            self,
            "labels",
            NodeLabelsProps(
                nodes=self._config.nodes, made_by={} if self.machines is None else self.machines.droplets
            ),
        )
        self.dns: DnsRecords | None = None

    @property
    def edge_address(self) -> str:
        """The edge node's public IPv4 (a reference to the droplet's address when it is one)."""
        if self.machines is not None:
            return self.machines.edge.ipv4_address
        provision = self._config.provision
        assert not isinstance(provision, Droplets)
        return str(provision.edge_address)

    def publish_dns(self, routes: Sequence[RecordedRoute]) -> DnsRecords:
        """One record per routed host in the zone; call once, after the last stack has routed."""
        if self.dns is not None:
            raise RuntimeError("DNS records are already published")
        self.dns = DnsRecords(
            self,
            "dns",
            DnsRecordsProps(dns=self._config.dns, routes=routes, edge_address=self.edge_address),
        )
        return self.dns
