"""No two routers of an environment answer the same requests, whichever stack defines them.

Traefik merges the routers of every stack into one table; when two match the same host it picks one by
rule length and priority, and the other service silently stops getting traffic. ``Routing`` refuses such a
route while the stacks are built (tests/unit/test_edge.py); this is the independent check of what came out:
it parses every router label of every service in all three stacks. Two routers may share a host only
when their ``PathPrefix`` differs (n8n's ``/webhook`` router beside its editor). A TCP router claims its
whole host: Traefik hands a TLS connection to a matching ``HostSNI`` router before any HTTP router sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import service_labels, services
from tests.traefik_rules import parse_host_sni_rule, parse_http_rule

SynthStacks = Callable[[str], Stacks]


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One router answering on ``host``, for every path or only below ``path_prefix``."""

    host: str
    path_prefix: str | None
    router: str
    """``<stack>/<service>: <label>``, for the failure message."""
    tcp: bool = False
    """A TCP router, which takes every connection to its host whatever the path."""


def claims(stacks: Stacks) -> Iterator[Claim]:
    """Every (host, path prefix) some router of some service of ``stacks`` matches; the strict rule parser
    fails on a rule shape it does not know, so no router is skipped unnoticed."""
    for stack_name, stack in stacks.items():
        for name, body in services(stack).items():
            for label, rule in service_labels(body).items():
                router = f"{stack_name}/{name}: {label}"
                if label.startswith("traefik.http.routers.") and label.endswith(".rule"):
                    parsed = parse_http_rule(rule)
                    for host in parsed.hosts:
                        yield Claim(host=host, path_prefix=parsed.path_prefix, router=router)
                elif label.startswith("traefik.tcp.routers.") and label.endswith(".rule"):
                    for host in parse_host_sni_rule(rule):
                        yield Claim(host=host, path_prefix=None, router=router, tcp=True)


def collisions(found: Iterator[Claim]) -> list[str]:
    """Pairs of routers on one host that do not split it by path prefix (a TCP router never does)."""
    by_host: dict[str, list[Claim]] = {}
    clashes = []
    for claim in found:
        for other in by_host.get(claim.host, []):
            if claim.tcp or other.tcp or claim.path_prefix == other.path_prefix:
                clashes.append(f"{claim.host}{claim.path_prefix or ''}: {other.router} and {claim.router}")
        by_host.setdefault(claim.host, []).append(claim)
    return clashes


def _labelled(stack_name: str, service: str, labels: dict[str, str]) -> Stacks:
    body: dict[str, Any] = {
        "name": service,
        "labels": [{"label": key, "value": value} for key, value in labels.items()],
    }
    return {stack_name: {"resource": {"docker_service": {service: body}}}}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_host_is_routed_twice_across_stacks(synth_stacks: SynthStacks, environment: str) -> None:
    stacks = synth_stacks(environment)
    found = list(claims(stacks))
    assert {claim.router.split("/")[0] for claim in found} == {"layer1", "layer2", "platform"}
    assert collisions(iter(found)) == []


def test_a_host_routed_by_two_stacks_is_reported() -> None:
    both = "Host(`dashboards.localhost`) || Host(`grafana.localhost`)"
    stacks = {
        **_labelled("layer2", "grafana", {"traefik.http.routers.grafana.rule": "Host(`grafana.localhost`)"}),
        **_labelled("platform", "local-dashboards", {"traefik.http.routers.local-dashboards.rule": both}),
    }
    assert collisions(claims(stacks)) == [
        "grafana.localhost: layer2/grafana: traefik.http.routers.grafana.rule and "
        "platform/local-dashboards: traefik.http.routers.local-dashboards.rule"
    ]


def test_routers_sharing_a_host_must_differ_by_path_prefix() -> None:
    n8n = {
        "traefik.http.routers.n8n.rule": "Host(`n8n.localhost`)",
        "traefik.http.routers.n8n-webhook.rule": "Host(`n8n.localhost`) && PathPrefix(`/webhook`)",
    }
    assert collisions(claims(_labelled("layer2", "n8n", n8n))) == []
    twice = n8n | {"traefik.http.routers.n8n-hooks.rule": "Host(`n8n.localhost`) && PathPrefix(`/webhook`)"}
    (clash,) = collisions(claims(_labelled("layer2", "n8n", twice)))
    assert clash.startswith("n8n.localhost/webhook: ")


def test_a_tcp_router_claims_its_whole_host() -> None:
    labels = {
        "traefik.http.routers.neo4j.rule": "Host(`neo4j.localhost`) && PathPrefix(`/browser`)",
        "traefik.tcp.routers.neo4j-bolt.rule": "HostSNI(`neo4j.localhost`)",
    }
    (clash,) = collisions(claims(_labelled("layer2", "neo4j", labels)))
    assert clash.startswith("neo4j.localhost: ")
