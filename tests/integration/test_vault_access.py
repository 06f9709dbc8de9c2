"""The access description applied to a real OpenBao: each policy's token can do exactly what it declares.

Expectations come from :meth:`Policy.allows` (the description), the outcome from real KV v2 requests made
with a token holding only that policy (plus Vault's ``default``). Every grant contributes a probe inside
it, and probes outside every grant (another environment, another mount, the infrastructure mount's private
part) check the denials; literal spot checks below make sure the matrix can't pass by being empty.
"""

from __future__ import annotations

from collections.abc import Callable

import hvac
import hvac.exceptions
import pytest

from sprocket_infra.config import BucketConfig, ExternalPostgresConfig, load_environment
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.access import Access, Policy, VaultAccess, vault_access
from sprocket_infra.vault.apply import Outcome, apply_access
from tests.integration.openbao_dev import DevServer, local_client

pytestmark = pytest.mark.integration

ENV = "local"
ACCESS = vault_access(ENV)
EVERY_ENTRY = external_secrets(
    load_environment(ENV).model_copy(
        update={
            "layer2": load_environment(ENV).layer2.model_copy(
                update={
                    "postgres": ExternalPostgresConfig(host="192.0.2.10"),
                    "buckets": {"general": BucketConfig(provider="aws")},
                }
            )
        }
    )
)
"""The manifest ``local`` would have with a bucket on AWS and an external PostgreSQL: every kind of entry."""


@pytest.fixture(scope="module")
def root(server: DevServer) -> hvac.Client:
    client = local_client(server.addr, server.root_token)
    changes = apply_access(client, ACCESS)
    assert {change.outcome for change in changes} == {Outcome.CREATED}
    return client


def _token_client(root: hvac.Client, policy: Policy) -> hvac.Client:
    created = root.auth.token.create(policies=[policy.name], ttl="15m")
    return local_client(root.url, created["auth"]["client_token"])


def _probes(access: VaultAccess) -> list[tuple[str, str]]:
    """(mount, secret path) pairs: one inside every grant, every kind of external secret, and some outside
    all."""
    probes: set[tuple[str, str]] = set()
    for policy in access.policies:
        for item in policy.grants:
            probes.add((item.mount.path, item.path.replace("*", "probe") if item.is_prefix else item.path))
    probes.update((ref.mount.path, ref.path) for ref in EVERY_ENTRY.values())
    probes.update(
        {
            ("platform", "other/manual/oauth/google"),
            ("infrastructure", "other/manual/gatus"),
            ("infrastructure", f"{ENV}/redis"),
            ("infrastructure", f"{ENV}/for-platform/influx"),
            ("platform", f"{ENV}-staging/manual/oauth/google"),
            ("secret", f"{ENV}/anything"),
        }
    )
    return sorted(probes)


def _allowed(action: Callable[[], object]) -> bool:
    try:
        action()
    except hvac.exceptions.Forbidden:
        return False
    return True


def _seed(root: hvac.Client, mount: str, path: str) -> None:
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"probe": "seed"}, mount_point=mount)


def _observed(root: hvac.Client, client: hvac.Client, mount: str, path: str) -> dict[Access, bool]:
    kv = client.secrets.kv.v2
    folder = path.rsplit("/", 1)[0]
    observed = {
        Access.READ: _allowed(
            lambda: kv.read_secret_version(path=path, mount_point=mount, raise_on_deleted_version=True)
        ),
        Access.LIST: _allowed(lambda: kv.list_secrets(path=folder, mount_point=mount)),
        Access.WRITE: _allowed(
            lambda: kv.create_or_update_secret(path=path, secret={"probe": "written"}, mount_point=mount)
        ),
        Access.DELETE: _allowed(lambda: kv.delete_latest_version_of_secret(path=path, mount_point=mount)),
    }
    _seed(root, mount, path)  # undo a permitted delete for the next policy
    return observed


def _expected(policy: Policy, mount: str, path: str) -> dict[Access, bool]:
    folder = path.rsplit("/", 1)[0] + "/"
    return {
        Access.READ: policy.allows(mount, path, Access.READ),
        Access.LIST: policy.allows(mount, folder, Access.LIST),
        Access.WRITE: policy.allows(mount, path, Access.WRITE),
        Access.DELETE: policy.allows(mount, path, Access.DELETE),
    }


@pytest.mark.parametrize("policy", ACCESS.policies, ids=lambda policy: policy.name)
def test_token_can_do_exactly_what_its_policy_declares(root: hvac.Client, policy: Policy) -> None:
    probes = _probes(ACCESS)
    for mount, path in probes:
        _seed(root, mount, path)
    client = _token_client(root, policy)

    mismatches = []
    granted = denied = 0
    for mount, path in probes:
        expected = _expected(policy, mount, path)
        observed = _observed(root, client, mount, path)
        granted += sum(expected.values())
        denied += sum(not allowed for allowed in expected.values())
        mismatches.extend(
            f"{access} {mount}/{path}: expected {'allowed' if expected[access] else 'denied'}"
            for access in Access
            if expected[access] != observed[access]
        )

    assert mismatches == []
    assert granted >= 2, f"{policy.name} was never expected to be allowed anything"
    assert denied >= 10, f"{policy.name} was never expected to be denied anything"


@pytest.mark.parametrize(
    ("policy", "mount", "path", "allowed"),
    [
        ("platform-local", "platform", "local/manual/oauth/google", True),
        ("platform-local", "infrastructure", "local/for-platform/influx", True),
        ("platform-local", "platform", "other/manual/oauth/google", False),
        ("platform-local", "infrastructure", "local/manual/forward-auth", False),
        ("infrastructure", "infrastructure", "local/manual/forward-auth", True),
        ("infrastructure", "platform", "local/manual/oauth/google", False),
        ("elo-team", "platform", "local/elo/dgraph", True),
        ("elo-team", "platform", "local/manual/oauth/google", False),
        ("data-science-team", "platform", "local/data-science/postgres", True),
        ("data-science-team", "platform", "local/manual/oauth/google", False),
    ],
)
def test_read_spot_checks(root: hvac.Client, policy: str, mount: str, path: str, allowed: bool) -> None:
    _seed(root, mount, path)
    client = _token_client(root, ACCESS.policy(policy))
    kv = client.secrets.kv.v2

    assert _allowed(
        lambda: kv.read_secret_version(path=path, mount_point=mount, raise_on_deleted_version=True)
    ) is (allowed)


@pytest.mark.parametrize(
    ("policy", "mount", "path", "allowed"),
    [
        ("platform-local", "platform", "local/manual/oauth/google", False),
        ("readonly-team", "platform", "local/manual/oauth/google", False),
        ("admin-team", "platform", "local/manual/oauth/google", True),
        ("admin-team", "infrastructure", "local/manual/gatus", True),
        ("admin-team", "platform", "local/manual/aws-s3", True),
        # An external server's passwords sit where layer2 keeps its own: maintainers can't write them.
        ("admin-team", "infrastructure", "local/postgres/grafana", False),
        ("infrastructure", "infrastructure", "local/for-platform/postgres/platform", True),
        ("data-science-team", "platform", "local/data-science/postgres", False),
        ("data-science-team", "platform", "local/data-science/manual/notes", True),
        ("infrastructure", "infrastructure", "local/redis", True),
    ],
)
def test_write_spot_checks(root: hvac.Client, policy: str, mount: str, path: str, allowed: bool) -> None:
    kv = _token_client(root, ACCESS.policy(policy)).secrets.kv.v2

    assert (
        _allowed(lambda: kv.create_or_update_secret(path=path, secret={"k": "v"}, mount_point=mount))
        is allowed
    )


def _read_with(root: hvac.Client, name: str, rules: str, mount: str, path: str) -> bool:
    root.sys.create_or_update_policy(name=name, policy=rules)
    token = root.auth.token.create(policies=[name], ttl="5m")["auth"]["client_token"]
    client = local_client(root.url, token)
    return _allowed(
        lambda: client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )
    )


def test_original_style_logical_path_rule_grants_nothing_on_kv_v2(root: hvac.Client) -> None:
    """Regression: the original wrote ``platform/<env>/*``; KV v2 serves ``platform/data/<env>/...``."""
    _seed(root, "platform", "local/manual/oauth/google")

    original = 'path "platform/local/*" { capabilities = ["read", "list"] }'
    assert _read_with(root, "original-env", original, "platform", "local/manual/oauth/google") is False
    assert ACCESS.platform_policy.allows("platform", "local/manual/oauth/google", Access.READ)


def test_original_mount_wide_rule_reaches_every_environment_but_ours_does_not(root: hvac.Client) -> None:
    """Regression: ``platform/*`` happens to match ``platform/data/...`` and so exposes all environments."""
    _seed(root, "platform", "other/manual/oauth/google")
    ours = _token_client(root, ACCESS.platform_policy)

    original = 'path "platform/*" { capabilities = ["read"] }'
    assert _read_with(root, "original-mount", original, "platform", "other/manual/oauth/google") is True
    assert (
        _allowed(
            lambda: ours.secrets.kv.v2.read_secret_version(
                path="other/manual/oauth/google", mount_point="platform", raise_on_deleted_version=True
            )
        )
        is False
    )


@pytest.mark.parametrize(("policy", "allowed"), [("platform-local", True), ("readonly-team", False)])
def test_child_tokens_only_for_terraform_policies(root: hvac.Client, policy: str, allowed: bool) -> None:
    client = _token_client(root, ACCESS.policy(policy))

    assert _allowed(lambda: client.auth.token.create(policies=[policy], ttl="1m")) is allowed


def test_applying_again_changes_nothing(root: hvac.Client) -> None:
    assert {change.outcome for change in apply_access(root, ACCESS)} == {Outcome.UNCHANGED}


def test_kv_paths_are_served_where_the_description_says(root: hvac.Client) -> None:
    """A root write through the logical path lands where the platform token reads it."""
    ref = external_secrets(ENV)["chatwoot-hmac-key"]
    root.secrets.kv.v2.create_or_update_secret(
        path=ref.path, secret={ref.key: "spot"}, mount_point="platform"
    )
    client = _token_client(root, ACCESS.platform_policy)

    read = client.secrets.kv.v2.read_secret_version(
        path=ref.path, mount_point=ref.mount.path, raise_on_deleted_version=True
    )

    assert read["data"]["data"][ref.key] == "spot"
