"""The Vault access description and its HCL rendering: KV v2 paths, merging, environments, GitHub teams."""

from __future__ import annotations

import re

import pytest

from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.access import (
    INFRASTRUCTURE,
    PLATFORM,
    Access,
    Grant,
    Policy,
    grant,
    policy_hcl,
    vault_access,
)

R, W, L, D = Access.READ, Access.WRITE, Access.LIST, Access.DELETE


def _one(*grants: Grant, child_tokens: bool = False) -> Policy:
    return Policy(name="t", description="test", grants=grants, create_child_tokens=child_tokens)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            grant(PLATFORM, "local/*", R),
            'path "platform/data/local/*" {\n  capabilities = ["read"]\n}\n',
            id="read-prefix",
        ),
        pytest.param(
            grant(PLATFORM, "local/manual/oauth/google", W),
            'path "platform/data/local/manual/oauth/google" {\n  capabilities = ["create", "update"]\n}\n',
            id="write-exact",
        ),
        pytest.param(
            grant(INFRASTRUCTURE, "prod/*", L),
            'path "infrastructure/metadata/prod/*" {\n  capabilities = ["list"]\n}\n',
            id="list-goes-to-metadata",
        ),
        pytest.param(
            grant(PLATFORM, "local/elo/*", D),
            'path "platform/data/local/elo/*" {\n  capabilities = ["delete"]\n}\n'
            "\n"
            'path "platform/metadata/local/elo/*" {\n  capabilities = ["delete"]\n}\n',
            id="delete-latest-and-metadata",
        ),
        pytest.param(
            grant(PLATFORM, "local/*", L, W, R),
            'path "platform/data/local/*" {\n  capabilities = ["create", "read", "update"]\n}\n'
            "\n"
            'path "platform/metadata/local/*" {\n  capabilities = ["list"]\n}\n',
            id="read-write-list",
        ),
        pytest.param(
            grant(PLATFORM, "*", R),
            'path "platform/data/*" {\n  capabilities = ["read"]\n}\n',
            id="whole-mount",
        ),
    ],
)
def test_each_grant_renders_exactly_its_kv_v2_paths(given: Grant, expected: str) -> None:
    assert policy_hcl(_one(given)) == expected


def test_narrow_rules_repeat_broader_capabilities_because_vault_applies_only_the_most_specific() -> None:
    policy = _one(grant(PLATFORM, "local/ds/*", R), grant(PLATFORM, "local/ds/manual/*", W))

    assert policy_hcl(policy) == (
        'path "platform/data/local/ds/*" {\n  capabilities = ["read"]\n}\n'
        "\n"
        'path "platform/data/local/ds/manual/*" {\n  capabilities = ["create", "read", "update"]\n}\n'
    )


def test_grants_on_the_same_path_are_merged_into_one_stanza() -> None:
    policy = _one(grant(PLATFORM, "local/x", R), grant(PLATFORM, "local/x", W))

    assert (
        policy_hcl(policy)
        == 'path "platform/data/local/x" {\n  capabilities = ["create", "read", "update"]\n}\n'
    )


def test_child_token_permission_is_rendered_last() -> None:
    rendered = policy_hcl(_one(grant(PLATFORM, "local/*", R), child_tokens=True))

    assert rendered.endswith('\npath "auth/token/create" {\n  capabilities = ["update"]\n}\n')


def test_platform_policy_renders_to_this_literal_hcl() -> None:
    assert policy_hcl(vault_access("prod").platform_policy) == (
        'path "infrastructure/data/prod/for-platform/*" {\n  capabilities = ["read"]\n}\n'
        "\n"
        'path "infrastructure/metadata/prod/for-platform/*" {\n  capabilities = ["list"]\n}\n'
        "\n"
        'path "platform/data/prod/*" {\n  capabilities = ["read"]\n}\n'
        "\n"
        'path "platform/metadata/prod/*" {\n  capabilities = ["list"]\n}\n'
        "\n"
        'path "auth/token/create" {\n  capabilities = ["update"]\n}\n'
    )


@pytest.mark.parametrize("env", ["local", "lan", "prod"])
def test_no_policy_names_a_bare_kv_path_like_the_original(env: str) -> None:
    """The original granted ``platform/*``, which KV v2 never serves; every path must be an API path."""
    for policy in vault_access(env).policies:
        for path in re.findall(r'^path "([^"]+)"', policy_hcl(policy), flags=re.MULTILINE):
            assert re.match(rf"^(infrastructure|platform)/(data|metadata)/{env}/", path) or path == (
                "auth/token/create"
            ), f"{policy.name}: {path}"


def test_policies_are_named_as_the_stacks_expect() -> None:
    access = vault_access("main")

    assert [policy.name for policy in access.policies] == [
        "infrastructure",
        "platform-main",
        "admin-team",
        "readonly-team",
        "data-science-team",
        "elo-team",
    ]
    assert access.policy("elo-team") is access.team_policies[3]


def test_mounts_are_two_kv_version_2_engines() -> None:
    mounts = vault_access("local").mounts

    assert [(mount.path, mount.engine_type, mount.options) for mount in mounts] == [
        ("infrastructure", "kv", {"version": "2"}),
        ("platform", "kv", {"version": "2"}),
    ]


def test_github_teams_map_to_the_original_policies_in_org_sprocketbot() -> None:
    github = vault_access("prod").github

    assert github.organization == "SprocketBot"
    assert github.path == "github"
    assert {team.slug: [policy.name for policy in team.policies] for team in github.teams} == {
        "contributor": ["readonly-team"],
        "maintainers": ["admin-team"],
        "data-science": ["data-science-team"],
        "elo": ["elo-team"],
    }


def test_platform_policy_reads_every_platform_secret_of_its_environment_and_writes_none() -> None:
    access = vault_access("prod")
    refs = [ref for ref in external_secrets("prod").values() if ref.mount is PLATFORM]

    assert refs
    for ref in refs:
        assert access.platform_policy.allows(ref.mount, ref.path, R), ref.name
        assert not access.platform_policy.allows(ref.mount, ref.path, W), ref.name
        assert not vault_access("local").platform_policy.allows(ref.mount, ref.path, R), ref.name


def test_infrastructure_secrets_are_readable_by_infrastructure_and_not_by_platform() -> None:
    access = vault_access("prod")
    refs = [ref for ref in external_secrets("prod").values() if ref.mount is INFRASTRUCTURE]

    assert {ref.name for ref in refs} == {"forward-auth-client-secret", "grafana-alert-webhook"}
    for ref in refs:
        assert access.infrastructure_policy.allows(ref.mount, ref.path, R)
        assert not access.platform_policy.allows(ref.mount, ref.path, R)


@pytest.mark.parametrize(
    ("policy_name", "path", "access", "allowed"),
    [
        ("platform-prod", "infrastructure/prod/for-platform/influx", R, True),
        ("platform-prod", "infrastructure/prod/redis", R, False),
        ("infrastructure", "infrastructure/prod/redis", W, True),
        ("infrastructure", "platform/prod/manual/oauth/google", R, False),
        ("admin-team", "platform/prod/manual/oauth/google", W, True),
        ("admin-team", "platform/prod/manual/gatus", W, True),
        ("admin-team", "infrastructure/prod/redis", R, False),
        ("readonly-team", "platform/prod/manual/oauth/google", R, True),
        ("readonly-team", "platform/prod/manual/oauth/google", W, False),
        ("data-science-team", "platform/prod/data-science/postgres", R, True),
        ("data-science-team", "platform/prod/data-science/postgres", W, False),
        ("data-science-team", "platform/prod/data-science/manual/notes", W, True),
        ("data-science-team", "platform/prod/elo/dgraph", R, False),
        ("elo-team", "platform/prod/elo/dgraph", R, True),
        ("elo-team", "platform/prod/manual/oauth/google", R, False),
    ],
)
def test_allows_spot_checks(policy_name: str, path: str, access: Access, allowed: bool) -> None:
    mount, _, rest = path.partition("/")

    assert vault_access("prod").policy(policy_name).allows(mount, rest, access) is allowed


@pytest.mark.parametrize("path", ["local/*/x", "local/+/x", "/local/x", "local//x", "local/x/", ""])
def test_fails_when_grant_path_is_not_a_relative_path_with_a_trailing_star_only(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        grant(PLATFORM, path, R)


def test_fails_when_grant_gives_no_access() -> None:
    with pytest.raises(ValueError, match="no access"):
        grant(PLATFORM, "local/*")


@pytest.mark.parametrize("env", ["Prod", "1st", "a/b", "x" * 22, ""])
def test_fails_when_environment_name_is_not_a_path_segment(env: str) -> None:
    with pytest.raises(ValueError, match="environment name"):
        vault_access(env)


def test_unknown_policy_lookup_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="admin-team"):
        vault_access("local").policy("root")
