"""The platform stack as synthesized: one complete service per catalog entry, in every environment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cdktf_cdktf_provider_docker.secret import Secret as DockerSecret
from cdktf_cdktf_provider_vault.data_vault_kv_secret_v2 import DataVaultKvSecretV2

from sprocket_infra import naming
from sprocket_infra.app import build_app
from sprocket_infra.catalog import CATALOG_FILE, Catalog, load_catalog, parse_catalog
from sprocket_infra.catalog.dependencies import credential_owner
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import Environment, ExistingPostgresConfig, ManagedPostgresConfig, load_environment
from sprocket_infra.platform_config.context import POSTGRES_CA_FILE
from sprocket_infra.vault.access import Access, vault_access
from tests.synth_json import data_sources, mounted_file, resources, service_labels, services

ENVIRONMENTS = ("local", "lan", "prod")
Stacks = dict[str, dict[str, Any]]
SynthStacks = Callable[[str], Stacks]

PLATFORM_EDGE = "cross-stack-output-docker_networkedge-network-platformid"
DGRAPH_EDGE = "cross-stack-output-docker_networkedge-network-dgraphid"
DATA = {
    dependency: f"cross-stack-output-docker_networkdata-network-{dependency}id"
    for dependency in ("redis", "rabbitmq", "influx")
}
"""layer2's data network per dependency an app may use (neo4j's has no app)."""


def platform(synth_stacks: SynthStacks, environment: str) -> dict[str, Any]:
    return synth_stacks(environment)["platform"]


def service(stack: dict[str, Any], environment: str, key: str) -> dict[str, Any]:
    return services(stack)[f"{environment}-{key}"]


def network_refs(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["task_spec"]["networks_advanced"]]


def secret_files(body: dict[str, Any]) -> set[str]:
    return {item["file_name"] for item in body["task_spec"]["container_spec"].get("secrets", [])}


def on_network(body: dict[str, Any], output: str) -> bool:
    return any(output in ref for ref in network_refs(body))


# --- one service per entry ------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_catalog_entry_is_a_service(synth_stacks: SynthStacks, environment: str) -> None:
    catalog = load_catalog()
    names = set(services(platform(synth_stacks, environment)))
    assert names == {f"{environment}-{key}" for key in catalog.services} | {"gatus"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_images_run_the_environments_pinned_tag(synth_stacks: SynthStacks, environment: str) -> None:
    settings = load_environment(environment).platform
    stack = platform(synth_stacks, environment)
    for key, entry in load_catalog().services.items():
        image = service(stack, environment, key)["task_spec"]["container_spec"]["image"]
        expected = entry.image or f"{settings.registry}/{entry.repository}:{settings.image_tag}"
        assert image == expected


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_networks_follow_routes_and_dependencies(synth_stacks: SynthStacks, environment: str) -> None:
    stack = platform(synth_stacks, environment)
    for key, entry in load_catalog().services.items():
        body = service(stack, environment, key)
        assert on_network(body, PLATFORM_EDGE) == bool(entry.routes and "platform" in entry.networks), key
        for dependency, network in DATA.items():
            # Only the data services it uses: an app reaches no other data service's ports.
            assert on_network(body, network) == (dependency in entry.uses), (key, dependency)
        own = {ref for ref in network_refs(body) if ref.startswith("${docker_network.")}
        assert own == {f"${{docker_network.network-{purpose}.id}}" for purpose in entry.networks}, key


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dgraph_is_private_except_the_alpha_behind_elo_team(
    synth_stacks: SynthStacks, environment: str
) -> None:
    stack = platform(synth_stacks, environment)
    zero = service(stack, environment, "elo-dgraph-zero")
    alpha = service(stack, environment, "elo-dgraph-alpha")
    assert network_refs(zero) == ["${docker_network.network-dgraph.id}"]
    # Its own zone's edge: Traefik reaches it without sharing a network with the platform's apps.
    assert on_network(alpha, DGRAPH_EDGE)
    assert not on_network(alpha, PLATFORM_EDGE)
    assert not on_network(alpha, "network-platform")
    assert service_labels(alpha)["traefik.swarm.network"] == f"{environment}-dgraph-edge"
    # The --security superflag comes from the config file only: no token or allow-list on the command line.
    command = alpha["task_spec"]["container_spec"]["command"]
    assert command[-1] == "--config=/etc/dgraph/alpha.yaml"
    assert not any("security" in arg or "token" in arg for arg in command)
    router = f"traefik.http.routers.{environment}-elo-dgraph-alpha"
    labels = service_labels(alpha)
    domain = load_environment(environment).routing.domain
    assert labels[f"{router}.rule"] == f"Host(`dgraph.{domain}`)"
    assert labels[f"{router}.middlewares"] == "auth-eloteam@swarm"
    assert labels[f"traefik.http.services.{environment}-elo-dgraph-alpha.loadbalancer.server.port"] == "8080"
    for body in (zero, alpha):
        assert body["update_config"]["order"] == "stop-first"
        assert body["task_spec"]["container_spec"]["mounts"][0]["target"] == "/dgraph"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dgraph_admin_token_is_generated_and_reaches_only_the_alpha_and_elo(
    synth_stacks: SynthStacks, environment: str
) -> None:
    stacks = synth_stacks(environment)
    stack = stacks["platform"]
    alpha = service(stack, environment, "elo-dgraph-alpha")
    (config,) = alpha["task_spec"]["container_spec"]["secrets"]
    assert config["file_name"] == "/etc/dgraph/alpha.yaml"
    secret_name = config["secret_id"].removeprefix("${docker_secret.").removesuffix(".id}")
    data = stack["resource"]["docker_secret"][secret_name]["data"]
    # Admin operations only with the token and only from the dgraph network itself (elo), never from
    # Traefik's edge address; the token is read from Vault at deploy time, into a raw template.
    (dgraph_network,) = stack["resource"]["docker_network"]["network-dgraph"]["ipam_config"]
    template = f'security:\\n  token: \\"%s\\"\\n  whitelist: \\"{dgraph_network["subnet"]}\\"\\n'
    assert f'format("{template}", data.vault_kv_secret_v2.' in data
    assert "for-platform-tokens-elo-dgraph-alpha" in data
    assert '.data["adminToken"]' in data
    elo = service(stack, environment, "elo")
    token_files = [
        s for s in elo["task_spec"]["container_spec"]["secrets"] if "admin-token" in s["file_name"]
    ]
    assert [s["file_name"] for s in token_files] == ["/app/secret/elo-dgraph-alpha-admin-token.txt"]
    holders = {
        body["name"]
        for body in services(stack).values()
        if "admin-token" in json.dumps(body["task_spec"]["container_spec"].get("secrets", []))
    }
    assert holders == {f"{environment}-elo-dgraph-alpha", f"{environment}-elo"}
    generated = stacks["layer2"]["resource"]["random_password"]
    assert [name for name in generated if "tokens-elo-dgraph-alpha-admin-token" in name]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_entry_with_settings_mounts_them(synth_stacks: SynthStacks, environment: str) -> None:
    """The settings file, plus the database's CA where a DigitalOcean cluster brings one."""
    stack = platform(synth_stacks, environment)
    postgres = load_environment(environment).layer2.postgres
    cluster_ca = isinstance(postgres, ManagedPostgresConfig | ExistingPostgresConfig)
    for key, entry in load_catalog().services.items():
        configs = service(stack, environment, key)["task_spec"]["container_spec"].get("configs", [])
        expected = [] if entry.config is None else [entry.config.path]
        expected += [POSTGRES_CA_FILE] if cluster_ca and "postgres" in entry.uses else []
        assert [config["file_name"] for config in configs] == expected, key


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_secrets_are_mounted_as_files_from_the_catalog(synth_stacks: SynthStacks, environment: str) -> None:
    """Operator secrets and broker/cache credentials always; managed PG and S3 ones where layer2 has them;
    generated admin tokens for their server (its config file) and its clients."""
    stack = platform(synth_stacks, environment)
    catalog = load_catalog()
    for key, entry in catalog.services.items():
        mounted = secret_files(service(stack, environment, key))
        wanted = {name: naming.secret_file(stem) for name, stem in entry.secret_files.items()}
        always = {path for name, path in wanted.items() if credential_owner(name) not in ("postgres", "s3")}
        always |= {entry.admin_token.config} if entry.admin_token else set()
        always |= {
            naming.secret_file(naming.admin_token_file(server))
            for server, other in catalog.services.items()
            if other.admin_token and key in other.admin_token.clients
        }
        assert always <= mounted <= set(wanted.values()) | always, key


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_secret_values_come_from_vault_the_platform_may_read(
    synth_stacks: SynthStacks, environment: str
) -> None:
    stack = platform(synth_stacks, environment)
    policy = vault_access(environment).platform_policy
    reads = data_sources(stack, DataVaultKvSecretV2.TF_RESOURCE_TYPE).values()
    assert reads
    for read in reads:
        assert policy.allows(read["mount"], read["name"], Access.READ), read
    for secret in resources(stack, DockerSecret.TF_RESOURCE_TYPE).values():
        # the bare value, or (Gatus's alerting file) a template around it
        assert secret["data"].startswith("${base64encode("), secret["name"]
        assert "data.vault_kv_secret_v2." in secret["data"], secret["name"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_layer1_and_layer2_are_read_from_remote_state(synth_stacks: SynthStacks, environment: str) -> None:
    remote = data_sources(platform(synth_stacks, environment), "terraform_remote_state")
    assert set(remote) == {"cross-stack-reference-input-layer1", "cross-stack-reference-input-layer2"}


# --- rollout and health ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "order"),
    [
        ("discord-bot", "stop-first"),
        ("matchmaking", "stop-first"),
        ("web", "start-first"),
        ("core", "start-first"),
    ],
)
def test_rollout_order(synth_stacks: SynthStacks, key: str, order: str) -> None:
    body = service(platform(synth_stacks, "prod"), "prod", key)
    assert body["update_config"]["order"] == order
    assert body["update_config"]["failure_action"] == "rollback"
    assert body["task_spec"]["restart_policy"]["max_attempts"] > 0


def test_queue_consumers_are_healthy_only_while_connected_to_the_broker(synth_stacks: SynthStacks) -> None:
    test = service(platform(synth_stacks, "prod"), "prod", "discord-bot")["task_spec"]["container_spec"][
        "healthcheck"
    ]["test"]
    assert test == ["CMD-SHELL", "grep -q ':1628 01 ' /proc/net/tcp /proc/net/tcp6"]  # 5672 = 0x1628


def test_web_apps_are_probed_over_http_with_node(synth_stacks: SynthStacks) -> None:
    test = service(platform(synth_stacks, "prod"), "prod", "core")["task_spec"]["container_spec"][
        "healthcheck"
    ]["test"]
    assert test[:3] == ["CMD", "node", "-e"]
    assert '"http://127.0.0.1:3001/"' in test[3]


# --- routing per environment ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "key", "rule", "entrypoint", "resolver"),
    [
        ("local", "web", "Host(`localhost`)", "web", None),
        ("local", "core", "Host(`api.localhost`)", "web", None),
        (
            "lan",
            "web",
            "Host(`sprocket.lan`) || Host(`192.168.4.39`) || Host(`100.110.185.84`)",
            "websecure",
            "letsencrypt",
        ),
        ("lan", "core", "Host(`api.sprocket.lan`)", "websecure", "letsencrypt"),
        ("prod", "web", "Host(`sprocket.mlesports.gg`)", "websecure", "letsencrypt"),
        ("prod", "core", "Host(`api.sprocket.mlesports.gg`)", "websecure", "letsencrypt"),
        (
            "prod",
            "image-generation-frontend",
            "Host(`image-generation.sprocket.mlesports.gg`)",
            "websecure",
            "letsencrypt",
        ),
    ],
)
def test_router_rules(
    synth_stacks: SynthStacks, environment: str, key: str, rule: str, entrypoint: str, resolver: str | None
) -> None:
    labels = service_labels(service(platform(synth_stacks, environment), environment, key))
    router = f"traefik.http.routers.{environment}-{key}"
    assert labels[f"{router}.rule"] == rule
    assert labels[f"{router}.entrypoints"] == entrypoint
    assert labels.get(f"{router}.tls.certresolver") == resolver
    assert f"{router}.middlewares" not in labels
    assert labels["sprocket.environment"] == environment


# --- stacks built in the test ---------------------------------------------------------------------------


def synth_platform(
    tmp_path: Path, environment: Environment, catalog: Catalog | None = None
) -> dict[str, Any]:
    """Build all three stacks (the platform with ``catalog``) and return the platform's JSON."""
    build_app(environment, catalog=catalog, outdir=str(tmp_path)).synth()
    platform: dict[str, Any] = json.loads((tmp_path / "stacks" / "platform" / "cdk.tf.json").read_text())
    return platform


def test_alpha_restrictions_put_the_web_app_behind_alpha_testers(tmp_path: Path) -> None:
    local = load_environment("local")
    restricted = local.model_copy(
        update={"platform": local.platform.model_copy(update={"alpha_restrictions": True})}
    )
    labels = service_labels(services(synth_platform(tmp_path, restricted))["local-web"])
    assert labels["traefik.http.routers.local-web.middlewares"] == "auth-alphatesters@swarm"


def test_a_new_catalog_entry_becomes_a_complete_service(tmp_path: Path) -> None:
    """No code change: a catalog entry alone yields image, route, settings file and secret files."""
    data = yaml.safe_load(CATALOG_FILE.read_text())
    data["services"]["leaderboard"] = {
        "description": "Public league standings.",
        "repository": "leaderboard",
        "port": 4000,
        "routes": [{"subdomain": "leaderboard"}],
        "uses": ["redis", "rabbitmq"],
        "consumes": ["events"],
        "secrets": {"steam-api-key": "steam-key"},
        "config": {"path": "/app/config/production.json", "sections": ["logger", "redis", "transport"]},
        "healthcheck": {"http": "/health"},
    }
    catalog = parse_catalog(data, source="test", vocabulary=default_vocabulary())
    stack = synth_platform(tmp_path, load_environment("local"), catalog)

    body = services(stack)["local-leaderboard"]
    assert body["task_spec"]["container_spec"]["image"] == "asaxplayinghorse/leaderboard:v1.0.0"
    labels = service_labels(body)
    assert labels["traefik.http.routers.local-leaderboard.rule"] == "Host(`leaderboard.localhost`)"
    assert labels["traefik.http.services.local-leaderboard.loadbalancer.server.port"] == "4000"
    assert secret_files(body) == {
        "/app/secret/steam-key.txt",
        "/app/secret/redis-username.txt",
        "/app/secret/redis-password.txt",
        "/app/secret/rabbitmq-username.txt",
        "/app/secret/rabbitmq-password.txt",
    }
    settings = json.loads(mounted_file(stack, body, "/app/config/production.json"))
    assert settings["redis"]["prefix"] == "local:leaderboard:"
    assert settings["transport"]["events_queue"] == "local-events"
    assert on_network(body, DATA["redis"])
    assert on_network(body, DATA["rabbitmq"])
    assert not on_network(body, DATA["influx"])
