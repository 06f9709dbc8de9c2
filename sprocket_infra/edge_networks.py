"""Which edge networks an environment has, and the fixed subnet of each (and of the platform's networks).

An edge network joins Traefik and one backend, nothing else (ADR 13, docs/networks.md): Traefik reaches
every routed backend, and a backend reaches no other backend's ports. Backends of one trust zone share one:
the routed catalog entries of a platform network (``platform``, ``dgraph``) already share that network, so
their common edge adds no reach between them, and adding a routed app to an existing zone leaves layer1
(where Traefik and the edge networks live) unchanged.

Every subnet is a /24 of ``swarm.subnet_pool``, at a slot that never depends on what else exists, so adding
a backend never renumbers (and so replaces) another's network:

* slots 1-63: the layer1/layer2/status-page backends of :data:`LAYER_BACKENDS`, at their fixed slot;
* slots 64-127: the edge of platform zone ``purpose``; slots 128-191: platform network ``purpose`` itself.
  A purpose's index (0-63) is a hash of its name; two purposes whose hashes meet are told apart in name
  order, the one case where a new purpose could move an existing one (a unit test pins today's slots).

This module is pure (no cdktf): layer1 builds the networks from :func:`edge_plan`, Vault's trusted-proxy
list and DGraph's admin allow-list read the same subnets.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.catalog import Catalog
from sprocket_infra.catalog.model import ServiceEntry
from sprocket_infra.config import Environment
from sprocket_infra.config.swarm import EDGE_SUBNET_PREFIX

PLATFORM_PURPOSE = "platform"


@dataclass(frozen=True, kw_only=True)
class Backend:
    slot: int
    """Index of its /24 in ``swarm.subnet_pool``; fixed forever once deployed (append, never renumber)."""
    egress: bool
    """Reaches the internet through its edge network (its only one, or its only non-internal one); a
    backend without egress gets an ``internal`` edge network."""


LAYER_BACKENDS: Mapping[str, Backend] = {
    naming.VAULT_SERVICE: Backend(slot=1, egress=True),  # S3 storage on Spaces, a KMS seal
    naming.FORWARD_AUTH_SERVICE: Backend(slot=2, egress=True),  # Discord's OAuth API
    "grafana": Backend(slot=3, egress=True),  # alert notifications to Discord
    "influxdb": Backend(slot=4, egress=False),
    "n8n": Backend(slot=5, egress=True),  # workflows call external APIs
    "neo4j": Backend(slot=6, egress=False),
    "rabbitmq": Backend(slot=7, egress=False),
    "gatus": Backend(slot=8, egress=True),  # checks public URLs where certificates are issued
}
"""Every routed service of layer1, layer2 and the status page, by Swarm service name. Traefik itself is
not here: it joins every edge network."""

_ZONE_SLOTS = 64
_ZONE_EDGE_BASE = 64
_PLATFORM_NETWORK_BASE = 128


@dataclass(frozen=True, kw_only=True)
class EdgeSpec:
    """One edge network as layer1 creates it."""

    key: str
    """The backend's service name, or the platform zone (``<env>-<purpose>``)."""
    name: str
    """The network's name (``<key>-edge``), also the routes' ``traefik.swarm.network`` label."""
    construct_id: str
    """``edge-network-<key without the environment>``: the same Terraform address in every environment."""
    subnet: ipaddress.IPv4Network
    internal: bool


def subnet_at(pool: ipaddress.IPv4Network, slot: int) -> ipaddress.IPv4Network:
    """The ``slot``-th /24 of ``pool``."""
    size = 2 ** (32 - EDGE_SUBNET_PREFIX)
    if not 0 <= slot < pool.num_addresses // size:
        raise ValueError(f"subnet slot {slot} lies outside {pool}")
    return ipaddress.IPv4Network((int(pool.network_address) + slot * size, EDGE_SUBNET_PREFIX))


def gateway(subnet: ipaddress.IPv4Network) -> str:
    """The address Docker gives an overlay's gateway (its first host); written out so that the provider
    reads back exactly what the plan holds."""
    return str(next(subnet.hosts()))


def zone_of(entry: ServiceEntry) -> str:
    """The platform network whose edge a routed entry joins: ``platform`` when it is on it, else its
    first network (every member of the zone already shares that network with it)."""
    return PLATFORM_PURPOSE if PLATFORM_PURPOSE in entry.networks else entry.networks[0]


def purpose_indexes(purposes: Iterable[str]) -> dict[str, int]:
    """Purpose -> its index (0-63) among the platform's fixed-subnet slots: a hash of its name, the next
    free index (in name order) when another purpose holds it."""
    taken: dict[int, str] = {}
    for purpose in sorted(set(purposes)):
        index = int(hashlib.sha256(purpose.encode()).hexdigest()[:8], 16) % _ZONE_SLOTS
        for _ in range(_ZONE_SLOTS):
            if index not in taken:
                break
            index = (index + 1) % _ZONE_SLOTS
        else:
            raise ValueError(f"more than {_ZONE_SLOTS} platform network purposes")
        taken[index] = purpose
    return {purpose: index for index, purpose in taken.items()}


def _purposes(catalog: Catalog) -> set[str]:
    return {PLATFORM_PURPOSE} | {purpose for entry in catalog.services.values() for purpose in entry.networks}


def platform_subnets(environment: Environment, catalog: Catalog) -> dict[str, ipaddress.IPv4Network]:
    """Platform network purpose -> its fixed subnet (DGraph's admin allow-list names the ``dgraph`` one)."""
    pool = environment.swarm.subnet_pool
    return {
        purpose: subnet_at(pool, _PLATFORM_NETWORK_BASE + index)
        for purpose, index in sorted(purpose_indexes(_purposes(catalog)).items())
    }


def edge_plan(environment: Environment, catalog: Catalog) -> tuple[EdgeSpec, ...]:
    """Every edge network of ``environment``: one per layer backend, one per platform zone with a routed
    entry (``platform`` always, so a first routed app there changes only the platform stack)."""
    pool = environment.swarm.subnet_pool
    specs = [
        _spec(environment, key, subnet_at(pool, backend.slot), internal=not backend.egress)
        for key, backend in LAYER_BACKENDS.items()
    ]
    zones = {PLATFORM_PURPOSE} | {zone_of(entry) for entry in catalog.services.values() if entry.routes}
    indexes = purpose_indexes(_purposes(catalog))
    for purpose in sorted(zones):
        # Internal: the apps reach the internet through their platform network, never through the edge.
        subnet = subnet_at(pool, _ZONE_EDGE_BASE + indexes[purpose])
        specs.append(_spec(environment, naming.platform_zone(environment, purpose), subnet, internal=True))
    return tuple(specs)


def _spec(environment: Environment, key: str, subnet: ipaddress.IPv4Network, *, internal: bool) -> EdgeSpec:
    return EdgeSpec(
        key=key,
        name=naming.edge_network(key),
        construct_id=f"edge-network-{naming.environment_free_id(key, environment.name)}",
        subnet=subnet,
        internal=internal,
    )
