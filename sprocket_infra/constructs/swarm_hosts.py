"""``SwarmHosts``: the environment's nodes as DigitalOcean droplets, and the firewall around them.

Every node of ``hosts.nodes`` is a droplet named after it, tagged ``provision.tag``, booted with the
cloud-init of :mod:`sprocket_infra.constructs.cloud_init`. Without ``provision.join_address`` the first
manager listed initializes the Swarm and the others join its VPC address; with one, every droplet joins
that manager (today's hand-made node, when scaling 1 -> 3). Join tokens are sensitive deploy-time
variables (``TF_VAR_swarm_manager_join_token``, ``TF_VAR_swarm_worker_join_token``), declared only for
a role some droplet joins as; they never appear in the JSON.

``user_data``, ``image`` and ``ssh_keys`` are only read when a droplet is created: later changes to them
(a rotated token above all) are ignored instead of replacing a running node.

The firewall (by tag, so a new droplet is covered from its first boot) lets in 80/443 from anywhere,
22/tcp from ``provision.admin_cidrs`` and Swarm's ports (2377/tcp, 7946/tcp+udp, 4789/udp) only from
droplets with the tag; everything else inbound is dropped. Outbound is open (image pulls, ACME, APIs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle, TerraformVariable, Token
from cdktf_cdktf_provider_digitalocean.data_digitalocean_ssh_key import DataDigitaloceanSshKey
from cdktf_cdktf_provider_digitalocean.droplet import Droplet
from cdktf_cdktf_provider_digitalocean.firewall import Firewall, FirewallInboundRule, FirewallOutboundRule
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.config.hosts import Droplets, HostsConfig, Node
from sprocket_infra.constructs.cloud_init import init_document, join_document

ANYWHERE = ("0.0.0.0/0", "::/0")
PUBLIC_PORTS = ("80", "443")
SWARM_PORTS = (("tcp", "2377"), ("tcp", "7946"), ("udp", "7946"), ("udp", "4789"))
"""Swarm's cluster management, node gossip (both protocols) and VXLAN overlay data ports."""
_FINGERPRINT = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){15}$")


@dataclass(frozen=True, kw_only=True)
class SwarmHostsProps:
    environment: Environment
    """Its ``hosts`` section must use ``provision.kind: droplets``."""


class SwarmHosts(Construct):
    """Public attributes: ``droplets`` (by node name), ``edge`` (the edge node's droplet), ``firewall``."""

    def __init__(self, scope: Construct, construct_id: str, props: SwarmHostsProps) -> None:
        super().__init__(scope, construct_id)
        environment = props.environment
        hosts = environment.hosts
        if hosts is None or not isinstance(hosts.provision, Droplets):
            raise ValueError("SwarmHosts needs hosts.provision.kind: droplets")
        provision = hosts.provision
        keys = self._ssh_keys(provision.ssh_keys)
        region = provision.region or environment.digitalocean.region
        self.droplets: dict[str, Droplet] = {}
        bootstrap = None if provision.join_address else _first_manager(hosts)
        tokens: dict[str, TerraformVariable] = {}
        for node in hosts.nodes:
            if node is bootstrap:
                user_data = init_document()
            else:
                if node.role not in tokens:
                    tokens[node.role] = TerraformVariable(
                        self,
                        naming.join_token_variable(node.role),
                        type="string",
                        sensitive=True,
                        nullable=False,
                        description=f"Swarm {node.role} join token (docker swarm join-token -q {node.role}); "
                        "only read when a droplet is created.",
                    )
                    # TF_VAR_<name> is how the operator passes it: the name must not be hashed.
                    tokens[node.role].override_logical_id(naming.join_token_variable(node.role))
                user_data = join_document(
                    token=tokens[node.role].string_value, manager_address=self._manager(provision, bootstrap)
                )
            self.droplets[node.name] = Droplet(
                self,
                node.name,
                name=node.name,
                image=provision.image,
                size=node.size or provision.size,
                region=region,
                ssh_keys=keys,
                tags=[provision.tag],
                user_data=user_data,
                monitoring=True,
                ipv6=False,
                lifecycle=TerraformResourceLifecycle(ignore_changes=["user_data", "image", "ssh_keys"]),
            )
        edge = hosts.edge_node
        assert edge is not None  # HostsConfig requires exactly one edge node
        self.edge = self.droplets[edge.name]
        self.firewall = Firewall(
            self,
            "firewall",
            name=naming.swarm_firewall(environment),
            tags=[provision.tag],
            inbound_rule=[
                *(
                    FirewallInboundRule(protocol="tcp", port_range=port, source_addresses=list(ANYWHERE))
                    for port in PUBLIC_PORTS
                ),
                FirewallInboundRule(
                    protocol="tcp", port_range="22", source_addresses=list(provision.admin_cidrs)
                ),
                *(
                    FirewallInboundRule(protocol=protocol, port_range=port, source_tags=[provision.tag])
                    for protocol, port in SWARM_PORTS
                ),
            ],
            outbound_rule=[
                FirewallOutboundRule(
                    protocol=protocol, port_range="1-65535", destination_addresses=list(ANYWHERE)
                )
                for protocol in ("tcp", "udp")
            ]
            + [FirewallOutboundRule(protocol="icmp", destination_addresses=list(ANYWHERE))],
        )

    def _manager(self, provision: Droplets, bootstrap: Node | None) -> str:
        if provision.join_address is not None:
            return provision.join_address
        assert bootstrap is not None
        return f"{self.droplets[bootstrap.name].ipv4_address_private}:2377"

    def _ssh_keys(self, refs: Sequence[str]) -> list[str]:
        """Fingerprints as they are; names resolved by a ``digitalocean_ssh_key`` lookup each."""
        keys = []
        for index, ref in enumerate(refs):
            if _FINGERPRINT.match(ref):
                keys.append(ref)
            else:
                keys.append(Token.as_string(DataDigitaloceanSshKey(self, f"ssh-key-{index}", name=ref).id))
        return keys

    @property
    def nodes(self) -> list[Droplet]:
        return list(self.droplets.values())


def _first_manager(hosts: HostsConfig) -> Node:
    return next(node for node in hosts.nodes if node.role == "manager")
