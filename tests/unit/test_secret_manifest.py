"""What goes into an environment's secrets manifest: decided by its configuration, and never a variable
that holds the operator's own deploy credentials.

The bootstrap copies whatever a manifest variable holds into Vault, where other teams' policies may read
it. A manifest entry reading ``SPACES_ACCESS_KEY_ID`` (which the DigitalOcean provider reads, and which
operators export to deploy) once put the operator's account-wide key into ``platform/prod/manual`` although
prod never used it.
"""

from __future__ import annotations

from typing import Any

import pytest

from sprocket_infra.config import Environment, load_environment, parse_environment
from sprocket_infra.secrets.external import common_secret_names, external_secrets
from sprocket_infra.secrets.manifest import SecretRef
from sprocket_infra.vault.access import INFRASTRUCTURE, PLATFORM
from tests.conftest import ENVIRONMENTS

DEPLOY_CREDENTIALS = (
    "SPACES_ACCESS_KEY_ID",
    "SPACES_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "DIGITALOCEAN_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "VAULT_TOKEN",
    "VAULT_ADDR",
    "BAO_TOKEN",
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOPPLER_TOKEN",
    "GITHUB_TOKEN",
    "PGPASSWORD",
    "TF_TOKEN_app_terraform_io",
)
"""Variables providers, the state backend and operator tools read from the operator's shell: written out
here rather than taken from the code's guard, so a guard that lost an entry still fails this test."""

AWS_PAIR = {"aws-s3-access-key-id", "aws-s3-secret-access-key"}
POSTGRES_PASSWORDS = {"postgres-platform-password", "postgres-grafana-password", "postgres-n8n-password"}


def environment(name: str = "sample", **layer2: Any) -> Environment:
    """A minimal environment file's content, with ``layer2`` settings as YAML would give them."""
    data = {"name": name, "routing": {"domain": "localhost"}, "layer2": layer2}
    return parse_environment(data, source=f"{name}.yaml")


EVERYTHING = environment(
    postgres={"kind": "external", "host": "db.example.internal"},
    buckets={"general": {"provider": "aws"}, "replays": {"provider": "spaces"}},
)
"""Every optional entry at once: an external server and one bucket on AWS."""


def configurations() -> dict[str, Environment]:
    return {name: load_environment(name) for name in ENVIRONMENTS} | {"everything": EVERYTHING}


@pytest.mark.parametrize("label", [*ENVIRONMENTS, "everything"])
def test_no_manifest_variable_is_a_provider_or_deploy_credential(label: str) -> None:
    variables = external_secrets(configurations()[label]).env_vars

    assert variables
    assert sorted(set(variables) & set(DEPLOY_CREDENTIALS)) == []
    assert [name for name in variables if name.startswith(("AWS_", "SPACES_", "DIGITALOCEAN_"))] == []


@pytest.mark.parametrize("variable", DEPLOY_CREDENTIALS)
def test_a_ref_that_would_read_a_deploy_credential_is_refused(variable: str) -> None:
    with pytest.raises(ValueError, match=f"env_var {variable} is in a namespace other tools read"):
        SecretRef(
            name="leak", mount=PLATFORM, path="prod/manual/leak", key="k", description="d", env_var=variable
        )


def test_the_aws_key_pair_is_asked_for_only_where_a_bucket_is_on_aws() -> None:
    prod = load_environment("prod")
    assert prod.layer2.buckets, "prod has buckets (on Spaces), so it must not need the AWS pair"

    assert AWS_PAIR.isdisjoint(external_secrets(prod))
    assert AWS_PAIR.isdisjoint(external_secrets("local"))
    pair = {name: external_secrets(EVERYTHING)[name] for name in sorted(AWS_PAIR)}
    assert {(ref.address, ref.env_var) for ref in pair.values()} == {
        ("platform/sample/manual/aws-s3#accessKeyId", "PLATFORM_AWS_S3_ACCESS_KEY_ID"),
        ("platform/sample/manual/aws-s3#secretAccessKey", "PLATFORM_AWS_S3_SECRET_ACCESS_KEY"),
    }


@pytest.mark.parametrize(
    ("postgres", "asked"),
    [
        ({"kind": "none"}, False),
        ({"kind": "existing", "name": "cluster", "trusted_sources": [{"type": "tag", "value": "s"}]}, False),
        ({"kind": "managed", "name": "cluster", "trusted_sources": [{"type": "tag", "value": "s"}]}, False),
        ({"kind": "external", "host": "192.0.2.10"}, True),
    ],
)
def test_postgres_passwords_are_asked_for_only_for_an_external_server(
    postgres: dict[str, Any], asked: bool
) -> None:
    names = set(external_secrets(environment(postgres=postgres)))

    assert names & POSTGRES_PASSWORDS == (POSTGRES_PASSWORDS if asked else set())


def test_lan_declares_its_hand_made_postgres_passwords() -> None:
    lan = external_secrets("lan")

    assert {(lan[name].address, lan[name].env_var) for name in sorted(POSTGRES_PASSWORDS)} == {
        ("infrastructure/lan/for-platform/postgres/platform#password", "POSTGRES_PLATFORM_PASSWORD"),
        ("infrastructure/lan/postgres/grafana#password", "POSTGRES_GRAFANA_PASSWORD"),
        ("infrastructure/lan/postgres/n8n#password", "POSTGRES_N8N_PASSWORD"),
    }
    assert all(lan[name].mount is INFRASTRUCTURE for name in POSTGRES_PASSWORDS)
    assert "sprocket_lan" in lan["postgres-platform-password"].description


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_a_name_stands_for_the_shipped_config_file(name: str) -> None:
    assert external_secrets(name) == external_secrets(load_environment(name))
    assert external_secrets(name, mount=PLATFORM) == {
        key: ref for key, ref in external_secrets(name).items() if ref.mount is PLATFORM
    }


def test_common_names_are_exactly_those_every_configuration_has() -> None:
    manifests = [set(external_secrets(item)) for item in configurations().values()]

    assert common_secret_names() == set.intersection(*manifests)
    assert common_secret_names(mount=PLATFORM) == {
        name for name in common_secret_names() if external_secrets("local")[name].mount is PLATFORM
    }
