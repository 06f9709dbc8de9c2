"""Constructs whose other modes the shipped environments don't use: a managed cluster, the database engine."""

from __future__ import annotations

import json
from typing import Any

import cdktf
import pytest
from cdktf_cdktf_provider_digitalocean.database_cluster import DatabaseCluster as DigitaloceanDatabaseCluster
from cdktf_cdktf_provider_digitalocean.database_firewall import (
    DatabaseFirewall as DigitaloceanDatabaseFirewall,
)
from cdktf_cdktf_provider_vault.database_secrets_mount import (
    DatabaseSecretsMount as VaultDatabaseSecretsMount,
)
from cdktf_cdktf_provider_vault.kv_secret_v2 import KvSecretV2 as VaultKvSecretV2

from sprocket_infra.config import ManagedPostgresConfig, TrustedSource, load_environment
from sprocket_infra.constructs.managed_postgres import ManagedPostgres, ManagedPostgresProps
from sprocket_infra.constructs.vault_database_engine import VaultDatabaseEngine, VaultDatabaseEngineProps
from sprocket_infra.constructs.vault_secrets import Layer2Secrets
from tests.synth_json import resources


@pytest.fixture(scope="module")
def managed() -> dict[str, Any]:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    secrets = Layer2Secrets(
        stack, "secrets", environment="prod", mount_paths={"infrastructure": "infrastructure"}
    )
    config = ManagedPostgresConfig(
        name="sprocket-pg", trusted_sources=(TrustedSource(type="droplet", value="42"),)
    )
    postgres = ManagedPostgres(
        stack,
        "postgres",
        ManagedPostgresProps(
            environment=load_environment("prod"),
            config=config,
            consumers=("platform", "grafana"),
            secrets=secrets,
        ),
    )
    assert postgres.admin is not None
    VaultDatabaseEngine(
        stack,
        "engine",
        VaultDatabaseEngineProps(
            endpoint=postgres.endpoint,
            database=postgres.logins["platform"].database,
            admin_user=postgres.admin[0],
            admin_password=postgres.admin[1],
        ),
    )
    return json.loads(cdktf.Testing.synth(stack))


def test_managed_cluster_is_protected_and_only_trusts_its_nodes(managed: dict[str, Any]) -> None:
    (cluster,) = resources(managed, DigitaloceanDatabaseCluster.TF_RESOURCE_TYPE).values()
    assert cluster["engine"] == "pg"
    assert cluster["lifecycle"]["prevent_destroy"] is True
    (firewall,) = resources(managed, DigitaloceanDatabaseFirewall.TF_RESOURCE_TYPE).values()
    assert firewall["rule"] == [{"type": "droplet", "value": "42"}]


def test_platform_password_is_published_for_the_platform_only(managed: dict[str, Any]) -> None:
    paths = sorted(body["name"] for body in resources(managed, VaultKvSecretV2.TF_RESOURCE_TYPE).values())
    # prod/postgres-admin: the cluster's admin, for operators and the grants task (not for-platform).
    assert paths == ["prod/for-platform/postgres/platform", "prod/postgres-admin", "prod/postgres/grafana"]


def test_database_engine_gets_the_admin_password_write_only(managed: dict[str, Any]) -> None:
    (mount,) = resources(managed, VaultDatabaseSecretsMount.TF_RESOURCE_TYPE).values()
    (connection,) = mount["postgresql"]
    assert connection["password_wo"].startswith("${digitalocean_database_cluster.")
    assert "password" not in connection
    assert connection["allowed_roles"] == ["readonly"]
