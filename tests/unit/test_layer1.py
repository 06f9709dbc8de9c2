"""layer1 as synthesized: networks, socket proxy, Traefik config and labels, Vault, cross-stack refs."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from cdktf_cdktf_provider_digitalocean.spaces_bucket import SpacesBucket as DigitaloceanSpacesBucket
from cdktf_cdktf_provider_digitalocean.spaces_key import SpacesKey as DigitaloceanSpacesKey
from cdktf_cdktf_provider_docker.config import Config as DockerConfig
from cdktf_cdktf_provider_docker.network import Network as DockerNetwork
from cdktf_cdktf_provider_docker.secret import Secret as DockerSecret

from sprocket_infra.constructs.docker_api_allowlist import routes
from sprocket_infra.constructs.docker_socket_proxy import ALLOWED_SECTIONS
from sprocket_infra.constructs.docker_socket_proxy import CONFIG_PATH as PROXY_CONFIG_PATH
from sprocket_infra.constructs.traefik_proxy import STATIC_CONFIG_PATH
from sprocket_infra.constructs.vault_with_s3_backend import CONFIG_PATH, SCRIPT_PATH
from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import data_sources, mounted_file, resources, service_labels, services

SynthStacks = Callable[[str], Stacks]


def layer1(synth_stacks: SynthStacks, environment: str) -> dict[str, Any]:
    return synth_stacks(environment)["layer1"]


def traefik_static(stack: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(mounted_file(stack, services(stack)["traefik"], STATIC_CONFIG_PATH))


EDGE_KEYS = (
    "dgraph",
    "forward-auth",
    "gatus",
    "grafana",
    "influxdb",
    "n8n",
    "neo4j",
    "platform",
    "rabbitmq",
    "vault",
)
"""One edge network per layer backend and per platform zone with a routed entry (ADR 13)."""

LAYER1_ADDRESSES = {
    "docker_config.socket-proxy_config-haproxy-cfg_B8C71FCE",
    "docker_config.traefik_swarm_config-edge-policy-yml_1AED217C",
    "docker_config.traefik_swarm_config-traefik-yml_9305A3AF",
    "docker_config.vault_swarm_config-init-unseal-sh_1A97A855",
    "docker_config.vault_swarm_config-vault-hcl_DBD02118",
    *(f"docker_network.edge-network-{key}" for key in EDGE_KEYS),
    "docker_network.socket-proxy-network",
    "docker_service.socket-proxy_service_F8BA3EE7",
    "docker_service.traefik_swarm_service_61ED1443",
    "docker_service.vault_swarm_service_A8C054C2",
}
PROD_ONLY = {
    "digitalocean_spaces_bucket.vault_bucket_AA1E6FBE",
    "digitalocean_spaces_key.vault_bucket-key_A194DB08",
    "docker_secret.vault_s3-credentials_AC8A15B4",
}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_resource_addresses_are_pinned(synth_stacks: SynthStacks, environment: str) -> None:
    """Renaming a construct replaces its resources (Vault's storage!): this set makes that deliberate."""
    stack = layer1(synth_stacks, environment)
    addresses = {f"{kind}.{name}" for kind, items in stack["resource"].items() for name in items}
    assert addresses == LAYER1_ADDRESSES | (PROD_ONLY if environment == "prod" else set())


def test_edge_networks_are_encrypted_overlays_with_fixed_subnets(synth_stacks: SynthStacks) -> None:
    networks = {
        body["name"]: body
        for body in resources(layer1(synth_stacks, "prod"), DockerNetwork.TF_RESOURCE_TYPE).values()
    }
    assert "traefik-ingress" not in networks, "no shared ingress overlay any more"
    edges = {name: body for name, body in networks.items() if name.endswith("-edge")}
    assert len(edges) == len(EDGE_KEYS)
    for name, body in edges.items():
        assert body["driver"] == "overlay", name
        assert body["options"] == {"encrypted": "true"}, name
        (ipam,) = body["ipam_config"]
        assert ipaddress.ip_network(ipam["subnet"]).subnet_of(ipaddress.ip_network("10.240.0.0/16")), name
        assert ipam["gateway"] == ipam["subnet"].replace(".0/24", ".1"), name
    assert networks["vault-edge"]["ipam_config"] == [{"gateway": "10.240.1.1", "subnet": "10.240.1.0/24"}]
    # Data services have no way out through their edge; those that call the internet do.
    assert {name for name, body in edges.items() if not body["internal"]} == {
        "vault-edge",
        "forward-auth-edge",
        "grafana-edge",
        "n8n-edge",
        "gatus-edge",
    }
    assert networks["docker-socket-proxy"]["internal"] is True
    assert networks["docker-socket-proxy"]["options"] == {"encrypted": "true"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_socket_proxy_is_read_only_and_minimal(synth_stacks: SynthStacks, environment: str) -> None:
    stack = layer1(synth_stacks, environment)
    proxy = services(stack)["docker-socket-proxy"]
    container = proxy["task_spec"]["container_spec"]
    config = mounted_file(stack, proxy, PROXY_CONFIG_PATH)
    opened = [line.split()[-1] for line in config.splitlines() if "acl allowed_route" in line]
    assert opened == [route.pattern for route in routes(ALLOWED_SECTIONS)]
    assert "/containers" not in config
    assert "http-request deny deny_status 403 unless METH_GET" in config
    assert container["env"] == {}
    assert container["read_only"] is True
    assert container["cap_drop"] == ["ALL"]
    assert "cap_add" not in container
    assert container["mounts"] == [
        {
            "read_only": True,
            "source": "/var/run/docker.sock",
            "target": "/var/run/docker.sock",
            "type": "bind",
        }
    ]
    assert proxy["task_spec"]["placement"]["constraints"] == ["node.role==manager"]
    assert proxy["labels"] == [], "the proxy must never be routed"
    assert len(proxy["task_spec"]["networks_advanced"]) == 1


def test_only_traefik_mounts_the_socket_proxy_network(synth_stacks: SynthStacks) -> None:
    stack = layer1(synth_stacks, "prod")
    on_proxy_net = sorted(
        name
        for name, body in services(stack).items()
        if {"id": "${docker_network.socket-proxy-network.id}"} in body["task_spec"]["networks_advanced"]
    )
    assert on_proxy_net == ["docker-socket-proxy", "traefik"]


@pytest.mark.parametrize(
    ("environment", "redirect", "ca_server"),
    [
        ("local", False, None),
        ("lan", True, "https://192.168.4.39:9000/acme/acme/directory"),
        ("prod", True, "https://acme-v02.api.letsencrypt.org/directory"),
    ],
)
def test_traefik_static_config(
    synth_stacks: SynthStacks, environment: str, redirect: bool, ca_server: str | None
) -> None:
    static = traefik_static(layer1(synth_stacks, environment))
    assert static["api"] == {"dashboard": True}, "api.insecure must never be set"
    swarm = static["providers"]["swarm"]
    assert swarm["endpoint"] == "tcp://docker-socket-proxy:2375"
    assert swarm["exposedByDefault"] is False
    assert swarm["constraints"] == f"Label(`sprocket.environment`, `{environment}`)"
    assert "docker" not in static["providers"]
    assert ("redirections" in static["entryPoints"]["web"]["http"]) == redirect
    for name, entrypoint in static["entryPoints"].items():
        assert entrypoint["http"]["aliasHeadersStrategy"] == "delete", name
    if redirect:
        assert static["entryPoints"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
    resolvers = static.get("certificatesResolvers", {})
    assert (resolvers["letsencrypt"]["acme"]["caServer"] if resolvers else None) == ca_server


def test_staging_ca_is_used_when_configured() -> None:
    from sprocket_infra.config import load_environment
    from sprocket_infra.constructs.traefik_proxy import static_config

    prod = load_environment("prod")
    staging = prod.model_copy(
        update={
            "routing": prod.routing.model_copy(
                update={"acme": prod.routing.acme.model_copy(update={"ca": "staging"})}
            )
        }
    )
    acme = static_config(staging, docker_endpoint="tcp://docker-socket-proxy:2375")["certificatesResolvers"][
        "letsencrypt"
    ]["acme"]
    assert acme["caServer"] == "https://acme-staging-v02.api.letsencrypt.org/directory"


@pytest.mark.parametrize(
    ("environment", "entrypoint", "resolver", "host"),
    [
        ("local", "web", None, "traefik.localhost"),
        ("prod", "websecure", "letsencrypt", "traefik.sprocket.mlesports.gg"),
    ],
)
def test_dashboard_only_behind_admin_auth(
    synth_stacks: SynthStacks, environment: str, entrypoint: str, resolver: str | None, host: str
) -> None:
    traefik = services(layer1(synth_stacks, environment))["traefik"]
    labels = service_labels(traefik)
    router = "traefik.http.routers.traefik-dashboard"
    assert labels[f"{router}.rule"] == f"Host(`{host}`)"
    assert labels[f"{router}.service"] == "api@internal"
    assert labels[f"{router}.middlewares"] == "auth-sprocketadmin@swarm"
    assert labels[f"{router}.entrypoints"] == entrypoint
    assert labels.get(f"{router}.tls.certresolver") == resolver
    ports = traefik["endpoint_spec"]["ports"]
    assert {(p["published_port"], p["publish_mode"]) for p in ports} == {(80, "host"), (443, "host")}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_service_has_operational_policy(synth_stacks: SynthStacks, environment: str) -> None:
    for name, service in services(layer1(synth_stacks, environment)).items():
        spec = service["task_spec"]
        assert spec["container_spec"]["healthcheck"]["test"], name
        assert spec["restart_policy"]["max_attempts"] > 0, name
        assert spec["resources"]["limits"]["memory_bytes"] > 0, name
        assert service["update_config"]["failure_action"] == "rollback", name
        assert ":" in spec["container_spec"]["image"], name


def test_local_vault_uses_raft_and_unseal_script(synth_stacks: SynthStacks) -> None:
    stack = layer1(synth_stacks, "local")
    vault = services(stack)["vault"]
    container = vault["task_spec"]["container_spec"]
    hcl = mounted_file(stack, vault, CONFIG_PATH)
    assert 'storage "raft"' in hcl
    assert 'api_addr      = "http://vault.localhost"' in hcl
    assert container["command"] == ["/bin/sh", SCRIPT_PATH, "serve"]
    assert container["env"]["VAULT_BIN"] == "bao"
    assert (container["env"]["VAULT_KEY_SHARES"], container["env"]["VAULT_KEY_THRESHOLD"]) == ("5", "3")
    script = mounted_file(stack, vault, SCRIPT_PATH)
    assert script.startswith("#!/bin/sh")
    mounts = {m["target"]: m for m in container["mounts"]}
    assert mounts["/vault/keys"]["type"] == "bind"
    # Raft data where the openbao image has a directory owned by its user (a new volume inherits it).
    assert mounts["/openbao/file"]["type"] == "volume"
    assert container["user"] == "100:1000"
    assert container["cap_drop"] == ["ALL"]
    assert "cap_add" not in container
    assert 'path    = "/openbao/file"' in hcl
    assert vault["update_config"]["order"] == "stop-first"


def test_prod_vault_stores_in_a_versioned_protected_spaces_bucket(synth_stacks: SynthStacks) -> None:
    stack = layer1(synth_stacks, "prod")
    (bucket,) = resources(stack, DigitaloceanSpacesBucket.TF_RESOURCE_TYPE).values()
    assert bucket["name"] == "sprocket-vault-storage"
    assert bucket["acl"] == "private"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["lifecycle"]["prevent_destroy"] is True
    (key,) = resources(stack, DigitaloceanSpacesKey.TF_RESOURCE_TYPE).values()
    assert key["grant"] == [
        {"bucket": "${digitalocean_spaces_bucket.vault_bucket_AA1E6FBE.name}", "permission": "readwrite"}
    ]

    vault = services(stack)["vault"]
    hcl = mounted_file(stack, vault, CONFIG_PATH)
    assert 'storage "s3"' in hcl
    assert 'bucket   = "sprocket-vault-storage"' in hcl
    assert "access_key" not in hcl, "credentials belong in the Docker secret"
    assert "secret_key" not in hcl, "credentials belong in the Docker secret"
    container = vault["task_spec"]["container_spec"]
    assert container["env"]["AWS_SHARED_CREDENTIALS_FILE"] == "/run/secrets/vault-s3-credentials"
    (secret,) = resources(stack, DockerSecret.TF_RESOURCE_TYPE).values()
    assert "digitalocean_spaces_key.vault_bucket-key" in secret["data"]
    assert secret["data"].startswith("${base64encode(")


def test_cross_stack_reference_reads_layer1_state(synth_stacks: SynthStacks) -> None:
    stacks = synth_stacks("local")
    outputs = stacks["layer1"]["output"]
    edge_output = next(
        name
        for name, body in outputs.items()
        if body["value"] == "${docker_network.edge-network-rabbitmq.id}"
    )
    remote = data_sources(stacks["layer2"], "terraform_remote_state")
    (state,) = remote.values()
    assert state["backend"] == "local"
    assert state["config"]["path"] == "../../../state/local/layer1.tfstate"
    layer2_text = str(stacks["layer2"])
    assert f"outputs.{edge_output}" in layer2_text


def test_prod_state_lives_in_spaces(synth_stacks: SynthStacks) -> None:
    backend = synth_stacks("prod")["platform"]["terraform"]["backend"]["s3"]
    assert backend["key"] == "sprocket/prod/platform.tfstate"
    assert backend["endpoints"] == {"s3": "https://nyc3.digitaloceanspaces.com"}


def test_config_content_hash_names_each_docker_config(synth_stacks: SynthStacks) -> None:
    configs = resources(layer1(synth_stacks, "prod"), DockerConfig.TF_RESOURCE_TYPE).values()
    for config in configs:
        assert config["lifecycle"]["create_before_destroy"] is True
        base64.b64decode(config["data"], validate=True)
    assert len({c["name"] for c in configs}) == len(list(configs))
