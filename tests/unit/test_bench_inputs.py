"""The benchmark's test data and shortcuts are what they claim: generated catalogs pass every catalog and
cross-input check at the size asked for, and ``has_token`` (which spares a jsii round trip) answers as
cdktf's ``Token.is_unresolved`` does for every kind of string the stacks pass it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.catalogs import real_size, write_catalog  # noqa: E402
from sprocket_infra.inputs import load_inputs  # noqa: E402
from sprocket_infra.terraform_literal import has_token  # noqa: E402


@pytest.mark.parametrize("services", [30, 100])
def test_generated_catalog_passes_every_input_check(
    services: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPROCKET_CATALOG", str(write_catalog(services, tmp_path)))
    catalog = load_inputs("local").catalog
    assert len(catalog.services) == services
    hosts = [route.subdomain for entry in catalog.services.values() for route in entry.routes]
    assert len(hosts) == len(set(hosts))  # one owner per host, as the catalog checks demand


def test_generated_catalog_never_shrinks_the_real_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPROCKET_CATALOG", str(write_catalog(1, tmp_path)))
    assert len(load_inputs("local").catalog.services) == real_size()


def test_has_token_agrees_with_cdktf() -> None:
    from cdktf import App, Fn, TerraformStack, Token

    stack = TerraformStack(App(), "probe")
    samples = [
        "plain text",
        '${file("~/.ssh/id_ed25519")}',  # a Terraform expression in a literal: not a token
        "%{if true}x%{endif}",
        Fn.base64encode("x"),
        f"prefix-{Fn.sha256('x')}-suffix",
        Token.as_string(Token.as_number(Fn.length_of(["a"]))),
        str(stack),
    ]
    assert [has_token(sample) for sample in samples] == [Token.is_unresolved(sample) for sample in samples]
    assert any(has_token(sample) for sample in samples)
    assert not all(has_token(sample) for sample in samples)
