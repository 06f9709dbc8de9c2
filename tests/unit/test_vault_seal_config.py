"""The validator refuses seal/storage/HA combinations that cannot work, naming the file and the key."""

from __future__ import annotations

from typing import Any

import pytest

from sprocket_infra.config import ConfigError
from tests.unit.vault_variants import HA_AWSKMS, HA_TRANSIT, TRANSIT_PLACEHOLDER, with_vault

TRANSIT = {"kind": "transit", "address": TRANSIT_PLACEHOLDER, "key_name": "k"}


def error_of(base: str, vault: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        with_vault(base, vault)
    return str(caught.value)


def test_ha_with_transit_and_awskms_are_accepted() -> None:
    assert with_vault("local", HA_TRANSIT).vault.ha is not None
    assert with_vault("prod", HA_AWSKMS).vault.unseal.kind == "awskms"


def test_fails_when_ha_uses_s3_storage() -> None:
    message = error_of(
        "prod", {"ha": {"nodes": 3}, "unseal": {"kind": "awskms", "region": "us-east-1", "create_key": True}}
    )
    assert message.startswith(
        "config/prod.yaml (+ test vault section): vault: ha needs storage.kind 'raft' (got 's3')"
    )


def test_fails_when_ha_keeps_shamir_keys_on_disk() -> None:
    message = error_of("local", {"ha": {"nodes": 3}})
    assert (
        "config/local.yaml (+ test vault section): vault: ha needs unseal.kind 'transit' or 'awskms'"
        in message
    )


def test_fails_when_awskms_has_no_key() -> None:
    message = error_of("local", {"unseal": {"kind": "awskms", "region": "us-east-1"}})
    assert "vault.unseal.awskms: awskms needs exactly one key: set create_key: true or kms_key_id" in message


def test_fails_when_awskms_has_two_keys() -> None:
    unseal = {"kind": "awskms", "region": "us-east-1", "create_key": True, "kms_key_id": "alias/x"}
    assert "needs exactly one key" in error_of("local", {"unseal": unseal})


def test_fails_when_awskms_shares_the_credential_chain_with_s3_storage() -> None:
    message = error_of("prod", {"unseal": {"kind": "awskms", "region": "us-east-1", "create_key": True}})
    assert "vault: unseal.kind 'awskms' needs storage.kind 'raft' (got 's3')" in message


@pytest.mark.parametrize("missing", ["address", "key_name"])
def test_fails_when_transit_lacks(missing: str) -> None:
    unseal = {key: value for key, value in TRANSIT.items() if key != missing}
    message = error_of("local", {"unseal": unseal})
    assert (
        f"config/local.yaml (+ test vault section): vault.unseal.transit.{missing}: required key is missing"
        in message
    )


def test_fails_when_transit_address_is_not_a_url() -> None:
    message = error_of("local", {"unseal": {**TRANSIT, "address": "seal:8200"}})
    assert "vault.unseal.transit.address: String should match pattern" in message
    assert "(got 'seal:8200')" in message


def test_fails_when_recovery_threshold_exceeds_shares() -> None:
    message = error_of("local", {"unseal": {**TRANSIT, "recovery_shares": 2, "recovery_threshold": 3}})
    assert "vault.unseal.transit: recovery_threshold (3) must not exceed recovery_shares (2)" in message


def test_fails_when_ha_node_count_is_even() -> None:
    message = error_of("local", {**HA_TRANSIT, "ha": {"nodes": 4}})
    assert "vault.ha.nodes: Input should be 3 or 5 (got 4)" in message
