"""Traefik rule and label builders: pure functions, checked against literal expected strings."""

from __future__ import annotations

import pytest

from sprocket_infra.config import AcmeConfig
from sprocket_infra.routing import HttpRoute, TcpRoute, entry_policy, host_rule, route_labels

PLAIN = entry_policy(AcmeConfig(ca="none"))
TLS = entry_policy(AcmeConfig(ca="production", email="ops@example.com"))


@pytest.mark.parametrize(
    ("hosts", "path", "expected"),
    [
        (("api.example.com",), None, "Host(`api.example.com`)"),
        (
            ("example.com", "192.168.4.39", "100.110.185.84"),
            None,
            "Host(`example.com`) || Host(`192.168.4.39`) || Host(`100.110.185.84`)",
        ),
        (("n8n.example.com",), "/webhook", "Host(`n8n.example.com`) && PathPrefix(`/webhook`)"),
        (
            ("a.example.com", "b.example.com"),
            "/x",
            "(Host(`a.example.com`) || Host(`b.example.com`)) && PathPrefix(`/x`)",
        ),
    ],
)
def test_host_rule(hosts: tuple[str, ...], path: str | None, expected: str) -> None:
    assert host_rule(hosts, path) == expected


def test_plain_http_route_labels() -> None:
    route = HttpRoute(name="api", hosts=("api.localhost",), port=3001)
    assert route_labels([route], PLAIN, network="grafana-edge", environment="local") == {
        "sprocket.environment": "local",
        "traefik.enable": "true",
        "traefik.http.routers.api.entrypoints": "web",
        "traefik.http.routers.api.rule": "Host(`api.localhost`)",
        "traefik.http.routers.api.service": "api",
        "traefik.http.services.api.loadbalancer.server.port": "3001",
        "traefik.swarm.network": "grafana-edge",
    }


def test_tls_route_uses_websecure_and_resolver_with_middlewares() -> None:
    route = HttpRoute(name="dgraph", hosts=("dgraph.example.com",), port=8080, middlewares=("auth-eloteam",))
    labels = route_labels([route], TLS, network="grafana-edge", environment="prod")
    assert labels["traefik.http.routers.dgraph.entrypoints"] == "websecure"
    assert labels["traefik.http.routers.dgraph.tls.certresolver"] == "letsencrypt"
    assert labels["traefik.http.routers.dgraph.middlewares"] == "auth-eloteam@swarm"


def test_internal_service_route_still_declares_a_port() -> None:
    """Traefik's Swarm provider rejects a routed service without a port ("port is missing")."""
    route = HttpRoute(name="dash", hosts=("traefik.example.com",), port=8082, service="api@internal")
    labels = route_labels([route], TLS, network="n", environment="prod")
    assert labels["traefik.http.routers.dash.service"] == "api@internal"
    assert labels["traefik.http.services.dash.loadbalancer.server.port"] == "8082"


@pytest.mark.parametrize("policy", [PLAIN, TLS])
def test_tcp_route_terminates_tls_on_websecure(policy: object) -> None:
    route = TcpRoute(name="bolt", hosts=("bolt.example.com",), port=7687)
    labels = route_labels([route], policy, network="n", environment="e")  # type: ignore[arg-type]
    assert labels["traefik.tcp.routers.bolt.rule"] == "HostSNI(`bolt.example.com`)"
    assert labels["traefik.tcp.routers.bolt.tls"] == "true"
    assert labels["traefik.tcp.routers.bolt.entrypoints"] == "websecure"
    assert labels["traefik.tcp.services.bolt.loadbalancer.server.port"] == "7687"
    assert ("traefik.tcp.routers.bolt.tls.certresolver" in labels) == (policy is TLS)


def test_labels_are_sorted_for_deterministic_output() -> None:
    labels = route_labels([HttpRoute(name="b", hosts=("b.x",), port=1)], PLAIN, network="n", environment="e")
    assert list(labels) == sorted(labels)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad_Name", "hosts": ("a.x",), "port": 80}, "router name"),
        ({"name": "a", "hosts": (), "port": 80}, "at least one host"),
        ({"name": "a", "hosts": ("a.x", "a.x"), "port": 80}, "duplicate host"),
        ({"name": "a", "hosts": ("a.x",), "port": 70000}, "port must be 1..65535"),
        ({"name": "a", "hosts": ("a.x",), "port": 80, "path_prefix": "webhook"}, "must start with '/'"),
    ],
)
def test_fails_when_route_is_invalid(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpRoute(**kwargs)  # type: ignore[arg-type]


def test_tls_router_with_ip_hosts_names_only_dns_domains_for_the_certificate() -> None:
    """Let's Encrypt refuses orders containing IP addresses; IP requests fall back to the default cert."""
    route = HttpRoute(name="web", hosts=("example.com", "192.168.4.39", "100.110.185.84"), port=3000)
    labels = route_labels([route], TLS, network="n", environment="lan")
    assert labels["traefik.http.routers.web.tls.domains[0].main"] == "example.com"
    assert "traefik.http.routers.web.tls.domains[0].sans" not in labels
    plain = route_labels([route], PLAIN, network="n", environment="lan")
    assert not any(".tls." in key for key in plain)


def test_tls_router_with_only_names_lets_traefik_derive_domains() -> None:
    route = HttpRoute(name="api", hosts=("api.example.com",), port=3001)
    labels = route_labels([route], TLS, network="n", environment="prod")
    assert not any("tls.domains" in key for key in labels)
