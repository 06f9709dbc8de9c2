"""Strings from config and the catalog reach the JSON as literals, never as Terraform expressions.

Every free-text field a catalog entry or an environment file can set (not pinned by a pattern to names,
numbers or image references) gets a ``${file(...)}`` expression and a ``%{if}`` directive. The
synthesized stacks must hold each one escaped (``$${``, ``%%{``) and none unescaped. ``env`` and
``command`` cannot carry either: the catalog's placeholder grammar refuses ``{...}`` it does not know, which
:func:`test_catalog_refuses_template_sequences_in_env_and_command` pins. The engine's side (``tofu
validate`` evaluating the unescaped form and not the escaped one) is in
tests/integration/test_literal_strings_validate.py.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sprocket_infra.app import build_app
from sprocket_infra.catalog import CATALOG_FILE, CatalogError
from sprocket_infra.catalog.load import parse_catalog
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import Environment, load_environment
from sprocket_infra.terraform_literal import literal
from tests.conftest import Stacks, read_stacks

EXPRESSION = '${file("/nonexistent/sprocket-literal-canary")}'
DIRECTIVE = "%{if true}directive-canary%{endif}"
PAYLOAD = EXPRESSION + DIRECTIVE
ESCAPED_EXPRESSION = '$${file("/nonexistent/sprocket-literal-canary")}'
ESCAPED_DIRECTIVE = "%%{if true}directive-canary%%{endif}"
UNESCAPED = re.compile(r"(?<![$%])[$%]\{(?:file|if|endif)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("${x}", "$${x}"),
        ("%{if a}b%{endif}", "%%{if a}b%%{endif}"),
        ("$${x}", "$$${x}"),
        ("$5 {x} % {y}", "$5 {x} % {y}"),
        ("a ${TfToken[TOKEN.12]} ${b}", "a ${TfToken[TOKEN.12]} $${b}"),
    ],
)
def test_literal(value: str, expected: str) -> None:
    assert literal(value) == expected


def _catalog_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CATALOG_FILE.read_text())
    return data


def poisoned_catalog_data() -> tuple[dict[str, Any], list[str]]:
    """The real catalog with the payload in every free-text field; returns it and the fields poisoned."""
    data = copy.deepcopy(_catalog_data())
    poisoned: list[str] = []
    for key, entry in data["services"].items():
        entry["description"] = f"{entry['description']} {PAYLOAD}"
        entry["healthcheck"] = {"command": ["CMD-SHELL", f"test -n '{PAYLOAD}'"]}
        poisoned += [f"services.{key}.description", f"services.{key}.healthcheck.command"]
        if "volume" in entry:
            entry["volume"] = f"{entry['volume']}/{PAYLOAD}"
            poisoned.append(f"services.{key}.volume")
        if "config" in entry:
            entry["config"]["path"] = f"/app/{EXPRESSION}.json"  # no spaces in a path (its pattern)
            poisoned.append(f"services.{key}.config.path")
    return data, poisoned


def poisoned_environment(name: str) -> Environment:
    environment = load_environment(name)
    layer2 = environment.layer2
    forward_auth = layer2.forward_auth.model_copy(update={"command": ("node", PAYLOAD)})
    return environment.model_copy(update={"layer2": layer2.model_copy(update={"forward_auth": forward_auth})})


def synth_poisoned(outdir: Path, environment: str = "local") -> Stacks:
    data, _ = poisoned_catalog_data()
    catalog = parse_catalog(data, source="poisoned catalog", vocabulary=default_vocabulary())
    build_app(poisoned_environment(environment), catalog=catalog, outdir=str(outdir)).synth()
    return read_stacks(outdir)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_every_poisoned_field_lands_escaped(tmp_path: Path) -> None:
    stacks = synth_poisoned(tmp_path)
    strings = [text for stack in stacks.values() for text in _strings(stack)]
    unescaped = [text for text in strings if UNESCAPED.search(text)]
    assert unescaped == []
    # Per service: its healthcheck; with a volume, the mount target; with a settings file, its path
    # (the expression only); plus forward-auth's command. Descriptions never reach the JSON.
    data, _ = poisoned_catalog_data()
    entries = list(data["services"].values())
    with_directive = len(entries) + sum("volume" in entry for entry in entries) + 1
    with_expression = with_directive + sum("config" in entry for entry in entries)
    assert sum(ESCAPED_EXPRESSION in text for text in strings) == with_expression
    assert sum(ESCAPED_DIRECTIVE in text for text in strings) == with_directive


@pytest.mark.parametrize("field", ["env", "command"])
def test_catalog_refuses_template_sequences_in_env_and_command(field: str) -> None:
    data = copy.deepcopy(_catalog_data())
    entry = data["services"]["core"]
    entry[field] = {"CANARY": EXPRESSION} if field == "env" else ["node", EXPRESSION]
    with pytest.raises(CatalogError, match="placeholder"):
        parse_catalog(data, source="poisoned catalog", vocabulary=default_vocabulary())
