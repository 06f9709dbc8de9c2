"""layer1 as synthesized with Vault HA: one service per raft node, the transit token and the KMS key
created at deploy time, nothing secret in the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.app import build_app
from sprocket_infra.vault.server_config_nodes import CONFIG_PATH
from sprocket_infra.vault.server_config_seal import KMS_CREDENTIALS_PATH, TRANSIT_TOKEN_PATH
from tests.conftest import read_stacks
from tests.synth_json import mounted_file, resources, service_labels, services
from tests.unit.vault_variants import HA_AWSKMS, HA_TRANSIT, with_vault

NODES = ("vault", "vault-2", "vault-3")


def synth_layer1(
    tmp_path_factory: pytest.TempPathFactory, base: str, vault: dict[str, Any]
) -> dict[str, Any]:
    outdir: Path = tmp_path_factory.mktemp(f"synth-{base}-ha")
    build_app(with_vault(base, vault), outdir=str(outdir)).synth()
    return read_stacks(outdir)["layer1"]


@pytest.fixture(scope="module")
def transit_layer1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth_layer1(tmp_path_factory, "local", HA_TRANSIT)


@pytest.fixture(scope="module")
def kms_layer1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth_layer1(tmp_path_factory, "prod", HA_AWSKMS)


def container(service: dict[str, Any]) -> dict[str, Any]:
    return dict(service["task_spec"]["container_spec"])


def test_one_pinned_service_per_raft_node_only_node_1_bootstraps(transit_layer1: dict[str, Any]) -> None:
    nodes = {name: body for name, body in services(transit_layer1).items() if name.startswith("vault")}
    assert sorted(nodes) == list(NODES)
    for index, name in enumerate(NODES, start=1):
        env = container(nodes[name])["env"]
        assert env["VAULT_NODE_ROLE"] == ("bootstrap" if index == 1 else "join")
        assert env["VAULT_SEAL_KIND"] == "transit"
        assert env["VAULT_SEAL_TOKEN_FILE"] == TRANSIT_TOKEN_PATH
        constraints = nodes[name]["task_spec"]["placement"]["constraints"]
        assert f"node.labels.sprocket.vault-node=={index}" in constraints
        mounts = {m["target"]: m for m in container(nodes[name])["mounts"]}
        assert mounts["/openbao/file"]["source"] == f"{name}-data"
        hcl = mounted_file(transit_layer1, nodes[name], CONFIG_PATH)
        assert f'node_id = "{name}"' in hcl
        assert f'api_addr      = "http://{name}:8200"' in hcl
        peers = [f'leader_api_addr = "http://{peer}:8200"' for peer in NODES if peer != name]
        assert all(peer in hcl for peer in peers)
        assert hcl.count("retry_join {") == 2
        assert 'seal "transit"' in hcl
        assert "token" not in hcl
    # Only node 1 carries the router; the others join Vault's edge network to reach each other.
    assert any(key.startswith("traefik.http.routers.") for key in service_labels(nodes["vault"]))
    for name in NODES[1:]:
        assert not any(key.startswith("traefik.") for key in service_labels(nodes[name]))
        assert nodes[name]["task_spec"]["networks_advanced"] == [
            {"id": "${docker_network.edge-network-vault.id}"}
        ], name


def test_transit_token_is_a_sensitive_deploy_time_variable(transit_layer1: dict[str, Any]) -> None:
    variable = transit_layer1["variable"]["vault_transit_token"]
    assert variable["sensitive"] is True
    assert "default" not in variable
    (secret,) = resources(transit_layer1, "docker_secret").values()
    assert "var.vault_transit_token" in secret["data"]
    assert secret["lifecycle"]["create_before_destroy"] is True
    mounted = {s["file_name"] for s in container(services(transit_layer1)["vault-3"])["secrets"]}
    assert mounted == {TRANSIT_TOKEN_PATH}


def test_kms_key_created_with_rotation_and_protection_and_a_user_limited_to_it(
    kms_layer1: dict[str, Any],
) -> None:
    ((key_id, key),) = resources(kms_layer1, "aws_kms_key").items()
    assert key["enable_key_rotation"] is True
    assert key["lifecycle"]["prevent_destroy"] is True
    (policy,) = resources(kms_layer1, "aws_iam_user_policy").values()
    # jsonencode() of an HCL object: the one statement, on this key's ARN, with the three actions.
    assert policy["policy"] == (
        '${jsonencode({"Version" = "2012-10-17", "Statement" = [{"Effect" = "Allow", "Action" = '
        f'["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource" = aws_kms_key.{key_id}.arn}}]}})}}'
    )
    assert kms_layer1["provider"]["aws"][0]["region"] == "us-east-1"
    for name in NODES:
        service = services(kms_layer1)[name]
        hcl = mounted_file(kms_layer1, service, CONFIG_PATH)
        assert 'kms_key_id = "alias/sprocket-prod-vault-unseal"' in hcl
        assert container(service)["env"]["AWS_SHARED_CREDENTIALS_FILE"] == KMS_CREDENTIALS_PATH
        assert "disable_mlock = true" in hcl  # HashiCorp Vault in an unprivileged container
    ((alias_id, alias),) = resources(kms_layer1, "aws_kms_alias").items()
    assert alias["name"] == "alias/sprocket-prod-vault-unseal"
    assert alias["target_key_id"] == f"${{aws_kms_key.{key_id}.key_id}}"
    (secret,) = resources(kms_layer1, "docker_secret").values()
    assert "aws_iam_access_key." in secret["data"]
    assert ".secret" in secret["data"]
    assert secret["depends_on"] == [f"aws_kms_alias.{alias_id}"]


def test_no_credential_literal_in_the_json(
    kms_layer1: dict[str, Any], transit_layer1: dict[str, Any]
) -> None:
    for stack in (kms_layer1, transit_layer1):
        text = json.dumps(stack)
        for needle in ("AKIA", 'aws_secret_access_key = \\"', "hvs.", "s.Qf", "BEGIN "):
            assert needle not in text
