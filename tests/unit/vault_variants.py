"""Environments that differ from a shipped one only in their ``vault`` section (seal, HA), for tests.

The unit tests synthesize them to pin the JSON; the cluster test starts OpenBao from what they synthesize.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sprocket_infra.config import CONFIG_DIR, Environment, parse_environment
from sprocket_infra.config.load import read_yaml

TRANSIT_PLACEHOLDER = "http://seal.invalid:8200"
"""The transit server's address in the test environments; the cluster test points it at its own."""

HA_TRANSIT: dict[str, Any] = {
    "ha": {"nodes": 3},
    "unseal": {"kind": "transit", "address": TRANSIT_PLACEHOLDER, "key_name": "sprocket-vault-seal"},
}
"""Three raft nodes auto-unsealed by another OpenBao's transit engine."""

HA_AWSKMS: dict[str, Any] = {
    "storage": {"kind": "raft"},
    "ha": {"nodes": 3},
    "unseal": {"kind": "awskms", "region": "us-east-1", "create_key": True},
}
"""Three raft nodes auto-unsealed by a KMS key layer1 creates (prod's Vault binary)."""


def with_vault(base: str, vault: dict[str, Any]) -> Environment:
    """``config/<base>.yaml`` whose ``vault`` keys named in ``vault`` are replaced by those values (a
    section of another ``kind`` shares no keys with the old one, so nothing is merged); raises
    ConfigError."""
    path = CONFIG_DIR / f"{base}.yaml"
    data = read_yaml(path)
    kept = {key: value for key, value in data.get("vault", {}).items() if key not in vault}
    return parse_environment(
        data | {"vault": kept | vault},
        source=f"{Path('config') / path.name} (+ test vault section)",
    )
