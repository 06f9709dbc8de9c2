"""The e2e reachability rules (tests/e2e/network_checks.py) fail on a topology that breaks them."""

from __future__ import annotations

from dataclasses import replace

from sprocket_infra.catalog import load_catalog
from sprocket_infra.config import load_environment
from sprocket_infra.edge_networks import EdgeSpec, edge_plan
from tests.e2e.network_checks import LiveNetwork, LiveService, Topology, admin_ports_reachable, edge_problems

PORT = "traefik.http.services.{name}.loadbalancer.server.port"


def _plan() -> tuple[EdgeSpec, ...]:
    return edge_plan(load_environment("local"), load_catalog())


def _kept(plan: tuple[EdgeSpec, ...]) -> Topology:
    """A Swarm that keeps every rule: each backend alone with Traefik on its edge."""
    networks = {
        spec.name: LiveNetwork(
            name=spec.name, subnets=(str(spec.subnet),), encrypted=True, internal=spec.internal
        )
        for spec in plan
    }
    traefik = LiveService(
        name="traefik",
        networks=frozenset([*networks, "docker-socket-proxy"]),
        labels={},
        addresses={spec.name: (f"{spec.subnet.network_address + 2}/24",) for spec in plan},
    )
    backends = {
        spec.key: LiveService(
            name=spec.key,
            networks=frozenset([spec.name]),
            labels={"traefik.swarm.network": spec.name, PORT.format(name=spec.key): "8080"},
        )
        for spec in plan
    }
    app = LiveService(
        name="local-discord-bot", networks=frozenset(["local-platform", "sprocket-data-rabbitmq"]), labels={}
    )
    return Topology(services={"traefik": traefik, **backends, app.name: app}, networks=networks)


def test_a_swarm_that_keeps_the_rules_has_no_problems() -> None:
    plan = _plan()
    assert edge_problems(_kept(plan), plan, encrypt=True) == []


def test_fails_when_an_app_joins_a_backends_edge_network() -> None:
    plan = _plan()
    topology = _kept(plan)
    bot = topology.services["local-discord-bot"]
    services = {**topology.services, bot.name: replace(bot, networks=bot.networks | {"rabbitmq-edge"})}
    problems = edge_problems(replace(topology, services=services), plan, encrypt=True)
    assert "local-discord-bot shares ['rabbitmq-edge'] with traefik" in problems
    assert any(
        problem.startswith("rabbitmq-edge: joined by ['local-discord-bot', 'rabbitmq']")
        for problem in problems
    )
    assert admin_ports_reachable(replace(topology, services=services), bot.name) == {"rabbitmq": [8080]}


def test_fails_when_an_edge_network_is_unencrypted_or_renumbered() -> None:
    plan = _plan()
    topology = _kept(plan)
    vault = topology.networks["vault-edge"]
    networks = {**topology.networks, "vault-edge": replace(vault, encrypted=False, subnets=("10.0.9.0/24",))}
    problems = edge_problems(replace(topology, networks=networks), plan, encrypt=True)
    assert "vault-edge: encrypted=False, swarm.encrypt_overlays=True" in problems
    assert "vault-edge: subnets ('10.0.9.0/24',), planned 10.240.1.0/24" in problems


def test_fails_when_traefik_holds_no_address_inside_an_edge_subnet() -> None:
    plan = _plan()
    topology = _kept(plan)
    traefik = topology.services["traefik"]
    moved = replace(traefik, addresses={**traefik.addresses, "vault-edge": ("10.0.0.7/24",)})
    problems = edge_problems(
        replace(topology, services={**topology.services, "traefik": moved}), plan, encrypt=True
    )
    assert problems == ["traefik's tasks hold ['10.0.0.7/24'] on vault-edge, not in 10.240.1.0/24"]
