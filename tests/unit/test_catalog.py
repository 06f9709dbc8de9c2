"""The service catalog: the shipped file is valid, and every kind of mistake fails with its key path."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml

from sprocket_infra.catalog import (
    CATALOG_FILE,
    Catalog,
    CatalogError,
    load_catalog,
    parse_catalog,
    placeholders,
)
from sprocket_infra.catalog.checks import environment_problems
from sprocket_infra.catalog.dependencies import CREDENTIALS
from sprocket_infra.catalog.placeholders import ENDPOINT_DEPENDENCIES
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import load_environment
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.platform_config.context import RenderContext
from sprocket_infra.platform_config.dependencies import CREDENTIAL_KEYS, Layer2Outputs, credential_names
from sprocket_infra.platform_config.render import placeholder_values
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.access import PLATFORM

SOURCE = "sprocket_infra/catalog/services.yaml"


@pytest.fixture
def data() -> dict[str, Any]:
    """A fresh copy of the shipped catalog's YAML, for a test to break."""
    return copy.deepcopy(yaml.safe_load(CATALOG_FILE.read_text()))


def parse(data: dict[str, Any]) -> Catalog:
    return parse_catalog(data, source=SOURCE, vocabulary=default_vocabulary())


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        parse(data)
    return str(caught.value).splitlines()


def a_service(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": "A test service.",
        "repository": "test-service",
        "port": 8080,
        "healthcheck": {"http": "/health"},
    }
    return entry | overrides


# --- the shipped catalog ---------------------------------------------------------------------------------


def test_shipped_catalog_loads() -> None:
    catalog = load_catalog()
    assert set(catalog.services) >= {
        "web",
        "core",
        "discord-bot",
        "image-generation-frontend",
        "image-generation-service",
        "matchmaking",
        "notification",
        "replay-parse",
        "elo",
        "elo-dgraph-zero",
        "elo-dgraph-alpha",
        "server-analytics",
        "submission",
    }


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_every_secret_is_in_the_manifest_or_generated_by_layer2(environment: str) -> None:
    manifest = external_secrets(environment, mount=PLATFORM)
    for key, entry in load_catalog().services.items():
        for name in entry.secret_files:
            assert name in manifest or name in credential_names(), f"{key} needs unknown secret {name}"


def test_credential_tables_agree() -> None:
    assert set(CREDENTIAL_KEYS) == credential_names()
    assert set(CREDENTIALS) == {"redis", "rabbitmq", "postgres", "s3", "influx"}


def test_the_route_that_answers_on_ips_is_the_web_app() -> None:
    """Loading allows one such route at most; which one it is, is the catalog's content."""
    catalog = load_catalog()
    on_ips = [
        key for key, entry in catalog.services.items() for route in entry.routes if route.answers_on_ips
    ]
    assert on_ips == ["web"]


def test_the_bot_updates_stop_first_and_the_web_app_start_first() -> None:
    """Content, not a loading rule: two bots would answer every command twice; the web app must not blink.
    (That a stateful service updates stop-first is enforced by loading and tested as a failure below.)"""
    services = load_catalog().services
    assert services["discord-bot"].rollout == "stop-first"
    assert services["web"].rollout == "start-first"


# --- one problem each ------------------------------------------------------------------------------------


def test_fails_when_a_consumed_queue_has_no_publisher(data: dict[str, Any]) -> None:
    data["queues"]["orphan"] = {}
    data["services"]["matchmaking"]["consumes"].append("orphan")
    assert errors_of(data) == [
        f"{SOURCE}: services.matchmaking.consumes.1: queue 'orphan' is consumed but no service publishes it "
        "(add a publisher, or mark it 'external: true' under 'queues')"
    ]


def test_external_queues_need_no_publisher(data: dict[str, Any]) -> None:
    data["queues"]["orphan"] = {"external": True}
    data["services"]["matchmaking"]["consumes"].append("orphan")
    assert "matchmaking" in parse(data).services


def test_fails_when_a_queue_is_not_declared(data: dict[str, Any]) -> None:
    data["services"]["core"]["publishes"].append("nowhere")
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.core.publishes.7: unknown queue 'nowhere'")


def test_fails_when_a_dependency_is_unknown(data: dict[str, Any]) -> None:
    data["services"]["core"]["uses"].append("mongodb")
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.core.uses.4: Input should be 'redis', 'rabbitmq'")


def test_fails_when_a_secret_is_unknown(data: dict[str, Any]) -> None:
    data["services"]["web"]["secrets"]["stripe-key"] = "stripe"
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.web.secrets: unknown secret 'stripe-key' (known: ")


def test_fails_when_a_dependency_credential_is_listed_by_hand(data: dict[str, Any]) -> None:
    data["services"]["web"]["secrets"]["redis-password"] = "redis"
    assert errors_of(data) == [
        f"{SOURCE}: services.web.secrets: 'redis-password' comes with 'uses: [redis]'; do not list it"
    ]


def test_fails_when_a_host_is_routed_twice(data: dict[str, Any]) -> None:
    data["services"]["second-api"] = a_service(routes=[{"subdomain": "api"}])
    assert errors_of(data) == [
        f"{SOURCE}: services.second-api.routes.0: host api is already routed to services.core.routes.0"
    ]


def test_fails_when_two_routes_answer_on_ips(data: dict[str, Any]) -> None:
    data["services"]["kiosk"] = a_service(routes=[{"subdomain": "kiosk", "answers_on_ips": True}])
    (error,) = errors_of(data)
    assert error.startswith(
        f"{SOURCE}: services.kiosk.routes.0.answers_on_ips: only one route may answer on the environment's "
        "IPs; services.web.routes.0 already does"
    )


@pytest.mark.parametrize("port", [0, 65536])
def test_fails_when_a_port_is_out_of_range(data: dict[str, Any], port: int) -> None:
    data["services"]["core"]["port"] = port
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.core.port: Input should be")
    assert error.endswith(f"(got {port})")


def test_fails_when_a_section_needs_an_unused_dependency(data: dict[str, Any]) -> None:
    data["services"]["web"]["config"]["sections"].append("redis")
    assert errors_of(data) == [f"{SOURCE}: services.web: config section 'redis' needs 'uses: ['redis']'"]


def test_fails_when_a_section_is_unknown(data: dict[str, Any]) -> None:
    data["services"]["web"]["config"]["sections"].append("graphql")
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.web.config: unknown sections ['graphql']")


def test_fails_when_a_placeholder_names_a_missing_service(data: dict[str, Any]) -> None:
    data["services"]["elo"]["env"]["DGRAPH_DATABASE_URL"] = "{services[dgraph]}:9080"
    assert errors_of(data) == [
        f"{SOURCE}: services.elo: a placeholder names service 'dgraph', which is not in the catalog"
    ]


def test_fails_when_a_subnet_placeholder_names_a_network_the_entry_is_not_on(data: dict[str, Any]) -> None:
    data["services"]["core"]["env"]["TRUSTED"] = "{networks[dgraph].subnet}"
    (error,) = errors_of(data)
    assert (
        error
        == f"{SOURCE}: services.core: placeholder {{networks[dgraph].subnet}} needs 'networks: [dgraph]'"
    )


def test_fails_when_an_admin_token_template_holds_no_token(data: dict[str, Any]) -> None:
    data["services"]["elo-dgraph-alpha"]["admin_token"]["template"] = "security:\n  whitelist: x\n"
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.elo-dgraph-alpha.admin_token.template:")
    assert "must hold {token} exactly once" in error


def test_fails_when_an_admin_token_names_an_unknown_client(data: dict[str, Any]) -> None:
    data["services"]["elo-dgraph-alpha"]["admin_token"]["clients"] = ["elo", "ratings"]
    (error,) = errors_of(data)
    assert error.startswith(
        f"{SOURCE}: services.elo-dgraph-alpha.admin_token.clients.1: unknown service 'ratings'"
    )


def test_fails_when_a_placeholder_is_unknown(data: dict[str, Any]) -> None:
    data["services"]["elo"]["env"]["HOME_URL"] = "{web.url}"
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.elo: unknown placeholder {{web.url}}")


def test_fails_when_a_stop_first_service_runs_two_tasks(data: dict[str, Any]) -> None:
    data["services"]["discord-bot"]["replicas"] = 2
    assert errors_of(data) == [
        f"{SOURCE}: services.discord-bot: rollout 'stop-first' means one task at a time, but replicas is 2"
    ]


def test_fails_when_a_service_with_a_volume_starts_first(data: dict[str, Any]) -> None:
    data["services"]["web"]["volume"] = "/data"
    assert errors_of(data) == [
        f"{SOURCE}: services.web: a service with a volume needs 'rollout: stop-first' and at most one replica"
    ]


def test_fails_when_an_entry_has_both_kinds_of_image(data: dict[str, Any]) -> None:
    data["services"]["web"]["image"] = "nginx:1.29.3"
    (error,) = errors_of(data)
    assert "give exactly one of 'repository' (an app image) or 'image'" in error


def test_fails_when_a_third_party_image_floats(data: dict[str, Any]) -> None:
    data["services"]["elo-dgraph-zero"]["image"] = "dgraph/dgraph:latest"
    (error,) = errors_of(data)
    assert error.startswith(f"{SOURCE}: services.elo-dgraph-zero.image: expected a pinned image tag")


def test_fails_when_a_key_is_misspelt(data: dict[str, Any]) -> None:
    data["services"]["web"]["replica"] = 2
    assert errors_of(data) == [
        f"{SOURCE}: services.web.replica: unknown key "
        "(check spelling against sprocket_infra/catalog/model.py)"
    ]


def test_fails_with_every_problem_at_once(data: dict[str, Any]) -> None:
    data["services"]["core"]["port"] = 70000
    data["services"]["web"]["secrets"]["stripe-key"] = "stripe"
    data["queues"]["orphan"] = {}
    data["services"]["matchmaking"]["consumes"].append("orphan")
    errors = errors_of(data)
    assert [error.split(": ")[1] for error in errors] == [
        "services.web.secrets",
        "services.core.port",
        "services.matchmaking.consumes.1",
    ]
    assert all(error.startswith(f"{SOURCE}: ") for error in errors)


def test_an_invalid_entry_causes_no_follow_on_errors(data: dict[str, Any]) -> None:
    """core is invalid; what it publishes still counts, and sections naming it stay quiet."""
    data["services"]["core"]["port"] = 0
    assert [error.split(": ")[1] for error in errors_of(data)] == ["services.core.port"]


# --- environment overrides ---------------------------------------------------------------------------------


def test_environment_overrides_must_name_catalog_entries() -> None:
    local = load_environment("local")
    platform = local.platform.model_copy(
        update={"image_tags": {"webb": "v2.0.0"}, "replicas": {"discord-bot": 2, "core": 3}}
    )
    assert environment_problems(load_catalog(), local.model_copy(update={"platform": platform})) == [
        ("platform.image_tags.webb", f"no app image 'webb' in the catalog ({SOURCE})"),
        ("platform.replicas.discord-bot", "discord-bot runs one task at a time (rollout: stop-first), got 2"),
    ]


def test_forward_auth_rules_must_exist_in_the_environment() -> None:
    local = load_environment("local")
    rules = tuple(
        rule for rule in local.layer2.forward_auth.rules if rule.name not in ("EloTeam", "AlphaTesters")
    )
    environment = local.model_copy(
        update={
            "layer2": local.layer2.model_copy(
                update={"forward_auth": local.layer2.forward_auth.model_copy(update={"rules": rules})}
            ),
            "platform": local.platform.model_copy(update={"alpha_restrictions": True}),
        }
    )
    problems = environment_problems(load_catalog(), environment)
    assert [message.split(" (")[0] for _, message in problems] == [
        "services.web.routes.0",
        "services.elo-dgraph-alpha.routes.0",
    ]
    assert all(path == "layer2.forward_auth.rules" for path, _ in problems)
    assert "needs rule 'AlphaTesters'" in problems[0][1]


def test_shipped_environments_fit_the_catalog() -> None:
    for name in ("local", "lan", "prod"):
        assert environment_problems(load_catalog(), load_environment(name)) == []


# --- what an entry declares reaches the app (issue 12 item 4) ----------------------------------------------


def test_fails_when_queues_are_used_without_the_transport_section(data: dict[str, Any]) -> None:
    data["services"]["matchmaking"]["config"]["sections"] = ["logger", "redis"]
    (error,) = errors_of(data)
    assert error == (
        f"{SOURCE}: services.matchmaking: consumes or publishes queues, which the app finds only in the "
        "'transport' settings section: add it to config.sections; 'uses: [rabbitmq]' but nothing tells the "
        "app where it is: add 'transport' to config.sections"
    )


@pytest.mark.parametrize(
    ("dependency", "section"), [("postgres", "db"), ("s3", "minio"), ("influx", "influx"), ("redis", "redis")]
)
def test_fails_when_a_dependency_reaches_no_setting(
    data: dict[str, Any], dependency: str, section: str
) -> None:
    entry = data["services"]["submission"]
    entry["uses"] = sorted({*entry["uses"], dependency})
    entry["config"]["sections"] = [name for name in entry["config"]["sections"] if name != section]
    (error,) = errors_of(data)
    assert error.endswith(
        f"'uses: [{dependency}]' but nothing tells the app where it is: add {section!r} to config.sections"
    )


def test_a_dependency_read_through_a_placeholder_needs_no_section(data: dict[str, Any]) -> None:
    assert data["services"]["elo"]["config"]["sections"] == []
    parse(data)  # elo reads Redis from {redis.host} and {redis.port}


def test_a_section_of_the_app_may_carry_its_dependencies(data: dict[str, Any]) -> None:
    """image-generation-frontend's own section writes the database and bucket settings itself."""
    assert "db" not in data["services"]["image-generation-frontend"]["config"]["sections"]
    parse(data)


def test_every_placeholder_is_filled_and_listed() -> None:
    """The one placeholder table is what the check accepts, what its message lists and what is filled."""
    layer2 = SimpleNamespace(**{name: ServiceEndpoint(host=name, port=1) for name in ENDPOINT_DEPENDENCIES})
    ctx = RenderContext(
        environment=load_environment("local"),
        catalog=load_catalog(),
        layer2=cast(Layer2Outputs, layer2),
        key="elo",
    )
    filled = set(placeholder_values(ctx))
    catalog = load_catalog()
    purposes = {purpose for entry in catalog.services.values() for purpose in entry.networks}
    assert filled == {
        *placeholders.FIXED,
        *(f"services[{key}]" for key in catalog.services),
        *(f"networks[{purpose}].subnet" for purpose in purposes),
    }
    assert all(f"{{{name}}}" in placeholders.known() for name in placeholders.FIXED)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("port", True, "services.core.port: Input should be a valid integer (got True): expected a number"),
        ("replicas", "2", "services.core.replicas: Input should be a valid integer (got '2')"),
        (
            "resources",
            {"cpus": True},
            "services.core.resources.cpus: Input should be a valid number (got True)",
        ),
    ],
)
def test_fails_when_a_number_is_written_as_something_else(
    data: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    data["services"]["core"][key] = value
    assert any(error.startswith(f"{SOURCE}: {expected}") for error in errors_of(data)), errors_of(data)


def test_fails_when_a_flag_is_written_as_a_number(data: dict[str, Any]) -> None:
    data["queues"]["matchmaking"] = {"external": 1}
    expected = "queues.matchmaking.external: Input should be a valid boolean (got 1): write true or false"
    assert errors_of(data)[0] == f"{SOURCE}: {expected}"
