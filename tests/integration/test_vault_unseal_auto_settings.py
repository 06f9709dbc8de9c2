"""The entrypoint refuses auto-seal settings that contradict each other before it starts any server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.openbao import BAO_BINARY, SCRIPT

pytestmark = pytest.mark.integration

TRANSIT_STANZA = 'seal "transit" {\n  address = "http://127.0.0.1:1"\n  key_name = "k"\n}\n'


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        pytest.param(
            "", {"VAULT_NODE_ROLE": "join"}, "VAULT_NODE_ROLE=join needs an auto seal", id="join-with-shamir"
        ),
        pytest.param(
            TRANSIT_STANZA,
            {},
            'has a seal "transit" stanza but VAULT_SEAL_KIND is shamir-file',
            id="shamir-kind-with-seal-stanza",
        ),
        pytest.param(
            "",
            {"VAULT_SEAL_KIND": "awskms"},
            "VAULT_SEAL_KIND=awskms but",
            id="auto-kind-without-stanza",
        ),
        pytest.param(
            TRANSIT_STANZA,
            {"VAULT_SEAL_KIND": "transit"},
            "VAULT_SEAL_KIND=transit needs VAULT_SEAL_TOKEN_FILE",
            id="transit-without-token",
        ),
        pytest.param(
            TRANSIT_STANZA,
            {"VAULT_SEAL_KIND": "transit", "VAULT_SEAL_TOKEN_FILE": "/nonexistent/token"},
            "VAULT_SEAL_TOKEN_FILE=/nonexistent/token is missing or empty",
            id="transit-token-file-missing",
        ),
        pytest.param(
            "", {"VAULT_NODE_ROLE": "leader"}, "VAULT_NODE_ROLE must be bootstrap or join", id="bad-role"
        ),
    ],
)
def test_fails_before_starting_a_server_when_settings_contradict(
    tmp_path: Path, config: str, env: dict[str, str], message: str
) -> None:
    hcl = tmp_path / "vault.hcl"
    hcl.write_text('storage "raft" {\n  path = "/nonexistent"\n}\n' + config)
    result = subprocess.run(
        ["sh", str(SCRIPT), "serve"],
        env={
            "PATH": "/usr/bin:/bin",
            "VAULT_BIN": str(BAO_BINARY),
            "VAULT_CONFIG": str(hcl),
            "VAULT_KEYS_DIR": str(tmp_path / "keys"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert "server" not in result.stdout  # no server was started
    assert not (tmp_path / "keys").exists()
