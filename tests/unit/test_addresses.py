"""Every Terraform address of every stack of every environment, pinned.

A construct renamed, re-parented or given an ID built from changing data moves its resources to new
addresses, and Terraform then destroys and re-creates them: a Vault mount with every secret in it, a
database, a service with its volume. So the addresses are a contract, kept in ``tests/unit/addresses/``
(one file per environment, a sorted list per stack). A change here must be deliberate: rewrite the files
with ``SPROCKET_UPDATE_ADDRESSES=1 .venv/bin/python -m pytest tests/unit/test_addresses.py`` and read the
diff (a moved stateful resource also needs a ``moved`` block or a migration note).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import ENVIRONMENTS, Stacks

PINNED = Path(__file__).parent / "addresses"
UPDATE = os.environ.get("SPROCKET_UPDATE_ADDRESSES") == "1"


def addresses(stack: dict[str, Any]) -> list[str]:
    """``<type>.<name>`` of every resource and ``data.<type>.<name>`` of every data source, sorted."""
    found = [f"{kind}.{name}" for kind, items in stack.get("resource", {}).items() for name in items]
    found += [f"data.{kind}.{name}" for kind, items in stack.get("data", {}).items() for name in items]
    return sorted(found)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_addresses_are_pinned(synth_stacks: Callable[[str], Stacks], environment: str) -> None:
    stacks = synth_stacks(environment)
    actual = {name: addresses(stacks[name]) for name in STACK_NAMES}
    pinned_file = PINNED / f"{environment}.yaml"
    if UPDATE:
        pinned_file.write_text(yaml.safe_dump(actual, sort_keys=False, width=200))
    pinned = yaml.safe_load(pinned_file.read_text())
    problems = []
    for name in STACK_NAMES:
        gone = sorted(set(pinned[name]) - set(actual[name]))
        new = sorted(set(actual[name]) - set(pinned[name]))
        problems += [f"{name}: - {address}" for address in gone] + [f"{name}: + {address}" for address in new]
    assert not problems, (
        f"addresses of {environment} moved (a replacement on the next deploy); if that is intended, "
        "run with SPROCKET_UPDATE_ADDRESSES=1 and commit the diff:\n" + "\n".join(problems)
    )


def test_no_construct_id_embeds_an_environment_name(synth_stacks: Callable[[str], Stacks]) -> None:
    """The same code must give the same addresses in every environment, or renaming one moves everything."""
    leaks = [
        f"{environment}/{name}: {address}"
        for environment in ENVIRONMENTS
        for name, stack in synth_stacks(environment).items()
        for address in addresses(stack)
        if re.search(rf"(?<![a-z0-9]){environment}(?![a-z0-9])", address)
    ]
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_vault_mounts_and_stateful_cloud_resources_refuse_destroy(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    """Destroying a KV mount deletes every secret in it; a bucket or cluster, its data. Only the
    throw-away ``local`` lets ``cdktf destroy`` take its mounts (``layer2.vault.protect_mounts: false``)."""
    layer2 = synth_stacks(environment)["layer2"]["resource"]
    mounts = layer2["vault_mount"].values()
    assert mounts
    protect = environment != "local"
    assert all(mount.get("lifecycle", {}).get("prevent_destroy", False) is protect for mount in mounts)
    stateful = ("digitalocean_database_cluster", "digitalocean_spaces_bucket", "aws_s3_bucket")
    for name, stack in synth_stacks(environment).items():
        for kind in stateful:
            for address, body in stack.get("resource", {}).get(kind, {}).items():
                assert body["lifecycle"]["prevent_destroy"] is True, f"{name}: {kind}.{address}"
