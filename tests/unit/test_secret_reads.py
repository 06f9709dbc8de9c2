"""The secrets manifest is the single list: what an environment's manifest declares is exactly what its
stacks read from outside layer2, and every secret a stack reads is declared or written by layer2.

A dead entry makes operators provide (and the bootstrap demand) a value nothing uses, or copy a value into
Vault nobody should find there; an undeclared read fails at deploy time with a secret nobody was told to
write. Both are checked on the synthesized JSON, down to the key a stack takes from each
``vault_kv_secret_v2`` data source, for every shipped environment and for prod with its buckets on AWS (the
one configuration that reads the AWS bucket key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cdktf_cdktf_provider_vault.data_vault_kv_secret_v2 import DataVaultKvSecretV2
from cdktf_cdktf_provider_vault.kv_secret_v2 import KvSecretV2 as VaultKvSecretV2
from cdktf_cdktf_provider_vault.mount import Mount as VaultMount

from sprocket_infra.app import build_app
from sprocket_infra.config import Environment, ExternalPostgresConfig, load_environment
from sprocket_infra.secrets.external import external_secrets
from tests.conftest import ENVIRONMENTS, Stacks, read_stacks
from tests.synth_json import data_sources, resources

SynthStacks = Callable[[str], Stacks]
Read = tuple[str, str, str]
"""(mount, secret path, key)."""
Configurations = dict[str, tuple[Environment, Stacks]]

AWS_BUCKETS = "prod with buckets on AWS"


def with_layer2(environment: Environment, **changes: object) -> Environment:
    """``environment`` with some ``layer2`` settings replaced (already-validated values)."""
    layer2 = environment.layer2.model_copy(update=changes)
    return environment.model_copy(update={"layer2": layer2})


@pytest.fixture(scope="module")
def aws_bucket_stacks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Environment, Stacks]:
    """prod with every bucket on AWS: no shipped environment reads the operator's AWS key pair."""
    prod = load_environment("prod")
    buckets = {
        kind: bucket.model_copy(update={"provider": "aws"}) for kind, bucket in prod.layer2.buckets.items()
    }
    environment = with_layer2(prod, buckets=buckets)
    directory = tmp_path_factory.mktemp("synth-aws-buckets")
    build_app(environment, outdir=str(directory)).synth()
    return environment, read_stacks(Path(directory))


@pytest.fixture
def every_configuration(
    synth_stacks: SynthStacks, aws_bucket_stacks: tuple[Environment, Stacks]
) -> Configurations:
    """Label -> (validated environment, its synthesized stacks)."""
    shipped = {name: (load_environment(name), synth_stacks(name)) for name in ENVIRONMENTS}
    return shipped | {AWS_BUCKETS: aws_bucket_stacks}


def mount_path(stack: dict[str, Any], mount: str) -> str:
    """A mount as a plain path: layer2 refers to the ``vault_mount`` it creates, other stacks name it."""
    mounts = {
        f"${{vault_mount.{logical_id}.path}}": body["path"]
        for logical_id, body in resources(stack, VaultMount.TF_RESOURCE_TYPE).items()
    }
    return mounts.get(mount, mount)


def key_reads(stack: dict[str, Any]) -> Iterator[Read]:
    """Every key the stack takes from a ``vault_kv_secret_v2`` data source (a data source read for its
    version alone, to trigger a replacement, counts for no key)."""
    text = json.dumps(stack)
    for logical_id, body in data_sources(stack, DataVaultKvSecretV2.TF_RESOURCE_TYPE).items():
        taken = re.compile(rf'data\.vault_kv_secret_v2\.{re.escape(logical_id)}\.data\[\\"([^\\"]+)\\"\]')
        for key in taken.findall(text):
            yield mount_path(stack, body["mount"]), body["name"], key


def layer2_writes(layer2: dict[str, Any]) -> set[tuple[str, str]]:
    """(mount, path) of every secret layer2 writes."""
    return {
        (mount_path(layer2, body["mount"]), body["name"])
        for body in resources(layer2, VaultKvSecretV2.TF_RESOURCE_TYPE).values()
    }


@pytest.mark.parametrize("configuration", [*ENVIRONMENTS, AWS_BUCKETS])
def test_each_manifest_is_exactly_what_its_stacks_read_from_outside_layer2(
    every_configuration: Configurations, configuration: str
) -> None:
    environment, stacks = every_configuration[configuration]
    written = layer2_writes(stacks["layer2"])
    from_outside = {read for stack in stacks.values() for read in key_reads(stack) if read[:2] not in written}
    declared = {(ref.mount.path, ref.path, ref.key) for ref in external_secrets(environment).values()}

    assert sorted(declared - from_outside) == [], f"{configuration}: declared, but no stack reads them"
    assert sorted(from_outside - declared) == [], f"{configuration}: read, but nobody declares or writes them"


@pytest.mark.parametrize("configuration", [*ENVIRONMENTS, AWS_BUCKETS])
def test_every_secret_a_stack_reads_is_declared_or_written_by_layer2(
    every_configuration: Configurations, configuration: str
) -> None:
    """Whole secrets, so data sources read only for their version count too."""
    environment, stacks = every_configuration[configuration]
    declared = {(ref.mount.path, ref.path) for ref in external_secrets(environment).values()}
    known = declared | layer2_writes(stacks["layer2"])
    for stack_name in ("layer2", "platform"):
        stack = stacks[stack_name]
        reads = {
            (mount_path(stack, body["mount"]), body["name"])
            for body in data_sources(stack, DataVaultKvSecretV2.TF_RESOURCE_TYPE).values()
        }
        assert reads, stack_name
        undeclared = sorted(f"{mount}/{name}" for mount, name in reads if (mount, name) not in known)
        assert undeclared == [], f"{configuration} {stack_name} reads secrets nobody declares or writes"


def test_external_postgres_passwords_are_where_layer2_keeps_a_managed_clusters(
    synth_stacks: SynthStacks,
) -> None:
    """Stacks read a consumer's password from one path whoever wrote it; prod's cluster is DigitalOcean's,
    so layer2 writes every consumer's there, and the manifest of prod on an external server must ask for
    exactly those (a consumer layer2 adds shows up here first)."""
    prod = load_environment("prod")
    external = with_layer2(prod, postgres=ExternalPostgresConfig(host="db.example.internal"))
    asked = {
        (ref.mount.path, ref.path)
        for ref in external_secrets(external).values()
        if ref.name.startswith("postgres-")
    }
    kept = {where for where in layer2_writes(synth_stacks("prod")["layer2"]) if "/postgres/" in where[1]}

    assert kept, "prod's layer2 keeps no PostgreSQL password"
    assert asked == kept
