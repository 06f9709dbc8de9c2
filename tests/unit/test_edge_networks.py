"""Edge networks and fixed subnets: which exist, where each sits, and that none moves when others appear."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import yaml

from sprocket_infra.catalog import CATALOG_FILE, load_catalog, parse_catalog
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import ConfigError, load_environment, parse_environment
from sprocket_infra.edge_networks import edge_plan, platform_subnets, purpose_indexes
from tests.unit.fixture_environments import shipped_data, with_setting

PINNED = {
    "vault-edge": "10.240.1.0/24",
    "forward-auth-edge": "10.240.2.0/24",
    "grafana-edge": "10.240.3.0/24",
    "influxdb-edge": "10.240.4.0/24",
    "n8n-edge": "10.240.5.0/24",
    "neo4j-edge": "10.240.6.0/24",
    "rabbitmq-edge": "10.240.7.0/24",
    "gatus-edge": "10.240.8.0/24",
    "local-dgraph-edge": "10.240.114.0/24",
    "local-platform-edge": "10.240.78.0/24",
}
"""Deployed subnets: a change here replaces a network (and restarts every service on it)."""


def test_every_edge_network_keeps_its_subnet() -> None:
    plan = edge_plan(load_environment("local"), load_catalog())
    assert {spec.name: str(spec.subnet) for spec in plan} == PINNED
    assert {
        key: str(net) for key, net in platform_subnets(load_environment("local"), load_catalog()).items()
    } == {
        "dgraph": "10.240.178.0/24",
        "platform": "10.240.142.0/24",
    }


def test_a_new_purpose_moves_no_existing_one() -> None:
    before = purpose_indexes(["platform", "dgraph"])
    after = purpose_indexes(["platform", "dgraph", "aardvark", "ratings", "search"])
    assert {purpose: after[purpose] for purpose in before} == before


def test_a_routed_app_on_a_new_network_adds_only_its_zone_edge() -> None:
    data: dict[str, Any] = yaml.safe_load(CATALOG_FILE.read_text())
    data["services"]["ratings"] = {
        "description": "Ratings API.",
        "repository": "ratings",
        "port": 3000,
        "routes": [{"subdomain": "ratings"}],
        "networks": ["ratings"],
        "healthcheck": {"http": "/"},
    }
    catalog = parse_catalog(data, source="catalog.yaml", vocabulary=default_vocabulary())
    names = {spec.name: str(spec.subnet) for spec in edge_plan(load_environment("local"), catalog)}
    assert set(names) - set(PINNED) == {"local-ratings-edge"}
    assert {name: names[name] for name in PINNED} == PINNED


def test_every_edge_network_is_internal_unless_its_backend_calls_out() -> None:
    plan = edge_plan(load_environment("prod"), load_catalog())
    assert {spec.name for spec in plan if not spec.internal} == {
        "vault-edge",
        "forward-auth-edge",
        "grafana-edge",
        "n8n-edge",
        "gatus-edge",
    }


def test_the_pool_is_configurable() -> None:
    environment = parse_environment(
        with_setting(shipped_data("local"), "swarm.subnet_pool", "10.77.0.0/16"), source="config/test.yaml"
    )
    plan = edge_plan(environment, load_catalog())
    assert all(spec.subnet.subnet_of(ipaddress.IPv4Network("10.77.0.0/16")) for spec in plan)


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ("10.240.0.0/20", "expected a /16 or larger private block such as '10.240.0.0/16'"),
        ("8.8.0.0/16", "expected a private address block"),
        ("10.240.0.1/16", "swarm.subnet_pool"),
    ],
)
def test_fails_when_the_subnet_pool_is_unusable(pool: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_environment(
            with_setting(shipped_data("local"), "swarm.subnet_pool", pool), source="config/test.yaml"
        )
    message = str(caught.value)
    assert message.startswith("config/test.yaml: swarm.subnet_pool"), message
    assert expected in message, message
    assert len(message.splitlines()) == 1, message
