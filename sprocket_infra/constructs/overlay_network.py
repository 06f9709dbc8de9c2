"""``overlay_network``: every Swarm overlay network of the three stacks, declared one way."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_docker.network import Network
from constructs import Construct


def overlay_network(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    encrypted: bool,
    attachable: bool = False,
    internal: bool = False,
) -> Network:
    """An overlay network; ``encrypted`` turns on IPsec between nodes for its traffic.

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
        options={"encrypted": "true"} if encrypted else None,
        lifecycle=TerraformResourceLifecycle(ignore_changes=["options"]),
    )
