"""layer2's services: each one present with its pinned image, a healthcheck, limits, state and secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from cdktf_cdktf_provider_docker.secret import Secret as DockerSecret

from sprocket_infra import naming
from sprocket_infra.config import load_environment
from sprocket_infra.constructs.docker_socket_proxy import CONFIG_PATH as PROXY_CONFIG_PATH
from sprocket_infra.constructs.grafana import ALERTING_PATH, DATASOURCES_PATH, WEBHOOK_FILE
from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import mounted_file, resources, service_labels, services

# service name -> (image setting, secret files it must mount, volume it must keep its state on)
EXPECTED = {
    "redis": ("redis", {"/run/secrets/redis-users.conf", "/run/secrets/redis-probe-password"}, "redis-data"),
    "rabbitmq": ("rabbitmq", {"/etc/rabbitmq/definitions.json"}, "rabbitmq-data"),
    "influxdb": (
        "influxdb",
        {"/run/secrets/influx-admin-password", "/run/secrets/influx-admin-token"},
        "influxdb-data",
    ),
    "grafana": (
        "grafana",
        {"/run/secrets/grafana-admin-password", "/run/secrets/grafana-alert-webhook"},
        "grafana-data",
    ),
    "n8n": ("n8n", {"/run/secrets/n8n-encryption-key"}, "n8n-data"),
    "neo4j": ("neo4j", {"/run/secrets/neo4j-auth"}, "neo4j-data"),
    "gatus": ("gatus", {"/config/sprocket/alerting.yaml"}, "gatus-data"),
    "loki": ("loki", set(), "loki-data"),
    "alloy": ("alloy", set(), "alloy-data"),
    "telegraf": ("telegraf", {"/etc/telegraf/telegraf.d/redis.conf", "/run/secrets/influx_password"}, None),
    naming.FORWARD_AUTH_SERVICE: ("forward_auth", {"/run/secrets/forward-auth-client-secret"}, None),
}
STACK_OF = {"gatus": "platform"}
"""Shared services outside layer2: the status page lives beside the apps it checks (ADR 0007)."""
NO_IN_CONTAINER_PROBE = {"gatus"}
"""Images built FROM scratch: nothing inside can run a probe (see constructs/observability/gatus.py)."""


def _all_services(stacks: Stacks) -> Iterator[tuple[str, dict[str, Any]]]:
    for stack_name, stack in stacks.items():
        for name, body in services(stack).items():
            yield f"{stack_name}/{name}", body


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_service_is_pinned_probed_limited_and_gets_its_secrets(
    synth_stacks: Callable[[str], Stacks], environment: str, name: str
) -> None:
    image_setting, secret_files, volume = EXPECTED[name]
    service = services(synth_stacks(environment)[STACK_OF.get(name, "layer2")])[name]
    spec = service["task_spec"]
    container = spec["container_spec"]
    assert container["image"] == getattr(load_environment(environment).layer2.images, image_setting)
    if name in NO_IN_CONTAINER_PROBE:
        assert container["healthcheck"]["test"] == ["NONE"]
    else:
        assert container["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    limits = spec["resources"]["limits"]
    assert limits["memory_bytes"] > 0
    assert limits["nano_cpus"] > 0
    assert secret_files <= {secret["file_name"] for secret in container.get("secrets", [])}
    mounts = {mount["source"]: mount for mount in container.get("mounts", []) if "source" in mount}
    if volume is not None:
        assert mounts[volume]["type"] == "volume"
    if volume is not None and "replicated" in service["mode"]:
        assert service["update_config"]["order"] == "stop-first", "a volume must never be shared by two tasks"


_SECRET_REFERENCE = re.compile(
    r"\$\{[^}]*(random_password|vault_kv_secret|\.password\b|\.uri\b|\.secret_key\b)"
)
"""A Terraform reference to anything that holds a credential."""
_SECRET_LOOKING = re.compile(r"[A-Za-z0-9+=_-]{24,}")
"""A long token-like literal (paths contain '/', so file locations don't match)."""


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_secret_on_any_command_line_or_in_any_env_value(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    offenders = []
    for where, service in _all_services(synth_stacks(environment)):
        container = service["task_spec"]["container_spec"]
        values = [
            *container.get("command", []),
            *container.get("args", []),
            *container.get("env", {}).values(),
        ]
        offenders += [(where, value) for value in values if _SECRET_REFERENCE.search(value)]
        offenders += [(where, value) for value in values if _SECRET_LOOKING.fullmatch(value)]
    assert offenders == []


def test_redis_reads_its_users_from_an_included_secret_file_of_digests(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    redis = services(layer2)["redis"]
    config = mounted_file(layer2, redis, "/usr/local/etc/redis/redis.conf")
    assert "include /run/secrets/redis-users.conf" in config.splitlines()
    assert "requirepass" not in config
    users = next(
        secret
        for secret in resources(layer2, DockerSecret.TF_RESOURCE_TYPE).values()
        if secret["name"].startswith("redis-redis-users-conf")
    )
    assert users["data"].startswith('${base64encode(format("user default off ')
    # Every password goes in as its SHA-256, never as the value.
    assert users["data"].count("sha256(data.vault_kv_secret_v2.") == users["data"].count("#%s")


def test_amqp_is_never_routed_and_admin_uis_sit_behind_forward_auth(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    labels = {name: service_labels(body) for name, body in services(layer2).items()}
    assert not any(key.startswith("traefik.tcp.") for key in labels["rabbitmq"])
    for name, router in (
        ("rabbitmq", "rabbitmq-management"),
        ("influxdb", "influxdb"),
        ("neo4j", "neo4j"),
        ("n8n", "n8n"),
    ):
        assert labels[name][f"traefik.http.routers.{router}.middlewares"].startswith("auth-"), name
    assert "traefik.http.routers.n8n-webhook.middlewares" not in labels["n8n"]


def test_forward_auth_defines_every_rule_middleware_on_its_internal_address(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    labels = service_labels(services(synth_stacks("prod")["layer2"])[naming.FORWARD_AUTH_SERVICE])
    for rule in load_environment("prod").layer2.forward_auth.rules:
        name = naming.forward_auth_middleware(rule.name)
        # The name routers use is a chain: the client's rate limit first, then the check itself.
        chain = labels[f"traefik.http.middlewares.{name}.chain.middlewares"]
        assert chain == f"{name}-ratelimit,{name}-check"
        assert labels[f"traefik.http.middlewares.{name}-ratelimit.ratelimit.burst"] == "100"
        prefix = f"traefik.http.middlewares.{name}-check.forwardauth"
        assert labels[f"{prefix}.address"] == f"http://forward-auth:3000/login?rule={rule.name}"
        assert labels[f"{prefix}.trustForwardHeader"] == "true"
        assert labels[f"{prefix}.authResponseHeaders"] == "X-Forwarded-User"


def test_every_middleware_a_router_uses_is_defined_somewhere(synth_stacks: Callable[[str], Stacks]) -> None:
    defined, used = set(), set()
    for _, service in _all_services(synth_stacks("prod")):
        for key, value in service_labels(service).items():
            if key.startswith("traefik.http.middlewares."):
                defined.add(key.split(".")[3])
            if key.endswith(".middlewares") and key.startswith("traefik.http.routers."):
                used |= {name.removesuffix("@swarm") for name in value.split(",")}
    assert used
    assert used <= defined


def test_each_agent_has_its_own_read_only_socket_proxy_opening_only_what_it_reads(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    layer2 = synth_stacks("prod")["layer2"]

    def opened(agent: str) -> str:
        proxy = services(layer2)[naming.agent_socket_proxy(agent)]
        config = mounted_file(layer2, proxy, PROXY_CONFIG_PATH)
        assert "unless METH_GET" in config
        return "\n".join(line for line in config.splitlines() if "acl allowed_route" in line)

    telegraf, alloy = opened("telegraf"), opened("alloy")
    assert "/containers/[A-Za-z0-9][A-Za-z0-9_.-]*/stats$" in telegraf
    assert "/info$" in telegraf
    assert "/containers" not in alloy  # it tails log files; container routes are Telegraf's alone
    assert "/info$" not in alloy
    assert "/nodes$" in alloy
    for refused in ("archive", "export", "logs", "exec", "secrets", "swarm"):
        assert refused not in telegraf + alloy
    agents = {name: body for name, body in services(layer2).items() if name in ("telegraf", "alloy")}
    assert len(agents) == 2
    for agent, body in agents.items():
        joined = json.dumps(body["task_spec"]["networks_advanced"])
        other = "alloy" if agent == "telegraf" else "telegraf"
        assert f"docker_network.{agent}-socket-proxy-network.id" in joined
        assert f"docker_network.{other}-socket-proxy-network.id" not in joined
    layer1 = synth_stacks("prod")["layer1"]
    traefiks = mounted_file(layer1, services(layer1)[naming.SOCKET_PROXY_SERVICE], PROXY_CONFIG_PATH)
    assert "/containers" not in traefiks


def test_log_shipper_runs_on_every_node_without_a_hard_coded_address(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    alloy = services(layer2)["alloy"]
    assert "global" in alloy["mode"]
    config = mounted_file(layer2, alloy, "/etc/alloy/config.alloy")
    assert "http://loki:3100/loki/api/v1/push" in config
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", config)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_grafana_alert_rules_query_a_provisioned_datasource_and_read_the_webhook_from_its_file(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    layer2 = synth_stacks(environment)["layer2"]
    grafana = services(layer2)["grafana"]
    alerting = yaml.safe_load(mounted_file(layer2, grafana, ALERTING_PATH))
    sources = yaml.safe_load(mounted_file(layer2, grafana, DATASOURCES_PATH))["datasources"]
    uids = {source["uid"] for source in sources}
    queried = {
        step["datasourceUid"]
        for group in alerting["groups"]
        for rule in group["rules"]
        for step in rule["data"]
        if step["datasourceUid"] != "__expr__"
    }
    assert queried
    assert queried <= uids
    (receiver,) = alerting["contactPoints"][0]["receivers"]
    assert receiver["settings"]["url"] == f"$__file{{{WEBHOOK_FILE}}}"
    files = {secret["file_name"] for secret in grafana["task_spec"]["container_spec"]["secrets"]}
    assert WEBHOOK_FILE in files
