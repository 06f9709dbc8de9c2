"""Vault runs as its image's user with no capabilities, believes X-Forwarded-For only from the proxies it
is given, and the ``vault-admin`` policy text names nothing dangerous (the OpenBao tests prove what the
server makes of it: tests/integration/test_vault_admin.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from sprocket_infra.constructs.vault_with_s3_backend import VaultWithS3BackendProps
from sprocket_infra.vault import server_config as hcl
from sprocket_infra.vault.access import vault_access
from sprocket_infra.vault.admin import admin_policy_hcl, admin_rules, login_quotas
from sprocket_infra.vault.server_config_nodes import CONFIG_PATH
from tests.conftest import Stacks
from tests.synth_json import mounted_file

SynthStacks = Callable[[str], Stacks]


def _vault(stacks: Stacks) -> dict[str, Any]:
    (service,) = (
        body for body in stacks["layer1"]["resource"]["docker_service"].values() if body["name"] == "vault"
    )
    return dict(service["task_spec"]["container_spec"])


@pytest.mark.parametrize("environment", ["local", "prod"])
def test_vault_runs_as_the_image_user_without_capabilities(
    synth_stacks: SynthStacks, environment: str
) -> None:
    container = _vault(synth_stacks(environment))
    assert container["user"] == "100:1000"
    assert container["cap_drop"] == ["ALL"]
    assert "cap_add" not in container
    for secret in container.get("secrets", []):
        assert (secret["file_uid"], secret["file_gid"], secret["file_mode"]) == ("100", "1000", 0o400)


def test_prod_secret_files_belong_to_the_server_user(synth_stacks: SynthStacks) -> None:
    (credentials,) = _vault(synth_stacks("prod"))["secrets"]
    assert credentials["file_name"] == "/run/secrets/vault-s3-credentials"


def test_listener_trusts_forwarded_for_only_from_the_given_proxies() -> None:
    config = hcl.ServerConfig(
        api_addr="https://vault.example.org",
        cluster_addr="http://127.0.0.1:8201",
        listen="0.0.0.0:8200",
        storage=hcl.RaftStorage(path="/openbao/file", node_id="vault-1"),
        trusted_proxy_cidrs=("10.20.3.0/24", "10.20.4.0/24"),
    )
    assert (
        'listener "tcp" {\n'
        '  address                               = "0.0.0.0:8200"\n'
        "  tls_disable                           = true\n"
        '  x_forwarded_for_authorized_addrs      = "10.20.3.0/24,10.20.4.0/24"\n'
        "  x_forwarded_for_reject_not_authorized = true\n"
        "  x_forwarded_for_reject_not_present    = false\n"
        "}\n"
    ) in hcl.render(config)


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_vault_trusts_forwarded_for_from_its_edge_network_only(
    synth_stacks: SynthStacks, environment: str
) -> None:
    """Traefik reaches Vault over Vault's edge network; its subnet, read from the synthesized network,
    is the one address range Vault believes X-Forwarded-For from."""
    stack = synth_stacks(environment)["layer1"]
    (edge,) = (body for body in stack["resource"]["docker_network"].values() if body["name"] == "vault-edge")
    (ipam,) = edge["ipam_config"]
    (service,) = (body for body in stack["resource"]["docker_service"].values() if body["name"] == "vault")
    text = mounted_file(stack, service, CONFIG_PATH)
    assert f'x_forwarded_for_authorized_addrs      = "{ipam["subnet"]}"\n' in text
    assert text.count("x_forwarded_for_authorized_addrs") == 1


def test_fails_when_a_trusted_proxy_is_not_a_network() -> None:
    with pytest.raises(ValueError, match=r"trusted_proxy_cidrs: '10.20.3.7/24' is not a network address"):
        VaultWithS3BackendProps(
            environment=cast(Any, None), routing=cast(Any, None), trusted_proxy_cidrs=("10.20.3.7/24",)
        )


@pytest.mark.parametrize("openbao", [True, False])
def test_vault_admin_policy_names_nothing_dangerous(openbao: bool) -> None:
    access = vault_access("prod")
    text = admin_policy_hcl(
        admin_rules(
            access, openbao=openbao, quotas=login_quotas(access, openbao=openbao, rate=1, interval_s=1)
        )
    )
    paths = [line.split('"')[1] for line in text.splitlines() if line.startswith("path ")]
    for forbidden in ("sys/raw", "sys/seal", "sys/rotate", "sys/generate-root", "sys/rekey", "auth/approle"):
        assert not any(path.startswith(forbidden) for path in paths), forbidden
    for own in ("sys/policies/acl/vault-admin", "sys/policy/default", "auth/token/roles/vault-admin"):
        assert own not in paths
    assert not any(
        "*" in path and not path.startswith(("infrastructure/", "platform/", "auth/github/"))
        for path in paths
    )
    audit = text.split('path "sys/audit/stdout"')
    assert openbao == (len(audit) == 1)
    if not openbao:
        assert '"delete"' not in audit[1].split("}")[0]
