"""The per-app identities layer2 derives from the catalog, and who may read them in Vault."""

from __future__ import annotations

import re

import pytest

from sprocket_infra.constructs.app_identities import exact, rabbitmq_clients, redis_clients
from sprocket_infra.inputs import load_inputs
from sprocket_infra.vault.access import INFRASTRUCTURE, Access, secret_path, vault_access


@pytest.mark.parametrize(
    ("names", "matches", "misses"),
    [
        (["amq.default", "local-core"], ["amq.default", "local-core"], ["amqXdefault", "core"]),
        ([], [], ["anything", "local-core"]),
    ],
)
def test_exact_matches_only_the_names_and_has_no_backslash(
    names: list[str], matches: list[str], misses: list[str]
) -> None:
    pattern = exact(names)
    assert "\\" not in pattern
    assert all(re.fullmatch(pattern, name) for name in matches)
    assert not any(re.fullmatch(pattern, name) for name in misses)


def test_fails_when_a_name_cannot_be_matched_literally() -> None:
    with pytest.raises(ValueError, match="cannot be matched literally"):
        exact(["a^b"])


def test_only_the_platform_and_infrastructure_policies_read_an_apps_logins() -> None:
    inputs = load_inputs("prod")
    access = vault_access("prod")
    keys = {client.key for client in rabbitmq_clients(inputs.catalog, inputs.environment)}
    keys |= {client.key for client in redis_clients(inputs.catalog, inputs.environment)}
    assert keys
    for key in sorted(keys):
        for service in ("rabbitmq", "redis"):
            path = secret_path("prod", "for-platform", "apps", key, service)
            readers = {p.name for p in access.policies if p.allows(INFRASTRUCTURE, path, Access.READ)}
            assert readers == {"infrastructure", "platform-prod"}, (path, readers)
    for admin in ("rabbitmq", "redis"):
        path = secret_path("prod", admin)
        readers = {p.name for p in access.policies if p.allows(INFRASTRUCTURE, path, Access.READ)}
        assert readers == {"infrastructure"}, (path, readers)
