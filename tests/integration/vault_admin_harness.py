"""Helpers for the ``vault-admin`` tests: a Vault node started from the shipped ``vault.hcl`` renderer, the
API paths each synthesized Vault resource uses, and raw requests that carry a token.

The paths come from the resource bodies in the synthesized JSON and from what the Vault provider calls for
each resource type (read in terraform-provider-vault's source: ``sys/mounts/<path>`` and its ``tune``,
``sys/policies/acl/<name>``, ``auth/token/roles/<role>``, ``sys/quotas/rate-limit/<name>``, KV v2's
``data``/``metadata``, ``sys/audit``, ``sys/auth/<path>``, ``auth/<path>/config`` and ``map/teams``, and the
child token the provider makes with ``auth/token/create``). A resource type without an entry here fails
the test, so a new kind of Vault resource cannot slip past the policy check.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from sprocket_infra.config import load_environment
from sprocket_infra.vault import server_config as hcl
from sprocket_infra.vault.server_config_nodes import vault_nodes
from tests.integration.openbao import BaoNode

CRUD = frozenset({"create", "read", "update", "delete"})
_REFERENCE = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$")

PROVIDER_PATHS = {"auth/token/create": frozenset({"update"})}
"""What the Vault provider itself needs of any token it is given: a child token for the run."""


def write_rendered_config(node: BaoNode, *, trusted_proxy_cidrs: tuple[str, ...]) -> None:
    """The ``vault.hcl`` the construct ships for ``local`` node 1, rendered by the same function, with only
    the addresses, the raft directory and raft's election timing moved to this test's loopback node."""
    shipped = vault_nodes(load_environment("local"), trusted_proxy_cidrs=trusted_proxy_cidrs)[0].config
    assert isinstance(shipped.storage, hcl.RaftStorage)
    config = dataclasses.replace(
        shipped,
        api_addr=node.addr,
        cluster_addr=f"http://127.0.0.1:{node.cluster_port}",
        listen=f"127.0.0.1:{node.port}",
        cluster_listen=f"127.0.0.1:{node.cluster_port}",
        storage=dataclasses.replace(shipped.storage, path=str(node.data_dir), performance_multiplier=1),
    )
    node.data_dir.mkdir(parents=True, exist_ok=True)
    node.config.write_text(hcl.render(config))


def _resolve(stack: Mapping[str, Any], value: str, attribute: str) -> str:
    """A literal, or the ``attribute`` of the resource a ``${type.name.attr}`` reference points at."""
    match = _REFERENCE.match(value)
    if match is None:
        return value
    kind, name, _ = match.groups()
    return str(stack["resource"][kind][name][attribute])


def _add(needed: dict[str, set[str]], path: str, capabilities: frozenset[str]) -> None:
    needed.setdefault(path, set()).update(capabilities)


def paths_used(stack: Mapping[str, Any]) -> dict[str, set[str]]:
    """API path -> capabilities the Vault resources and data sources of one synthesized stack need."""
    needed: dict[str, set[str]] = {}
    vault_kinds = {
        (section, kind)
        for section in ("resource", "data")
        for kind in stack.get(section, {})
        if kind.startswith("vault_")
    }
    if vault_kinds:
        for path, capabilities in PROVIDER_PATHS.items():
            _add(needed, path, capabilities)
    for section, kind in sorted(vault_kinds):
        for body in stack[section][kind].values():
            _paths_of(stack, section, kind, body, needed)
    return needed


def _paths_of(
    stack: Mapping[str, Any], section: str, kind: str, body: Mapping[str, Any], needed: dict[str, set[str]]
) -> None:
    if (section, kind) == ("resource", "vault_mount"):
        _add(needed, f"sys/mounts/{body['path']}", CRUD)
        _add(needed, f"sys/mounts/{body['path']}/tune", frozenset({"read", "update"}))
    elif (section, kind) == ("resource", "vault_policy"):
        _add(needed, f"sys/policies/acl/{body['name']}", CRUD)
    elif (section, kind) == ("resource", "vault_token_auth_backend_role"):
        _add(needed, f"auth/token/roles/{body['role_name']}", CRUD)
    elif (section, kind) == ("resource", "vault_quota_rate_limit"):
        _add(needed, f"sys/quotas/rate-limit/{body['name']}", CRUD)
    elif kind == "vault_kv_secret_v2":
        mount = _resolve(stack, body["mount"], "path")
        if section == "data":
            _add(needed, f"{mount}/data/{body['name']}", frozenset({"read"}))
        else:
            _add(needed, f"{mount}/data/{body['name']}", CRUD)
            _add(needed, f"{mount}/metadata/{body['name']}", frozenset({"read", "delete"}))
    elif (section, kind) == ("resource", "vault_audit"):
        _add(needed, f"sys/audit/{body['path']}", frozenset({"create", "update", "sudo"}))
        _add(needed, "sys/audit", frozenset({"read", "sudo"}))
    elif (section, kind) == ("resource", "vault_github_auth_backend"):
        path = body.get("path", "github")
        _add(needed, f"sys/auth/{path}", CRUD | {"sudo"})
        _add(needed, f"sys/mounts/auth/{path}/tune", frozenset({"read", "update"}))
        _add(needed, f"auth/{path}/config", frozenset({"create", "read", "update"}))
    elif (section, kind) == ("resource", "vault_github_team"):
        backend = _resolve(stack, body["backend"], "path")
        _add(needed, f"auth/{backend}/map/teams/{body['team']}", CRUD)
    else:
        raise AssertionError(f"no API paths known for {section} {kind}: add them to vault_admin_harness")


def capabilities(addr: str, token: str, paths: list[str]) -> dict[str, set[str]]:
    """``sys/capabilities-self``: what the server's ACL gives ``token`` on each path."""
    answer = request(addr, token, "POST", "sys/capabilities-self", json={"paths": paths})
    answer.raise_for_status()
    body = answer.json()
    return {path: set(body.get(path) or body["data"][path]) for path in paths}


def request(
    addr: str,
    token: str | None,
    method: str,
    path: str,
    *,
    json: Any = None,
    source: str | None = None,
    forwarded_for: str | None = None,
) -> requests.Response:
    """One API request to ``addr`` (never through a proxy), optionally from another loopback address."""
    session = requests.Session()
    session.trust_env = False
    if source is not None:
        adapter = _SourceAdapter(source)
        session.mount("http://", adapter)
    headers = {}
    if token is not None:
        headers["X-Vault-Token"] = token
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    with session:
        return session.request(method, f"{addr}/v1/{path}", json=json, headers=headers, timeout=10)


class _SourceAdapter(requests.adapters.HTTPAdapter):
    """Connect from ``source`` (e.g. 127.0.0.2, still loopback) so the server sees another client."""

    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def files_holding(roots: list[Path], secret: str) -> list[Path]:
    """Every file under ``roots`` whose content contains ``secret``."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and secret.encode() in path.read_bytes():
                found.append(path)
    return found
