"""Host forms per environment: one rule, checked with the real environment files."""

from __future__ import annotations

import pytest

from sprocket_infra import naming
from sprocket_infra.config import load_environment


@pytest.mark.parametrize(
    ("environment", "subdomain", "on_ips", "expected"),
    [
        ("local", "api", False, ("api.localhost",)),
        ("local", None, True, ("localhost",)),
        ("prod", None, True, ("sprocket.mlesports.gg",)),
        ("prod", "api", False, ("api.sprocket.mlesports.gg",)),
        ("lan", None, True, ("sprocket.lan", "192.168.4.39", "100.110.185.84")),
        ("lan", "grafana", False, ("grafana.sprocket.lan",)),
    ],
)
def test_host_forms(environment: str, subdomain: str | None, on_ips: bool, expected: tuple[str, ...]) -> None:
    routing = load_environment(environment).routing
    assert naming.host_forms(routing, subdomain, answers_on_ips=on_ips) == expected


def test_queue_names_carry_the_environment() -> None:
    assert naming.queue_name(load_environment("prod"), "matchmaking") == "prod-matchmaking"


def test_content_suffix_changes_with_content() -> None:
    assert naming.content_suffix("a") != naming.content_suffix("b")
    assert len(naming.content_suffix("a")) == 10


def test_generated_secret_names_are_kebab_case_of_folder_and_key() -> None:
    assert naming.vault_key_name("redis", "password") == "redis-password"
    assert naming.vault_key_name("influx/admin", "adminToken") == "influx-admin-admin-token"


def test_construct_ids_drop_the_environment_token_only() -> None:
    assert naming.environment_free_id("platform-prod", "prod") == "platform"
    assert naming.environment_free_id("lan-core", "lan") == "core"
    assert naming.environment_free_id("plan-lane", "lan") == "plan-lane"
    assert (
        naming.vault_path_id("infrastructure", "prod/for-platform/redis")
        == "infrastructure-for-platform-redis"
    )
