"""layer2's Vault configuration, PostgreSQL logins, buckets and providers, read from synthesized JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from cdktf_cdktf_provider_digitalocean.database_db import DatabaseDb as DigitaloceanDatabaseDb
from cdktf_cdktf_provider_digitalocean.database_firewall import (
    DatabaseFirewall as DigitaloceanDatabaseFirewall,
)
from cdktf_cdktf_provider_digitalocean.database_user import DatabaseUser as DigitaloceanDatabaseUser
from cdktf_cdktf_provider_digitalocean.spaces_bucket import SpacesBucket as DigitaloceanSpacesBucket
from cdktf_cdktf_provider_digitalocean.spaces_bucket_cors_configuration import (
    SpacesBucketCorsConfiguration as DigitaloceanSpacesBucketCorsConfiguration,
)
from cdktf_cdktf_provider_digitalocean.spaces_key import SpacesKey as DigitaloceanSpacesKey
from cdktf_cdktf_provider_docker.service import Service as DockerService
from cdktf_cdktf_provider_vault.audit import Audit as VaultAudit
from cdktf_cdktf_provider_vault.data_vault_kv_secret_v2 import DataVaultKvSecretV2
from cdktf_cdktf_provider_vault.github_auth_backend import GithubAuthBackend as VaultGithubAuthBackend
from cdktf_cdktf_provider_vault.github_team import GithubTeam as VaultGithubTeam
from cdktf_cdktf_provider_vault.kv_secret_v2 import KvSecretV2 as VaultKvSecretV2
from cdktf_cdktf_provider_vault.mount import Mount as VaultMount
from cdktf_cdktf_provider_vault.policy import Policy as VaultPolicy

from sprocket_infra import naming
from sprocket_infra.config import ConfigError, load_environment, parse_environment
from sprocket_infra.vault.access import kv_rules, policy_hcl, vault_access
from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import data_sources, resources

_PATH_STANZA = re.compile(r'^path "([^"]+)"', re.MULTILINE)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_vault_policies_are_the_rendered_description(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    synthesized = {
        body["name"]: body["policy"]
        for body in resources(synth_stacks(environment)["layer2"], VaultPolicy.TF_RESOURCE_TYPE).values()
    }
    access = vault_access(environment)
    assert synthesized == {policy.name: policy_hcl(policy) for policy in access.policies}
    for policy in access.policies:
        granted = set(_PATH_STANZA.findall(synthesized[policy.name]))
        declared = {path for grant in policy.grants for path, _ in kv_rules(grant)}
        extra = {"auth/token/create"} if policy.create_child_tokens else set()
        assert granted == declared | extra, policy.name


def test_vault_mounts_logins_and_audit(synth_stacks: Callable[[str], Stacks]) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    access = vault_access("prod", contributors_read_secrets=False)
    mounts = {body["path"]: body for body in resources(layer2, VaultMount.TF_RESOURCE_TYPE).values()}
    assert set(mounts) == {mount.path for mount in access.mounts}
    assert all(body["type"] == "kv" and body["options"] == {"version": "2"} for body in mounts.values())
    teams = {body["team"]: body for body in resources(layer2, VaultGithubTeam.TF_RESOURCE_TYPE).values()}
    assert set(teams) == {team.slug for team in access.github.teams}
    (github,) = resources(layer2, VaultGithubAuthBackend.TF_RESOURCE_TYPE).values()
    assert github["organization"] == access.github.organization
    assert github["token_ttl"] <= github["token_max_ttl"] <= 24 * 3600
    (audit,) = resources(layer2, VaultAudit.TF_RESOURCE_TYPE).values()
    assert audit["options"]["file_path"] == "stdout"
    assert "database" not in {body.get("type") for body in mounts.values()}


@pytest.mark.parametrize(("environment", "contributors"), [("local", True), ("lan", True), ("prod", False)])
def test_contributors_log_in_only_where_secrets_are_not_production(
    synth_stacks: Callable[[str], Stacks], environment: str, contributors: bool
) -> None:
    """Any org contributor could otherwise read production OAuth secrets through readonly-team.

    Only HashiCorp Vault (prod) has a GitHub auth method; on OpenBao the description still decides which
    policies a maintainer's or contributor's token may be issued with."""
    settings = load_environment(environment)
    layer2 = synth_stacks(environment)["layer2"]
    teams = {body["team"] for body in resources(layer2, VaultGithubTeam.TF_RESOURCE_TYPE).values()}
    if settings.vault.is_openbao:
        assert not teams
        access = vault_access(
            environment, contributors_read_secrets=settings.layer2.vault.contributors_read_secrets
        )
        teams = {team.slug for team in access.github.teams}
    assert ("contributor" in teams) == contributors
    assert "maintainers" in teams


def test_generated_secrets_are_written_write_only_and_read_after_the_write(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    writes = resources(layer2, VaultKvSecretV2.TF_RESOURCE_TYPE)
    assert writes
    for body in writes.values():
        assert "data_json" not in body
        assert body["data_json_wo"].startswith("${jsonencode(")
        assert body["lifecycle"]["replace_triggered_by"]
        assert body["name"].startswith("prod/")
    # A plain address: Terraform rejects an interpolated "${...}" in depends_on at init.
    written = {f"vault_kv_secret_v2.{logical_id}" for logical_id in writes}
    reads = data_sources(layer2, DataVaultKvSecretV2.TF_RESOURCE_TYPE).values()
    generated = [read for read in reads if "/manual/" not in read["name"]]
    assert generated
    assert all(read["depends_on"] and set(read["depends_on"]) <= written for read in generated)


def test_every_database_consumer_gets_its_own_login_and_none_is_the_admin(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    environment = load_environment("prod")
    users = [body["name"] for body in resources(layer2, DigitaloceanDatabaseUser.TF_RESOURCE_TYPE).values()]
    databases = [body["name"] for body in resources(layer2, DigitaloceanDatabaseDb.TF_RESOURCE_TYPE).values()]
    consumers = ("platform", "grafana", "n8n")
    assert sorted(users) == sorted(naming.database_user(environment, consumer) for consumer in consumers)
    assert sorted(databases) == sorted(naming.database_name(environment, consumer) for consumer in consumers)
    assert "doadmin" not in users
    # The admin pair is kept in Vault for operators and the grants task (prod/postgres-admin) and reaches
    # no other secret and no service but postgres-grants.
    admin_read = "read-infrastructure-postgres-admin_"
    kept = {
        key: body
        for key, body in layer2["resource"]["vault_kv_secret_v2"].items()
        if body["name"] != "prod/postgres-admin"
    }
    text = json.dumps({key: layer2["resource"][key] for key in ("docker_service", "docker_secret")} | kept)
    assert not re.search(r"digitalocean_database_cluster\.[^.}]+\.(user|password|uri)", text)
    admin_secrets = {
        name for name, body in layer2["resource"]["docker_secret"].items() if admin_read in body["data"]
    }
    assert len(admin_secrets) == 2
    mounting = [
        body["name"]
        for body in layer2["resource"]["docker_service"].values()
        if any(secret in json.dumps(body) for secret in admin_secrets)
    ]
    assert mounting == ["postgres-grants"]
    (firewall,) = resources(layer2, DigitaloceanDatabaseFirewall.TF_RESOURCE_TYPE).values()
    assert firewall["rule"] == [{"type": "tag", "value": "sprocket-swarm"}]


def test_buckets_are_private_versioned_and_expire_old_versions(synth_stacks: Callable[[str], Stacks]) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    environment = load_environment("prod")
    buckets = {
        body["name"]: body for body in resources(layer2, DigitaloceanSpacesBucket.TF_RESOURCE_TYPE).values()
    }
    assert set(buckets) == {
        naming.bucket_name(environment, kind) for kind in ("general", "image-generation", "replays")
    }
    for body in buckets.values():
        assert body["acl"] == "private"
        assert body["versioning"] == {"enabled": True}
        assert body["lifecycle_rule"][0]["noncurrent_version_expiration"]["days"] > 0
        assert body["lifecycle"]["prevent_destroy"] is True
    cors = [
        body["bucket"]
        for body in resources(layer2, DigitaloceanSpacesBucketCorsConfiguration.TF_RESOURCE_TYPE).values()
    ]
    assert cors == ["${digitalocean_spaces_bucket.buckets_replays_bucket_4E9A01C9.name}"]
    (key,) = resources(layer2, DigitaloceanSpacesKey.TF_RESOURCE_TYPE).values()
    assert sorted(grant["bucket"] for grant in key["grant"]) == sorted(buckets)


@pytest.mark.parametrize("environment", ["local", "lan"])
def test_local_and_lan_create_no_cloud_resources(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    for name, stack in synth_stacks(environment).items():
        assert not {"aws", "digitalocean"} & set(stack["terraform"]["required_providers"]), name
        assert not [
            kind for kind in stack.get("resource", {}) if kind.startswith(("aws_", "digitalocean_"))
        ], name


def test_lan_logins_point_at_the_external_server(synth_stacks: Callable[[str], Stacks]) -> None:
    layer2 = synth_stacks("lan")["layer2"]
    grafana = next(
        body
        for body in resources(layer2, DockerService.TF_RESOURCE_TYPE).values()
        if body["name"] == "grafana"
    )
    env = grafana["task_spec"]["container_spec"]["env"]
    assert env["GF_DATABASE_HOST"] == "192.168.4.39:5432"
    assert env["GF_DATABASE_PASSWORD__FILE"] == "/run/secrets/grafana-db-password"
    reads = {body["name"] for body in data_sources(layer2, DataVaultKvSecretV2.TF_RESOURCE_TYPE).values()}
    assert "lan/postgres/grafana" in reads


def test_fails_when_database_engine_has_no_cluster() -> None:
    with pytest.raises(ConfigError, match=r"vault\.database_engine needs postgres\.kind"):
        parse_environment(
            {"name": "x", "routing": {"domain": "localhost"}, "layer2": {"vault": {"database_engine": True}}},
            source="x.yaml",
        )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_layer2_reads_only_through_the_mounts_it_creates(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    """A read naming the mount as a plain string would be planned before the mount exists and fail an
    environment's first deploy; through the mount resource, Terraform reads after creating it."""
    layer2 = synth_stacks(environment)["layer2"]
    mount_refs = {
        f"${{vault_mount.{logical_id}.path}}" for logical_id in resources(layer2, VaultMount.TF_RESOURCE_TYPE)
    }
    reads = data_sources(layer2, DataVaultKvSecretV2.TF_RESOURCE_TYPE).values()
    assert reads
    assert {body["mount"] for body in reads} <= mount_refs
