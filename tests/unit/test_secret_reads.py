"""The secrets manifest is the single list: each entry is read by some stack, and no stack reads a secret
that is neither in the manifest nor written by layer2.

A dead entry makes operators provide (and the bootstrap demand) a value nothing uses; an undeclared read
fails at deploy time with a secret nobody was told to write. Both are checked on the synthesized JSON,
down to the key a stack takes from each ``vault_kv_secret_v2`` data source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.app import build_app
from sprocket_infra.config import ExternalPostgresConfig, load_environment
from sprocket_infra.constructs.managed_postgres import password_path
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.stacks.layer2 import DATABASE_CONSUMERS
from sprocket_infra.vault.access import INFRASTRUCTURE
from tests.conftest import ENVIRONMENTS, Stacks, read_stacks
from tests.synth_json import data_sources, resources

SynthStacks = Callable[[str], Stacks]
Read = tuple[str, str, str]
"""(mount, path relative to the environment, key)."""

AWS_BUCKETS = "prod with buckets on AWS"


@pytest.fixture(scope="module")
def aws_bucket_stacks(tmp_path_factory: pytest.TempPathFactory) -> Stacks:
    """prod with every bucket on AWS: the configuration that reads the operator's S3 key pair, which no
    shipped environment does (all-Spaces buckets get a key layer2 makes)."""
    prod = load_environment("prod")
    buckets = {
        kind: bucket.model_copy(update={"provider": "aws"}) for kind, bucket in prod.layer2.buckets.items()
    }
    environment = prod.model_copy(update={"layer2": prod.layer2.model_copy(update={"buckets": buckets})})
    directory = tmp_path_factory.mktemp("synth-aws-buckets")
    build_app(environment, outdir=str(directory)).synth()
    return read_stacks(Path(directory))


@pytest.fixture
def every_configuration(
    synth_stacks: SynthStacks, aws_bucket_stacks: Stacks
) -> dict[str, tuple[str, Stacks]]:
    """Label -> (environment name, its synthesized stacks), for the shipped environments and the AWS one."""
    shipped = {name: (name, synth_stacks(name)) for name in ENVIRONMENTS}
    return shipped | {AWS_BUCKETS: ("prod", aws_bucket_stacks)}


def key_reads(stack: dict[str, Any], environment: str) -> Iterator[Read]:
    """Every key the stack takes from a ``vault_kv_secret_v2`` data source (a data source read for its
    version alone, to trigger a replacement, counts for no key)."""
    text = json.dumps(stack)
    for logical_id, body in data_sources(stack, "vault_kv_secret_v2").items():
        taken = re.compile(rf'data\.vault_kv_secret_v2\.{re.escape(logical_id)}\.data\[\\"([^\\"]+)\\"\]')
        relative = body["name"].removeprefix(f"{environment}/")
        for key in taken.findall(text):
            yield body["mount"], relative, key


def layer2_writes(layer2: dict[str, Any]) -> set[tuple[str, str]]:
    """(mount, path) of every secret layer2 writes; the mount is a reference to its ``vault_mount``."""
    mounts = {
        f"${{vault_mount.{logical_id}.path}}": body["path"]
        for logical_id, body in resources(layer2, "vault_mount").items()
    }
    return {
        (mounts[body["mount"]], body["name"]) for body in resources(layer2, "vault_kv_secret_v2").values()
    }


def hand_made(environment: str) -> set[tuple[str, str]]:
    """Passwords of an ``external`` PostgreSQL server: its logins are made by hand, and so are these."""
    if not isinstance(load_environment(environment).layer2.postgres, ExternalPostgresConfig):
        return set()
    return {(INFRASTRUCTURE.path, password_path(environment, consumer)) for consumer in DATABASE_CONSUMERS}


def test_every_manifest_entry_is_read_by_some_stack(
    every_configuration: dict[str, tuple[str, Stacks]],
) -> None:
    read: set[Read] = {
        item
        for environment, stacks in every_configuration.values()
        for stack in stacks.values()
        for item in key_reads(stack, environment)
    }
    for environment in ENVIRONMENTS:
        dead = [
            ref.address
            for ref in external_secrets(environment).values()
            if (ref.mount.path, ref.path.removeprefix(f"{environment}/"), ref.key) not in read
        ]
        assert dead == [], f"{environment}: no stack reads these manifest entries"


@pytest.mark.parametrize("configuration", [*ENVIRONMENTS, AWS_BUCKETS])
def test_every_secret_a_stack_reads_is_declared_or_written_by_layer2(
    every_configuration: dict[str, tuple[str, Stacks]], configuration: str
) -> None:
    environment, stacks = every_configuration[configuration]
    declared = {(ref.mount.path, ref.path) for ref in external_secrets(environment).values()}
    known = declared | layer2_writes(stacks["layer2"]) | hand_made(environment)
    for stack_name in ("layer2", "platform"):
        reads = data_sources(stacks[stack_name], "vault_kv_secret_v2").values()
        assert reads, stack_name
        undeclared = sorted(
            f"{body['mount']}/{body['name']}" for body in reads if (body["mount"], body["name"]) not in known
        )
        assert undeclared == [], f"{configuration} {stack_name} reads secrets nobody declares or writes"
