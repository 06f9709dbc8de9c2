"""Where each stack's state lives, and how it is locked and encrypted, as synthesized."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from sprocket_infra.stacks.state_encryption import encryption_block
from tests.conftest import ENVIRONMENTS, Stacks


@pytest.mark.parametrize("stack", ["layer1", "layer2", "platform"])
def test_s3_state_is_locked_and_server_side_encrypted(
    synth_stacks: Callable[[str], Stacks], stack: str
) -> None:
    backend = synth_stacks("prod")[stack]["terraform"]["backend"]["s3"]
    assert backend["use_lockfile"] is True
    assert backend["encrypt"] is True
    assert backend["key"] == f"sprocket/prod/{stack}.tfstate"
    assert not {"access_key", "secret_key", "token"} & set(backend), "credentials come from the environment"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_encryption_follows_the_environment_file(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    for document in synth_stacks(environment).values():
        encryption = document["terraform"].get("encryption")
        if environment == "prod":
            assert encryption == encryption_block("on")
            assert document["variable"]["state_passphrase"]["sensitive"] is True
            assert "default" not in document["variable"]["state_passphrase"]
        else:
            assert encryption is None


def test_on_enforces_encrypted_state_and_plans() -> None:
    block = encryption_block("on")
    assert block == {
        "key_provider": {"pbkdf2": {"state": {"passphrase": "${var.state_passphrase}"}}},
        "method": {"aes_gcm": {"state": {"keys": "${key_provider.pbkdf2.state}"}}},
        "state": {"method": "method.aes_gcm.state", "enforced": True},
        "plan": {"method": "method.aes_gcm.state", "enforced": True},
        "remote_state_data_sources": {"default": {"method": "method.aes_gcm.state"}},
    }


def test_migrate_reads_unencrypted_files_once() -> None:
    block = encryption_block("migrate")
    assert block is not None
    assert block["method"]["unencrypted"] == {"migrate": {}}
    for files in ("state", "plan"):
        assert block[files] == {
            "method": "method.aes_gcm.state",
            "fallback": {"method": "method.unencrypted.migrate"},
        }
    assert "enforced" not in json.dumps(block)


def test_off_writes_no_block() -> None:
    assert encryption_block("off") is None
