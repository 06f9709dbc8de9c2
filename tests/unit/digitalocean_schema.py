"""The DigitalOcean provider's arguments as the prebuilt binding knows them, read from its jsii assembly.

The Go module proxy serves no DigitalOcean provider (ADR 0005), so ``tofu validate`` cannot check our
droplet, firewall and record JSON here. The binding was generated from the provider's own schema
(digitalocean/digitalocean 2.71.0), and its assembly keeps, per resource and nested block, every argument
and whether it is optional: the closest stand-in for the provider schema this machine has.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "cdktf_cdktf_provider_digitalocean"
ASSEMBLY_PREFIX = "@cdktf/provider-digitalocean."


@dataclass(frozen=True)
class Block:
    arguments: frozenset[str]
    required: frozenset[str]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@functools.cache
def _types() -> dict[str, Any]:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None
    assert spec.submodule_search_locations is not None
    tgz = next(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/.jsii")
        assert member is not None
        types: dict[str, Any] = json.loads(member.read())["types"]
    return types


# Arguments every resource struct inherits from cdktf (TerraformMetaArguments), not the provider.
_META = frozenset({"connection", "count", "depends_on", "for_each", "lifecycle", "provider", "provisioners"})


def block(fqn: str) -> Block:
    """Arguments of ``<submodule>.<Struct>``, e.g. ``droplet.DropletConfig``."""
    properties = _types()[ASSEMBLY_PREFIX + fqn].get("properties", [])
    names = {_snake(item["name"]) for item in properties} - _META
    required = {_snake(item["name"]) for item in properties if not item.get("optional")} - _META
    return Block(arguments=frozenset(names), required=frozenset(required))


def problems(body: dict[str, Any], fqn: str) -> list[str]:
    """Arguments of a synthesized body the binding does not know, and required ones it lacks."""
    schema = block(fqn)
    written = {key for key in body if key not in {"//", *_META}}
    unknown = sorted(written - schema.arguments)
    missing = sorted(schema.required - written)
    return [f"unknown argument {key}" for key in unknown] + [f"missing required {key}" for key in missing]
