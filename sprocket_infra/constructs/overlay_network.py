"""``overlay_network``: every Swarm overlay network of the three stacks, declared one way."""

from __future__ import annotations

import ipaddress

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_docker.network import Network, NetworkIpamConfig
from constructs import Construct

from sprocket_infra.config import SwarmConfig
from sprocket_infra.edge_networks import gateway


def overlay_network(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    swarm: SwarmConfig,
    internal: bool,
    attachable: bool = False,
    subnet: ipaddress.IPv4Network | None = None,
) -> Network:
    """An overlay network, IPsec-encrypted between nodes where the environment says so
    (``swarm.encrypt_overlays``), the edge networks included: requests Traefik decrypted never cross
    between nodes in clear.

    ``internal`` networks have no way out of the swarm (data, monitoring, most edge networks); the
    platform's are not internal because the apps call Discord and other APIs. ``subnet`` fixes the
    network's addresses (edge and platform networks, :mod:`sprocket_infra.edge_networks`), so that an
    allow-list can name exactly who is on it; left out, Swarm picks one from its default pool.

    Swarm adds options of its own to every overlay (``com.docker.network.driver.overlay.vxlanid_list``)
    and the provider reads them back; since any change of ``options`` replaces the network (and with it
    every service attached), the plan must not compare them. Options are fixed at creation: changing
    ``encrypted`` later is a deliberate ``tofu apply -replace`` of the network.
    """
    return Network(
        scope,
        construct_id,
        name=name,
        driver="overlay",
        attachable=attachable,
        internal=internal,
        options={"encrypted": "true"} if swarm.encrypt_overlays else None,
        ipam_config=None
        if subnet is None
        else [NetworkIpamConfig(subnet=str(subnet), gateway=gateway(subnet))],
        lifecycle=TerraformResourceLifecycle(ignore_changes=["options"]),
    )
