"""``overlay_network``: every Swarm overlay network of the three stacks, declared one way."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_docker.network import Network
from constructs import Construct

from sprocket_infra.config import SwarmConfig


def overlay_network(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    swarm: SwarmConfig,
    internal: bool,
    attachable: bool = False,
    edge: bool = False,
) -> Network:
    """An overlay network, IPsec-encrypted between nodes where the environment says so
    (``swarm.encrypt_overlays``).

    ``internal`` networks have no way out of the swarm (data and monitoring); the platform's are not
    internal because the apps call Discord and other APIs. The ``edge`` network (Traefik's ingress) is
    left unencrypted, as it always was: on one node nothing crosses a wire; on several, requests Traefik
    decrypted would travel between nodes in clear, so multi-node environments should revisit this.

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
        options={"encrypted": "true"} if swarm.encrypt_overlays and not edge else None,
        lifecycle=TerraformResourceLifecycle(ignore_changes=["options"]),
    )
