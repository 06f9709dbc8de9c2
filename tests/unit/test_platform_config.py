"""The settings files the apps read: their shape per environment, and the original's bugs fixed."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from cdktf import TerraformStack, Token
from cdktf import Testing as CdktfTesting  # so pytest does not try to collect it
from cdktf_cdktf_provider_digitalocean.data_digitalocean_database_ca import DataDigitaloceanDatabaseCa
from cdktf_cdktf_provider_docker.config import Config as DockerConfig
from cdktf_cdktf_provider_docker.network import Network
from cdktf_cdktf_provider_docker.provider import DockerProvider

from sprocket_infra.catalog import load_catalog
from sprocket_infra.config import load_environment
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.platform_config.context import POSTGRES_CA_FILE, RenderContext
from sprocket_infra.platform_config.dependencies import Layer2Outputs
from sprocket_infra.platform_config.document import json_document
from sprocket_infra.platform_config.sections import SECTIONS
from tests.synth_json import data_sources, resources, services

Stacks = dict[str, dict[str, Any]]
SynthStacks = Callable[[str], Stacks]

REFERENCE_VALUE = "12345"
"""What a Terraform reference stands for when a test reads a settings file that holds one."""

_JOIN = re.compile(r'^\$\{base64encode\(join\("", \[(?P<items>.*)\]\)\)\}$', re.DOTALL)
_LITERAL = re.compile(r'^base64decode\("(?P<data>[A-Za-z0-9+/=]*)"\)$')


def decoded(data: str) -> str:
    """A ``docker_config`` data value as the file's text; references read as ``12345``."""
    match = _JOIN.match(data)
    if match is None:
        return base64.b64decode(data).decode()
    pieces = []
    for item in match["items"].split(", "):
        literal = _LITERAL.match(item)
        pieces.append(base64.b64decode(literal["data"]).decode() if literal else REFERENCE_VALUE)
    return "".join(pieces)


def mounted_config(stack: dict[str, Any], body: dict[str, Any], target: str) -> dict[str, Any] | None:
    """The ``docker_config`` resource ``body`` mounts at ``target``, or None if it mounts none there."""
    for config in body["task_spec"]["container_spec"].get("configs", []):
        if config["file_name"] == target:
            logical_id = config["config_id"].removeprefix("${docker_config.").split(".")[0]
            return resources(stack, DockerConfig.TF_RESOURCE_TYPE)[logical_id]
    return None


def settings(synth_stacks: SynthStacks, environment: str, key: str) -> dict[str, Any]:
    """The parsed settings file of catalog entry ``key`` in ``environment``."""
    stack = synth_stacks(environment)["platform"]
    entry = load_catalog().services[key]
    assert entry.config is not None, key
    config = mounted_config(stack, services(stack)[f"{environment}-{key}"], entry.config.path)
    assert config is not None, key
    return json.loads(decoded(config["data"]))


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else key)
    else:
        yield path, value


# --- no secret in any settings file ----------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_settings_hold_file_paths_never_credentials(synth_stacks: SynthStacks, environment: str) -> None:
    for key, entry in load_catalog().services.items():
        if entry.config is None:
            continue
        for path, value in leaves(settings(synth_stacks, environment, key)):
            name = path.rsplit(".", 1)[-1].lower()
            if any(word in name for word in ("password", "secret", "token", "accesskey")):
                assert isinstance(value, str), f"{key}: {path}"
                assert value.startswith("/app/secret/"), f"{key}: {path}"
            if isinstance(value, str):
                assert not re.search(r"://[^/@\s]*@", value), f"{key}: {path} has credentials in a URL"


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_every_referenced_secret_file_is_mounted(synth_stacks: SynthStacks, environment: str) -> None:
    stack = synth_stacks(environment)["platform"]
    for key, entry in load_catalog().services.items():
        if entry.config is None:
            continue
        mounted = {
            item["file_name"]
            for item in services(stack)[f"{environment}-{key}"]["task_spec"]["container_spec"].get(
                "secrets", []
            )
        }
        referenced = {
            value
            for _, value in leaves(settings(synth_stacks, environment, key))
            if isinstance(value, str) and value.startswith("/app/secret/")
        }
        assert referenced <= mounted, key


# --- queues, prefixes and buckets ------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_queues_and_redis_keys_carry_the_environment(synth_stacks: SynthStacks, environment: str) -> None:
    core = settings(synth_stacks, environment, "core")
    assert core["transport"]["matchmaking_queue"] == f"{environment}-matchmaking"
    assert core["transport"]["image_generation_queue"] == f"{environment}-ig"
    assert core["transport"]["url"] == f"amqp://rabbitmq:5672/{environment}?heartbeat=60"
    assert core["redis"]["prefix"] == f"{environment}:core:"
    assert core["redis"]["usernameFile"] == "/app/secret/redis-username.txt"


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_celery_uses_the_transport_queue_and_no_password_in_its_urls(
    synth_stacks: SynthStacks, environment: str
) -> None:
    replay = settings(synth_stacks, environment, "replay-parse")
    assert replay["celery"]["queue"] == replay["transport"]["celery_queue"] == f"{environment}-celery"
    assert replay["celery"]["backend"] == "redis://redis:6379/0"
    assert replay["celery"]["backendPasswordFile"] == "/app/secret/redis-password.txt"
    assert replay["celery"]["backendUsernameFile"] == "/app/secret/redis-username.txt"
    assert replay["celery"]["broker"] == f"amqp://rabbitmq:5672/{environment}?heartbeat=60"


def test_replays_go_to_the_replays_bucket_under_the_environment_prefix(synth_stacks: SynthStacks) -> None:
    image_generation = settings(synth_stacks, "prod", "image-generation-service")
    assert image_generation["minio"]["bucketNames"] == {
        "replays": "sprocket-replays-prod",
        "image_generation": "sprocket-image-generation-prod",
    }
    replay = settings(synth_stacks, "prod", "replay-parse")["minio"]
    assert replay["bucket"] == "sprocket-replays-prod"
    assert replay["parsed_object_prefix"] == "prod"
    assert replay["secretKey"] == "/app/secret/minio-secret.txt"


def test_environments_without_object_storage_get_no_s3_settings(synth_stacks: SynthStacks) -> None:
    assert "minio" not in settings(synth_stacks, "local", "core")
    assert "minio" not in settings(synth_stacks, "local", "replay-parse")


# --- databases ---------------------------------------------------------------------------------------------


def test_database_tls_is_verified(synth_stacks: SynthStacks) -> None:
    db = settings(synth_stacks, "prod", "core")["db"]
    assert db["ssl"] == {"caFile": POSTGRES_CA_FILE, "rejectUnauthorized": True}
    assert db["sslmode"] == "require"
    assert db["passwordFile"] == "/app/secret/db-password.txt"
    knex = settings(synth_stacks, "prod", "image-generation-frontend")["knex"]
    assert knex["ssl"] == {"caFile": POSTGRES_CA_FILE, "rejectUnauthorized": True}


def test_apps_verify_the_managed_cluster_against_its_ca_read_from_layer2(synth_stacks: SynthStacks) -> None:
    """A DigitalOcean cluster signs with a CA of its own that no trust store holds. layer2 reads it once;
    every app that uses PostgreSQL mounts it from layer2's remote state, and n8n mounts the same one."""
    stacks = synth_stacks("prod")
    layer2, platform = stacks["layer2"], stacks["platform"]
    (ca_id,) = data_sources(layer2, DataDigitaloceanDatabaseCa.TF_RESOURCE_TYPE)
    certificate = f"data.digitalocean_database_ca.{ca_id}.certificate"
    (output,) = [name for name, body in layer2["output"].items() if body["value"] == f"${{{certificate}}}"]
    from_layer2 = f"data.terraform_remote_state.cross-stack-reference-input-layer2.outputs.{output}"
    users = {key for key, entry in load_catalog().services.items() if "postgres" in entry.uses}
    assert users
    for key in load_catalog().services:
        config = mounted_config(platform, services(platform)[f"prod-{key}"], POSTGRES_CA_FILE)
        if key not in users:
            assert config is None, key
            continue
        assert config is not None, key
        assert config["data"] == f"${{base64encode({from_layer2})}}", key
    n8n = services(layer2)["n8n"]
    ca_file = n8n["task_spec"]["container_spec"]["env"]["DB_POSTGRESDB_SSL_CA_FILE"]
    n8n_config = mounted_config(layer2, n8n, ca_file)
    assert n8n_config is not None
    assert n8n_config["data"] == f"${{base64encode({certificate})}}"


@pytest.mark.parametrize("environment", ["local", "lan"])
def test_no_ca_is_mounted_where_the_server_needs_none(synth_stacks: SynthStacks, environment: str) -> None:
    """lan's PostgreSQL is a plain host (system CAs apply) and local has none: nothing to mount."""
    platform = synth_stacks(environment)["platform"]
    for body in services(platform).values():
        assert mounted_config(platform, body, POSTGRES_CA_FILE) is None, body["name"]
    assert not data_sources(synth_stacks(environment)["layer2"], DataDigitaloceanDatabaseCa.TF_RESOURCE_TYPE)
    if environment == "lan":
        assert settings(synth_stacks, "lan", "core")["db"]["ssl"] == {"rejectUnauthorized": True}


def test_a_managed_database_host_is_a_deploy_time_reference(synth_stacks: SynthStacks) -> None:
    """The DigitalOcean cluster's host exists only once layer2 is applied; the settings read it then."""
    assert settings(synth_stacks, "prod", "core")["db"]["host"] == REFERENCE_VALUE


def test_local_has_no_database_settings(synth_stacks: SynthStacks) -> None:
    assert "db" not in settings(synth_stacks, "local", "core")


# --- InfluxDB ----------------------------------------------------------------------------------------------


def test_the_influx_organization_is_the_one_layer2_publishes() -> None:
    """The section reads layer2's organization; a layer2 set up with another one is followed, not guessed."""
    layer2 = SimpleNamespace(
        influx=ServiceEndpoint(host="influxdb", port=8086),
        influx_org="league-metrics",
        influx_platform_bucket="sprocket_local",
    )
    ctx = RenderContext(
        environment=load_environment("local"),
        catalog=load_catalog(),
        layer2=cast(Layer2Outputs, layer2),
        key="server-analytics",
    )
    assert SECTIONS["influx"].build(ctx)["influx"]["org"] == "league-metrics"


@pytest.mark.parametrize("environment", ["local", "prod"])
def test_apps_use_the_organization_influxdb_is_set_up_with(
    synth_stacks: SynthStacks, environment: str
) -> None:
    influxdb = services(synth_stacks(environment)["layer2"])["influxdb"]
    organization = influxdb["task_spec"]["container_spec"]["env"]["DOCKER_INFLUXDB_INIT_ORG"]
    assert settings(synth_stacks, environment, "server-analytics")["influx"]["org"] == organization


# --- public addresses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "api", "web", "secure"),
    [
        ("local", "http://api.localhost", "http://localhost", False),
        ("prod", "https://api.sprocket.mlesports.gg", "https://sprocket.mlesports.gg", True),
    ],
)
def test_public_urls_follow_the_environment(
    synth_stacks: SynthStacks, environment: str, api: str, web: str, secure: bool
) -> None:
    core = settings(synth_stacks, environment, "core")
    assert core["web"] == {"url": web, "api_root": api}
    assert core["auth"]["discord"]["callbackUrl"] == f"{api}/login"
    assert core["auth"]["frontend_callback"] == f"{web}/auth/callback"
    client = settings(synth_stacks, environment, "web")["client"]
    assert client["gqlUrl"] == api.split("://")[1]
    assert client["secure"] is secure
    assert client["chatwoot"] == {"enabled": False}
    bot = settings(synth_stacks, environment, "discord-bot")
    assert bot["gql"]["url"] == f"http://{environment}-core:3001/graphql"


# --- json_document ------------------------------------------------------------------------------------------


def test_a_document_without_tokens_is_plain_sorted_json() -> None:
    assert json_document({"b": 1, "a": {"d": [1, 2], "c": True}}) == (
        '{\n  "a": {\n    "c": true,\n    "d": [\n      1,\n      2\n    ]\n  },\n  "b": 1\n}\n'
    )


def test_a_document_with_tokens_rebuilds_the_same_text_at_deploy_time() -> None:
    stack = TerraformStack(CdktfTesting.app(), "test")
    DockerProvider(stack, "docker")
    network = Network(stack, "network", name="n")
    data = {"host": network.name, "port": Token.as_number(network.id), "quote": 'say "hi" ${not} %{this}'}
    Network(stack, "consumer", name=json_document(data))
    synthesized = json.loads(CdktfTesting.synth(stack))["resource"]["docker_network"]["consumer"]["name"]
    text = decoded(synthesized.replace("${join", "${base64encode(join", 1).removesuffix("}") + ")}")
    assert json.loads(text) == {"host": REFERENCE_VALUE, "port": int(REFERENCE_VALUE), "quote": data["quote"]}
    assert "docker_network.network.name" in synthesized
    assert "docker_network.network.id" in synthesized
