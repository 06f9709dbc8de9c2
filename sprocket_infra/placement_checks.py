"""Checks of ``hosts`` against the rest of the inputs: what Swarm or the network would get wrong in silence.

Swarm accepts a constraint no node satisfies (the task just stays pending) and a replica count the
per-node limit cannot place; a DigitalOcean firewall drops what it has no rule for. Each rule here names
the file and key to change:

* ``swarm.placement`` constraints evaluated against the declared nodes: the manager services' set holds
  only managers, Traefik's set holds the edge node, the storage set holds the volumes node, and without
  Vault HA the storage set is one node (Vault's data and unseal keys are node-local), with it each Vault
  node's label (``vault.ha.node_label``) is on exactly one storage node;
* ``hosts.spread``: ``replicas`` fit under ``max_replicas_per_node`` on the declared nodes;
* ``platform.replicas`` never runs a service that must run alone (``placement.runs_alone``) twice;
* ``hosts.dns.zone`` holds ``routing.domain``;
* several droplets behind the firewall with ``swarm.encrypt_overlays``: encrypted overlays travel as
  IPsec ESP (IP protocol 50), and DigitalOcean cloud firewalls filter only TCP, UDP and ICMP, so
  cross-node overlay traffic would be dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sprocket_infra.catalog import Catalog
from sprocket_infra.config import Environment
from sprocket_infra.config.hosts import Droplets, HostsConfig, Node
from sprocket_infra.input_checks import Problem, Sources
from sprocket_infra.placement import runs_alone


def matches(constraint: str, node: Node) -> bool | None:
    """Whether ``node`` satisfies one Swarm constraint; None when it reads something config cannot know
    (``node.id``, ``node.ip``, the platform, engine labels)."""
    operator = "==" if "==" in constraint else "!="
    key, _, expected = (part.strip() for part in constraint.partition(operator))
    lowered = key.lower()
    if lowered == "node.role":
        actual: str | None = node.role
    elif lowered == "node.hostname":
        actual = node.name
    elif lowered.startswith("node.labels."):
        actual = node.labels.get(key[len("node.labels.") :])
    else:
        return None
    equal = actual is not None and actual.lower() == expected.lower()
    return equal if operator == "==" else not equal


def eligible(constraints: Sequence[str], nodes: Sequence[Node]) -> list[Node] | None:
    """The nodes satisfying every constraint; None when one of them cannot be evaluated from config."""
    chosen = []
    for node in nodes:
        results = [matches(constraint, node) for constraint in constraints]
        if None in results:
            return None
        if all(results):
            chosen.append(node)
    return chosen


def _names(nodes: Sequence[Node]) -> str:
    return ", ".join(node.name for node in nodes) or "none"


def placement_problems(environment: Environment, catalog: Catalog, sources: Sources) -> Iterator[Problem]:
    hosts = environment.hosts
    if hosts is None:
        return
    file = sources.environment
    yield from _constraint_problems(environment, hosts, file)
    spread = hosts.spread
    if spread is not None and spread.max_replicas_per_node:
        capacity = spread.max_replicas_per_node * len(hosts.nodes)
        if spread.replicas > capacity:
            yield Problem(
                file,
                "hosts.spread.replicas",
                f"{spread.replicas} tasks cannot be placed on {len(hosts.nodes)} node(s) at "
                f"{spread.max_replicas_per_node} per node (the rest stay pending); lower it or raise "
                "max_replicas_per_node",
            )
    for key, count in sorted(environment.platform.replicas.items()):
        entry = catalog.services.get(key)
        if entry is not None and count > 1 and runs_alone(entry):
            yield Problem(
                file,
                f"platform.replicas.{key}",
                f"{catalog.source}: services.{key} must run alone (a volume or rollout: stop-first); "
                f"expected 0 or 1 (got {count})",
            )
    domain, zone = environment.routing.domain, hosts.dns.zone
    if domain != zone and not domain.endswith(f".{zone}"):
        yield Problem(file, "hosts.dns.zone", f"expected {domain!r} or a parent domain of it (got {zone!r})")
    if isinstance(hosts.provision, Droplets) and len(hosts.nodes) > 1 and environment.swarm.encrypt_overlays:
        yield Problem(
            file,
            "swarm.encrypt_overlays",
            "encrypted overlays between droplets travel as IPsec ESP, which a DigitalOcean firewall cannot "
            "allow (TCP, UDP and ICMP only); expected false (traffic stays in the droplets' VPC)",
        )


def _constraint_problems(environment: Environment, hosts: HostsConfig, file: str) -> Iterator[Problem]:
    placement = environment.swarm.placement
    nodes = hosts.nodes
    managers = eligible(placement.manager, nodes)
    if managers is not None and (not managers or any(node.role != "manager" for node in managers)):
        yield Problem(
            file,
            "swarm.placement.manager",
            f"must select managers only, and at least one (selects: {_names(managers)})",
        )
    for key, constraints, holder, label in (
        ("swarm.placement.ingress", placement.ingress, hosts.edge_node, hosts.edge_label),
        ("swarm.placement.storage", placement.storage, _volumes_node(hosts), hosts.volumes_label),
    ):
        chosen = eligible(constraints, nodes)
        if chosen is not None and holder is not None and holder not in chosen:
            yield Problem(
                file,
                key,
                f"does not select {holder.name!r}, the node labelled {label}=true "
                f"(selects: {_names(chosen)})",
            )
    storage = eligible(placement.storage, nodes)
    ha = environment.vault.ha
    if ha is not None:
        for index in range(1, ha.nodes + 1):
            holders = [node for node in nodes if node.labels.get(ha.node_label) == str(index)]
            chosen = eligible([*placement.storage, f"node.labels.{ha.node_label}=={index}"], nodes)
            if len(holders) != 1 or (chosen is not None and len(chosen) != 1):
                yield Problem(
                    file,
                    "hosts.nodes",
                    f"Vault node {index} runs where {ha.node_label}={index} and swarm.placement.storage "
                    f"hold: label exactly one storage node so (labelled: {_names(holders)})",
                )
    if ha is None and storage is not None and len(storage) > 1:
        yield Problem(
            file,
            "swarm.placement.storage",
            f"selects {_names(storage)}; without vault.ha, Vault's data and keys are on one node: "
            "select one node (e.g. node.labels.<label>==true)",
        )


def _volumes_node(hosts: HostsConfig) -> Node | None:
    holders = [node for node in hosts.nodes if node.labels.get(hosts.volumes_label) == "true"]
    return holders[0] if len(holders) == 1 else None
