"""Who can reach whom, read from a live Swarm after the deploy: services, the networks they join, the edges.

:func:`read_topology` asks the engine (``docker service inspect``, ``docker network inspect``, the tasks'
network attachments); :func:`edge_problems` holds it against the rules of ADR 13 and returns what breaks
them, so a unit test can feed it a made-up topology that must fail:

* every edge network exists, with the subnet layer1 fixed for it, encrypted where
  ``swarm.encrypt_overlays`` says so;
* on each edge network the only services are Traefik and the backends routed over it (for a layer backend,
  exactly one; for a platform zone, that zone's routed entries), and each routed service's
  ``traefik.swarm.network`` label names that network;
* no service shares any network with Traefik but its own edge network (the socket proxy: its private one);
* Traefik's tasks hold an address inside every edge network's subnet (what Vault's trusted-proxy list and
  DGraph's allow-list rely on).

:func:`admin_ports_reachable` gives the figure for the docs: which routed ports (admin UIs and the rest)
one service can open directly, i.e. on a network it shares with the backend.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sprocket_infra import naming
from sprocket_infra.edge_networks import LAYER_BACKENDS, EdgeSpec
from tests.e2e.swarm import Swarm

NETWORK_LABEL = "traefik.swarm.network"
PORT_LABEL_SUFFIX = ".loadbalancer.server.port"


@dataclass(frozen=True, kw_only=True)
class LiveNetwork:
    name: str
    subnets: tuple[str, ...]
    encrypted: bool
    internal: bool


@dataclass(frozen=True, kw_only=True)
class LiveService:
    name: str
    networks: frozenset[str]
    """Names of the networks its spec joins."""
    labels: Mapping[str, str]
    addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Network name -> the addresses its tasks hold there (from the tasks' attachments)."""

    @property
    def routed_ports(self) -> frozenset[int]:
        """Ports Traefik forwards to on this service (its routers' load-balancer ports)."""
        return frozenset(
            int(value)
            for key, value in self.labels.items()
            if key.startswith("traefik.") and key.endswith(PORT_LABEL_SUFFIX)
        )


@dataclass(frozen=True, kw_only=True)
class Topology:
    services: Mapping[str, LiveService]
    networks: Mapping[str, LiveNetwork]

    def members(self, network: str) -> set[str]:
        return {name for name, service in self.services.items() if network in service.networks}


def read_topology(swarm: Swarm) -> Topology:
    """Every service and overlay network of the Swarm as the engine reports them now."""
    listed = [line for line in swarm.docker("network", "ls", "--format", "{{.ID}}").splitlines() if line]
    networks: dict[str, LiveNetwork] = {}
    names_by_id: dict[str, str] = {}
    for item in json.loads(swarm.docker("network", "inspect", *listed)):
        names_by_id[item["Id"]] = item["Name"]
        configs = (item.get("IPAM") or {}).get("Config") or []
        networks[item["Name"]] = LiveNetwork(
            name=item["Name"],
            subnets=tuple(config["Subnet"] for config in configs if "Subnet" in config),
            encrypted=(item.get("Options") or {}).get("encrypted") is not None,
            internal=bool(item.get("Internal")),
        )
    service_ids = [line for line in swarm.docker("service", "ls", "-q").splitlines() if line]
    services: dict[str, LiveService] = {}
    for item in json.loads(swarm.docker("service", "inspect", *service_ids)) if service_ids else []:
        spec = item["Spec"]
        joined = frozenset(
            names_by_id.get(network["Target"], network["Target"])
            for network in spec["TaskTemplate"].get("Networks") or []
        )
        services[spec["Name"]] = LiveService(
            name=spec["Name"],
            networks=joined,
            labels=dict(spec.get("Labels") or {}),
            addresses=_task_addresses(swarm, item, names_by_id),
        )
    return Topology(services=services, networks=networks)


def _task_addresses(
    swarm: Swarm, service: dict[str, Any], names_by_id: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """The service's virtual IP on each network and its running tasks' addresses there: all are
    handed out from the network's subnet, tasks or not (the e2e Swarm starts no task without an image)."""
    found: dict[str, list[str]] = {}
    for vip in (service.get("Endpoint") or {}).get("VirtualIPs") or []:
        found.setdefault(names_by_id.get(vip["NetworkID"], vip["NetworkID"]), []).append(vip["Addr"])
    running = swarm.docker("service", "ps", "-q", "--filter", "desired-state=running", service["ID"])
    tasks = [line for line in running.splitlines() if line]
    for task in json.loads(swarm.docker("inspect", *tasks)) if tasks else []:
        for attachment in task.get("NetworksAttachments") or []:
            network = attachment["Network"]
            name = names_by_id.get(network["ID"], network["Spec"]["Name"])
            found.setdefault(name, []).extend(attachment.get("Addresses") or [])
    return {name: tuple(addresses) for name, addresses in found.items()}


def edge_problems(topology: Topology, plan: Iterable[EdgeSpec], *, encrypt: bool) -> list[str]:
    """Every way the live Swarm breaks the edge rules (empty when it keeps them)."""
    problems: list[str] = []
    edges = {spec.name: spec for spec in plan}
    traefik = topology.services.get(naming.TRAEFIK_SERVICE)
    if traefik is None:
        return ["no traefik service in the Swarm"]
    for name, spec in sorted(edges.items()):
        live = topology.networks.get(name)
        if live is None:
            problems.append(f"edge network {name} does not exist")
            continue
        if live.subnets != (str(spec.subnet),):
            problems.append(f"{name}: subnets {live.subnets}, planned {spec.subnet}")
        if live.encrypted != encrypt:
            problems.append(f"{name}: encrypted={live.encrypted}, swarm.encrypt_overlays={encrypt}")
        if name not in traefik.networks:
            problems.append(f"traefik does not join {name}")
        addresses = [ipaddress.ip_interface(a) for a in traefik.addresses.get(name, ())]
        if not addresses or not all(a.ip in spec.subnet for a in addresses):
            problems.append(
                f"traefik's tasks hold {[str(a) for a in addresses]} on {name}, not in {spec.subnet}"
            )
        backends = topology.members(name) - {naming.TRAEFIK_SERVICE}
        labelled = {
            service.name
            for service in topology.services.values()
            if service.labels.get(NETWORK_LABEL) == name and service.name != naming.TRAEFIK_SERVICE
        }
        if spec.key == naming.VAULT_SERVICE:  # HA nodes 2..n join for raft, unrouted
            labelled |= {service for service in backends if _is_vault_node(service)}
        if backends != labelled:
            problems.append(f"{name}: joined by {sorted(backends)}, but routed over it: {sorted(labelled)}")
        if spec.key in LAYER_BACKENDS and len(backends) > 1 and not _vault_nodes(backends):
            problems.append(f"{name}: shared by {sorted(backends)}; a layer backend's edge holds only it")
    for service in topology.services.values():
        if service.name == naming.TRAEFIK_SERVICE:
            continue
        shared = service.networks & traefik.networks
        allowed = {service.labels[NETWORK_LABEL]} if NETWORK_LABEL in service.labels else set()
        if service.name == naming.SOCKET_PROXY_SERVICE:
            allowed.add(naming.SOCKET_PROXY_NETWORK)
        if _is_vault_node(service.name):
            allowed.add(naming.edge_network(naming.VAULT_SERVICE))
        if shared - allowed:
            problems.append(f"{service.name} shares {sorted(shared - allowed)} with traefik")
    return problems


def _is_vault_node(service: str) -> bool:
    return service == naming.VAULT_SERVICE or service.startswith(f"{naming.VAULT_SERVICE}-")


def _vault_nodes(services: set[str]) -> bool:
    return all(_is_vault_node(service) for service in services)


def admin_ports_reachable(topology: Topology, client: str) -> dict[str, list[int]]:
    """Routed backends (other than Traefik) and their routed ports that ``client`` shares a network with,
    i.e. can open without going through Traefik and its forward-auth."""
    origin = topology.services[client]
    reachable: dict[str, list[int]] = {}
    for service in topology.services.values():
        if service.name in (client, naming.TRAEFIK_SERVICE) or not service.routed_ports:
            continue
        if origin.networks & service.networks:
            reachable[service.name] = sorted(service.routed_ports)
    return reachable


def summary(topology: Topology, plan: Iterable[EdgeSpec]) -> dict[str, Any]:
    """Figures for the docs: each edge network's members."""
    return {spec.name: sorted(topology.members(spec.name)) for spec in plan}
