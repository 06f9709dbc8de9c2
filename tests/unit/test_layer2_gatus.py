"""Gatus (in the platform stack) checks exactly the hosts Traefik routes to, in every stack."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import yaml
from cdktf_cdktf_provider_docker.secret import Secret as DockerSecret

from sprocket_infra.config import load_environment
from sprocket_infra.constructs.observability.gatus import CONFIG_DIR
from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import mounted_file, resources, service_labels, services

_HOST = re.compile(r"Host(?:SNI)?\(`([^`]+)`\)")


def routed_hosts(stacks: Stacks, *, tcp: bool) -> set[str]:
    """Every host named in a router rule of any service of any stack (TCP routers only when ``tcp``)."""
    hosts: set[str] = set()
    for stack in stacks.values():
        for service in services(stack).values():
            for key, value in service_labels(service).items():
                if key.endswith(".rule") and (
                    key.startswith("traefik.http.") or (tcp and key.startswith("traefik.tcp."))
                ):
                    hosts |= set(_HOST.findall(value))
    return hosts


def gatus_endpoints(stacks: Stacks) -> list[dict[str, object]]:
    platform = stacks["platform"]
    text = mounted_file(platform, services(platform)["gatus"], f"{CONFIG_DIR}/endpoints.yaml")
    return yaml.safe_load(text)["endpoints"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_endpoints_are_the_routed_hosts(synth_stacks: Callable[[str], Stacks], environment: str) -> None:
    stacks = synth_stacks(environment)
    tls = load_environment(environment).routing.acme.tls
    endpoints = gatus_endpoints(stacks)
    assert sorted(endpoint["name"] for endpoint in endpoints) == sorted(routed_hosts(stacks, tcp=tls))
    assert {"traefik", "vault"} <= {str(endpoint["name"]).split(".")[0] for endpoint in endpoints}


def test_checks_go_through_traefik_where_names_do_not_resolve(synth_stacks: Callable[[str], Stacks]) -> None:
    for endpoint in gatus_endpoints(synth_stacks("local")):
        assert endpoint["url"] == "http://traefik/"
        assert endpoint["headers"] == {"Host": endpoint["name"]}


def test_a_missing_router_counts_as_down(synth_stacks: Callable[[str], Stacks]) -> None:
    for endpoint in gatus_endpoints(synth_stacks("prod")):
        condition = " ".join(endpoint["conditions"])  # type: ignore[arg-type]
        assert "404" not in condition
        assert "[STATUS]" in condition or "[CONNECTED]" in condition


def test_the_webhook_stays_out_of_the_spec(synth_stacks: Callable[[str], Stacks]) -> None:
    platform = synth_stacks("prod")["platform"]
    (alerting,) = [
        body
        for body in resources(platform, DockerSecret.TF_RESOURCE_TYPE).values()
        if body["name"].startswith("gatus-alerting-yaml")
    ]
    assert "data.vault_kv_secret_v2." in alerting["data"]
    assert "discord.com" not in str(services(platform)["gatus"])


def test_layer2_reads_no_gatus_secret(synth_stacks: Callable[[str], Stacks]) -> None:
    """The webhook moved with Gatus to the platform mount; layer2's deploy never reads it."""
    layer2 = synth_stacks("prod")["layer2"]
    assert "gatus" not in str(layer2.get("data", {}))
    assert "gatus" not in services(layer2)
