"""Environments for tests that must not change when a shipped file does (prod's real domain, its buckets).

``fixture_environment("prod")`` is prod's shape (managed PostgreSQL, Spaces, Let's Encrypt) on
:data:`FIXTURE_DOMAIN`, so a golden test built on it keeps passing when production moves to another domain
but still fails when the code changes what prod-shaped input gives. Settings are overridden by dotted key.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from sprocket_infra.config import CONFIG_DIR, Environment, parse_environment

FIXTURE_DOMAIN = "sprocket.example.org"
"""A public name (RFC 2606's example.org), so ACME settings stay valid on it."""

_SHIPPED = {
    name: yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text()) for name in ("local", "lan", "prod")
}


def shipped_data(name: str) -> dict[str, Any]:
    """A fresh copy of ``config/<name>.yaml`` as YAML gives it."""
    data: dict[str, Any] = copy.deepcopy(_SHIPPED[name])
    return data


def with_setting(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``data`` with the dotted ``key`` set to ``value`` (missing or empty sections are created)."""
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
    node[leaf] = value
    return data


def fixture_environment(name: str, *, domain: str | None = None, **settings: Any) -> Environment:
    """The shipped environment ``name`` with ``settings`` (``vault__subdomain="x"`` for ``vault.subdomain``)
    applied; prod's domain is replaced by :data:`FIXTURE_DOMAIN` unless ``domain`` says otherwise."""
    data = shipped_data(name)
    if domain is not None or name == "prod":
        with_setting(data, "routing.domain", domain or FIXTURE_DOMAIN)
    for key, value in settings.items():
        with_setting(data, key.replace("__", "."), value)
    return parse_environment(data, source=f"config/{name}.yaml (fixture)")
