"""The edge policy as synthesized: TLS options, security headers, access-log fields, Traefik's container,
and the config rules behind them. Real Traefik runs all of it in tests/integration/test_edge_security.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sprocket_infra.config import load_environment
from sprocket_infra.constructs.traefik_proxy import (
    ACME_CA_BUNDLE_PATH,
    DYNAMIC_CONFIG_PATH,
    STATIC_CONFIG_PATH,
    config_files,
    static_config,
)
from sprocket_infra.routing import EntryPolicy, HttpRoute, TcpRoute, route_labels
from tests.conftest import Stacks
from tests.synth_json import mounted_file, services

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


Configs = tuple[dict[str, Any], dict[str, Any]]


def _traefik(synth_stacks: Callable[[str], Stacks], environment: str) -> Configs:
    stack = synth_stacks(environment)["layer1"]
    traefik = services(stack)["traefik"]
    return yaml.safe_load(mounted_file(stack, traefik, STATIC_CONFIG_PATH)), yaml.safe_load(
        mounted_file(stack, traefik, DYNAMIC_CONFIG_PATH)
    )


@pytest.mark.parametrize(
    ("environment", "entrypoint", "hsts", "sni_strict"),
    [("local", "web", False, False), ("lan", "websecure", True, False), ("prod", "websecure", True, True)],
)
def test_routed_entrypoint_runs_the_security_headers(
    synth_stacks: Callable[[str], Stacks], environment: str, entrypoint: str, hsts: bool, sni_strict: bool
) -> None:
    static, dynamic = _traefik(synth_stacks, environment)
    assert static["entryPoints"][entrypoint]["http"]["middlewares"] == ["security-headers@file"]
    assert static["providers"]["file"] == {"filename": DYNAMIC_CONFIG_PATH, "watch": False}
    headers = dynamic["http"]["middlewares"]["security-headers"]["headers"]
    assert headers["customResponseHeaders"] == {"Server": "", "X-Powered-By": ""}
    assert headers["frameDeny"] is True
    assert ("stsSeconds" in headers) == hsts
    assert "stsPreload" not in headers
    options = dynamic["tls"]["options"]["default"]
    assert options["minVersion"] == "VersionTLS12"
    assert options.get("sniStrict", False) == sni_strict


def test_access_log_drops_query_strings_and_credentials(synth_stacks: Callable[[str], Stacks]) -> None:
    static, _ = _traefik(synth_stacks, "prod")
    fields = static["accessLog"]["fields"]
    assert fields["queryParameters"] == {"defaultMode": "drop"}
    assert fields["headers"]["defaultMode"] == "drop"
    assert fields["headers"]["names"] == {"Authorization": "drop", "Cookie": "drop"}


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_traefik_container_drops_capabilities(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    container = services(synth_stacks(environment)["layer1"])["traefik"]["task_spec"]["container_spec"]
    assert container["cap_drop"] == ["ALL"]
    assert container["cap_add"] == ["NET_BIND_SERVICE"]
    assert container["read_only"] is True


def _with_acme(environment: str, **acme: Any) -> Any:
    env = load_environment(environment)
    routing = env.routing.model_copy(update={"acme": env.routing.acme.model_copy(update=acme)})
    return env.model_copy(update={"routing": routing})


def test_internal_ca_bundle_is_shipped_and_trusted() -> None:
    env = _with_acme("lan", ca_bundle=PEM)
    resolver = static_config(env, docker_endpoint="tcp://x:2375")["certificatesResolvers"]["letsencrypt"][
        "acme"
    ]
    assert resolver["caCertificates"] == [ACME_CA_BUNDLE_PATH]
    assert resolver["caServer"] == "https://192.168.4.39:9000/acme/acme/directory"
    shipped = {file.target: file.content for file in config_files(env, docker_endpoint="tcp://x:2375")}
    assert shipped[ACME_CA_BUNDLE_PATH] == PEM


def test_hsts_preload_only_when_asked() -> None:
    from sprocket_infra.constructs.edge_policy import security_headers

    env = load_environment("prod")
    edge = env.routing.edge.model_copy(update={"hsts_preload": True})
    preload = env.model_copy(update={"routing": env.routing.model_copy(update={"edge": edge})})
    assert security_headers(preload)["headers"]["stsPreload"] is True


def test_allow_lists_and_rate_limits_become_route_middlewares() -> None:
    from sprocket_infra.routing import LOGIN_RATE_LIMIT, login_paths

    vault = HttpRoute(name="vault", hosts=("vault.example.org",), port=8200, allow_from=("100.64.0.0/10",))
    bolt = TcpRoute(name="bolt", hosts=("bolt.example.org",), port=7687, allow_from=("10.0.0.0/8",))
    labels = route_labels(
        [vault, login_paths(vault, "/v1/auth/"), bolt],
        EntryPolicy(entrypoint="websecure", cert_resolver="letsencrypt"),
        network="edge",
        environment="prod",
    )
    assert labels["traefik.http.routers.vault.middlewares"] == "vault-allow@swarm"
    assert labels["traefik.http.middlewares.vault-allow.ipallowlist.sourcerange"] == "100.64.0.0/10"
    assert labels["traefik.http.routers.vault-login.rule"] == (
        "Host(`vault.example.org`) && PathPrefix(`/v1/auth/`)"
    )
    assert labels["traefik.http.routers.vault-login.middlewares"] == (
        "vault-login-allow@swarm,vault-login-ratelimit@swarm"
    )
    assert labels["traefik.http.middlewares.vault-login-ratelimit.ratelimit.average"] == str(
        LOGIN_RATE_LIMIT.average
    )
    assert labels["traefik.http.middlewares.vault-login-ratelimit.ratelimit.period"] == "60s"
    assert labels["traefik.tcp.routers.bolt.middlewares"] == "bolt-allow@swarm"
    assert labels["traefik.tcp.middlewares.bolt-allow.ipallowlist.sourcerange"] == "10.0.0.0/8"


def test_fails_when_an_allow_list_entry_is_no_cidr() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300/8' is not a CIDR"):
        TcpRoute(name="bolt", hosts=("bolt.example.org",), port=7687, allow_from=("10.0.0.300/8",))


def test_fails_when_sni_strict_meets_ip_routing() -> None:
    from sprocket_infra.config.routing import RoutingConfig

    with pytest.raises(
        ValueError, match=r"edge\.sni_strict would refuse every HTTPS client of 192\.168\.4\.39"
    ):
        RoutingConfig.model_validate(
            {
                "domain": "sprocket.lan",
                "server_ip": "192.168.4.39",
                "acme": {"ca": "internal", "server": "https://ca.example/dir", "email": "a@b.example"},
            }
        )


def test_fails_when_internal_ca_has_no_server() -> None:
    from sprocket_infra.config.routing import AcmeConfig

    with pytest.raises(ValueError, match=r"acme\.server .* is required when acme\.ca is internal"):
        AcmeConfig.model_validate({"ca": "internal", "email": "a@b.example"})
