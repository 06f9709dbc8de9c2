"""Where each kind of service runs and how many tasks it gets: one rule per kind, from the environment.

Without a ``hosts`` section every function returns what the constructs used before (``swarm.placement``
as it is, the catalog's replica counts), so single-node environments synthesize unchanged. With one:

* **edge** (Traefik): ``swarm.placement.ingress`` plus the edge label. Exactly one node carries it, because
  Traefik's ACME file has a single writer (ADR 0012) and its ports are published in host mode there;
* **volumes**: ``swarm.placement.storage`` plus the volumes label, so a service and its local named volume
  never part (Swarm would start the task on another node with an empty volume);
* **stateless platform services** get at least ``hosts.spread.replicas`` tasks, at most
  ``max_replicas_per_node`` per node; a service that must run alone keeps its count.

Pure functions of the config and catalog (no cdktf), so :mod:`sprocket_infra.placement_checks` can reason
about the same answers the constructs synthesize.
"""

from __future__ import annotations

from sprocket_infra.catalog.model import ServiceEntry
from sprocket_infra.config import Environment


def edge_placement(environment: Environment) -> tuple[str, ...]:
    """Constraints of Traefik: the ingress nodes, narrowed to the one edge node when nodes are declared."""
    ingress = tuple(environment.swarm.placement.ingress)
    hosts = environment.hosts
    return ingress if hosts is None else _narrowed(ingress, hosts.edge_constraint)


def volume_placement(environment: Environment) -> tuple[str, ...]:
    """Constraints of a service with a named volume: the storage nodes, narrowed to the volumes node."""
    storage = tuple(environment.swarm.placement.storage)
    hosts = environment.hosts
    return storage if hosts is None else _narrowed(storage, hosts.volumes_constraint)


def _narrowed(constraints: tuple[str, ...], constraint: str) -> tuple[str, ...]:
    """``constraints`` and ``constraint``, which is left out when already among them."""
    return constraints if constraint in constraints else (*constraints, constraint)


def runs_alone(entry: ServiceEntry) -> bool:
    """Whether two tasks of ``entry`` would be wrong: a volume (one writer of its data directory) or
    ``rollout: stop-first``, which the catalog sets exactly where two running tasks do the work twice
    (one Discord gateway session, timers and scheduled jobs that must fire once)."""
    return entry.stateful or entry.rollout == "stop-first"


def spreads(environment: Environment, entry: ServiceEntry) -> bool:
    """Whether ``entry`` is spread over the nodes (``hosts.spread`` set and the entry may run twice).
    Competing consumers of a work queue may: RabbitMQ hands each message to one of them."""
    hosts = environment.hosts
    return hosts is not None and hosts.spread is not None and not runs_alone(entry)


def platform_replicas(environment: Environment, key: str, entry: ServiceEntry) -> int:
    """Tasks of catalog entry ``key``: ``platform.replicas`` if it names the entry, else the catalog's
    count, raised to ``hosts.spread.replicas`` for a service that spreads."""
    explicit = environment.platform.replicas.get(key)
    if explicit is not None:
        return explicit
    hosts = environment.hosts
    if spreads(environment, entry) and hosts is not None and hosts.spread is not None:
        return max(entry.replicas, hosts.spread.replicas)
    return entry.replicas


def max_replicas_per_node(environment: Environment, entry: ServiceEntry) -> int | None:
    """Swarm's per-node task limit for ``entry``; None (not written) unless it spreads with a limit."""
    hosts = environment.hosts
    if not spreads(environment, entry) or hosts is None or hosts.spread is None:
        return None
    return hosts.spread.max_replicas_per_node or None
