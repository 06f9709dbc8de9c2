"""Bad input to the operator commands (verify, backup, restore) is one ``error:`` line and exit 1, before
anything is contacted; no traceback reaches the operator."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sprocket_infra.cli import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--skip", "routes"], "error: --skip routes: expected some of route, tls"),
        (["verify", "--http-connect", "traefik:99999"], "error: connect address 'traefik:99999': expected"),
        (["verify", "--timeout", "0"], "error: --timeout 0.0: expected a positive number of seconds"),
        (["verify", "--docker-host", "npipe:////./pipe/docker"], "error: DOCKER_HOST 'npipe:////./pipe/docker'"),
        (["verify", "--env", "Prod!"], "error: "),
        (["backup", "vault"], "error: say where the backup goes: exactly one of --out or --bucket"),
        (["backup", "volume", "v", "--out", "x.tgz", "--bucket", "b"], "error: say where the backup goes"),
        (["restore", "vault", "--yes"], "error: say where the backup comes from: exactly one of --from"),
        (["restore", "volume", "grafana-data"], "error: say where the backup comes from"),
    ],
)  # fmt: skip
def test_fails_when_an_option_is_wrong(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args, env={"SPROCKET_ENV": "local", "DOCKER_HOST": "", "VAULT_ADDR": ""})
    assert result.exit_code == 1, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
