"""Checks over the environment and catalog together: one owner per host, derived names the engines take.

The rules run on loaded inputs without building anything; the last test keeps their list of layer1 and
layer2 hosts equal to what the synthesized stacks really route.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sprocket_infra.catalog import CATALOG_FILE, Catalog, load_catalog, parse_catalog
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import Environment, load_environment
from sprocket_infra.input_checks import Sources, input_problems, routed_hosts
from tests.conftest import ENVIRONMENTS, Stacks
from tests.unit.fixture_environments import fixture_environment
from tests.unit.test_routed_hosts import claims

SOURCES = Sources(environment="config/test.yaml", catalog="services.yaml")


def _environment(name: str, **changes: Any) -> Environment:
    return fixture_environment(name, **changes)


def _catalog(mutate: Callable[[dict[str, Any]], None] | None = None) -> Catalog:
    data = copy.deepcopy(yaml.safe_load(CATALOG_FILE.read_text()))
    if mutate:
        mutate(data)
    return parse_catalog(data, source="services.yaml", vocabulary=default_vocabulary())


def _problems(environment: Environment, catalog: Catalog | None = None) -> list[str]:
    return [str(problem) for problem in input_problems(environment, catalog or _catalog(), SOURCES)]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_shipped_inputs_pass(name: str) -> None:
    assert input_problems(load_environment(name), load_catalog(), SOURCES) == []


def _route(service: str, subdomain: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["services"][service]["routes"] = [{"subdomain": subdomain}]

    return mutate


@pytest.mark.parametrize(
    ("environment", "catalog", "expected"),
    [
        (
            _environment("local"),
            _route("image-generation-frontend", "grafana"),
            "services.yaml: services.image-generation-frontend.routes.0: host grafana.localhost is already "
            "routed to layer2's Grafana (reserved)",
        ),
        (
            _environment("local"),
            _route("image-generation-frontend", "traefik"),
            "host traefik.localhost is already routed to layer1's Traefik dashboard (reserved)",
        ),
        (
            _environment("local", vault__subdomain="api"),
            None,
            "services.yaml: services.core.routes.0: host api.localhost is already routed to Vault "
            "(config/test.yaml: vault.subdomain)",
        ),
        (
            _environment("local", vault__subdomain="fa"),
            None,
            "config/test.yaml: layer2.forward_auth.subdomain: host fa.localhost is already routed to Vault",
        ),
        (
            _environment("local", vault__subdomain="status"),
            None,
            "config/test.yaml: routing.domain: host status.localhost is already routed to Vault",
        ),
    ],
    ids=[
        "catalog takes an admin UI",
        "catalog takes the dashboard",
        "vault takes an app",
        "fa vs vault",
        "ui vs vault",
    ],
)
def test_fails_when_a_host_has_two_owners(
    environment: Environment, catalog: Callable[[dict[str, Any]], None] | None, expected: str
) -> None:
    problems = _problems(environment, _catalog(catalog) if catalog else None)
    assert any(expected in problem for problem in problems), problems


def test_the_ips_belong_to_the_one_route_that_answers_on_them() -> None:
    hosts = {claim.host: claim.key for claim in routed_hosts(_environment("lan"), _catalog(), SOURCES)}
    assert hosts["192.168.4.39"] == hosts["100.110.185.84"] == hosts["sprocket.lan"]


def test_fails_when_a_host_is_longer_than_dns_allows() -> None:
    domain = ".".join(["a" * 60] * 4)
    problems = _problems(_environment("local", routing__domain=domain))
    assert any("is longer than DNS allows" in problem for problem in problems), problems


def test_fails_when_a_derived_service_name_ends_in_a_dash() -> None:
    data = copy.deepcopy(yaml.safe_load(CATALOG_FILE.read_text()))
    data["services"]["tool-"] = {
        "description": "x",
        "repository": "tool",
        "healthcheck": {"command": ["CMD", "true"]},
    }
    catalog = parse_catalog(data, source="services.yaml", vocabulary=default_vocabulary())
    assert (
        "services.yaml: services.tool-: service name 'local-tool-': Swarm wants letters and digits joined by "
        "'-' or '_', ending in one (from name 'local' in config/test.yaml)"
    ) in _problems(_environment("local"), catalog)


def test_fails_when_a_derived_bucket_name_is_refused_by_s3() -> None:
    environment = _environment("prod").model_copy(update={"name": "prod-"})
    problems = _problems(environment)
    assert any("layer2.buckets.general: bucket name 'sprocket-general-prod-'" in p for p in problems), (
        problems
    )


def test_fails_when_a_spaces_bucket_is_in_a_region_without_spaces() -> None:
    problems = _problems(_environment("prod", digitalocean__region="nyc1"))
    assert "config/test.yaml: digitalocean.region: 'nyc1' offers no Spaces" in problems[0]
    assert len(problems) == 3  # one per bucket that takes the default region


def test_a_spaces_bucket_in_a_spaces_region_passes() -> None:
    buckets = {
        "general": {"provider": "spaces", "region": "ams3"},
        "replays": {"provider": "aws", "region": "eu-west-1"},
    }
    assert _problems(_environment("prod", digitalocean__region="nyc1", layer2__buckets=buckets)) == []


def test_the_reserved_hosts_are_what_the_stacks_route(synth_stacks: Callable[[str], Stacks]) -> None:
    """layer1 and layer2 route exactly the hosts the input check reserves for them (and the catalog's)."""
    for name in ENVIRONMENTS:
        synthesized = {claim.host for claim in claims(synth_stacks(name))}
        checked = {claim.host for claim in routed_hosts(load_environment(name), load_catalog(), SOURCES)}
        assert synthesized == checked, name
