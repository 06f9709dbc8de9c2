"""The synthesized InfluxDB init script, run by the shells the image could run it with (dash, busybox ash).

The ``influxdb:2.7.12-alpine`` image runs ``/docker-entrypoint-initdb.d/*.sh`` once after its setup. Here
the script from ``cdk.tf.json`` runs under Debian's ``dash`` and ``busybox sh`` with the service's env as
synthesized (``*_FILE`` container paths -> the temp root's copies of the secrets). A stand-in replaces
the ``influx`` CLI, which needs a running InfluxDB: it records every call and answers ``bucket list`` the
way the 2.7 CLI does (tab-separated, ID first), so the test checks the logins and scopes it would create.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
from tests.rendered import RenderedService, extract

pytestmark = pytest.mark.integration

SCRIPT = "/docker-entrypoint-initdb.d/10-sprocket.sh"
SHELLS = {"dash": ["dash"], "busybox": ["busybox", "sh"]}
STANDIN_CLI = """#!/bin/sh
# Stand-in for the influx CLI: one line per call, arguments shell-quoted; bucket list answers like 2.7.
for arg in "$@"; do printf "%s " "'$arg'"; done >>"$INFLUX_CALLS"
echo >>"$INFLUX_CALLS"
if [ "$1 $2" = "bucket list" ]; then
  while [ "$#" -gt 0 ]; do
    if [ "$1" = "--name" ]; then printf 'id-%s\\t%s\\t168h0m0s\\n' "$2" "$2"; fi
    shift
  done
fi
"""


def _shell(name: str) -> list[str]:
    argv = SHELLS[name]
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is missing: install Debian's {argv[0]} (tools/debian-packages.txt)")
    return argv


def _run(
    rendered: RenderedService, shell: str, work: Path, **overrides: str
) -> tuple[int, str, list[list[str]]]:
    bin_dir = work / "bin"
    bin_dir.mkdir(exist_ok=True)
    cli = bin_dir / "influx"
    cli.write_text(STANDIN_CLI)
    cli.chmod(0o755)
    calls = work / "calls.log"
    calls.write_text("")
    env = {
        key: str(rendered.files.get(value, value)) if key.endswith("_FILE") else value
        for key, value in rendered.env.items()
    }
    env.update(overrides)
    result = subprocess.run(
        [*_shell(shell), str(rendered.files[SCRIPT])],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "INFLUX_CALLS": str(calls), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    recorded = [shlex.split(line) for line in calls.read_text().splitlines()]
    return result.returncode, result.stdout + result.stderr, recorded


@pytest.mark.parametrize("shell", sorted(SHELLS))
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_creates_the_bucket_mappings_and_scoped_logins(
    environment: str, shell: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    rendered = extract(synth_stacks(environment), "influxdb", tmp_path / "root", environment=environment)
    code, output, calls = _run(rendered, shell, tmp_path)
    assert code == 0, output
    org, platform = rendered.env["DOCKER_INFLUXDB_INIT_ORG"], rendered.env["SPROCKET_PLATFORM_BUCKET"]
    retention = rendered.env["SPROCKET_PLATFORM_RETENTION"]
    creates = [call for call in calls if call[:2] != ["bucket", "list"]]

    def password(variable: str) -> str:
        return Path(rendered.files[rendered.env[variable]]).read_text()

    assert creates == [
        ["bucket", "create", "--org", org, "--name", platform, "--retention", retention],
        ["v1", "dbrp", "create", "--org", org, "--db", "metrics", "--rp", "autogen", "--bucket-id",
         "id-metrics", "--default"],
        ["v1", "dbrp", "create", "--org", org, "--db", platform, "--rp", "autogen", "--bucket-id",
         f"id-{platform}", "--default"],
        ["v1", "auth", "create", "--org", org, "--username", "telegraf", "--password",
         password("SPROCKET_TELEGRAF_PASSWORD_FILE"), "--write-bucket", "id-metrics"],
        ["v1", "auth", "create", "--org", org, "--username", "grafana", "--password",
         password("SPROCKET_GRAFANA_PASSWORD_FILE"), "--read-bucket", "id-metrics", "--read-bucket",
         f"id-{platform}"],
        ["v1", "auth", "create", "--org", org, "--username", "platform", "--password",
         password("SPROCKET_PLATFORM_PASSWORD_FILE"), "--read-bucket", f"id-{platform}", "--write-bucket",
         f"id-{platform}"],
    ]  # fmt: skip
    for variable in ("SPROCKET_TELEGRAF_PASSWORD_FILE", "SPROCKET_GRAFANA_PASSWORD_FILE"):
        assert password(variable) not in output, "the script printed a secret"


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_refuses_to_run_without_its_settings(
    shell: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    rendered = extract(synth_stacks("local"), "influxdb", tmp_path / "root", environment="local")
    code, output, calls = _run(rendered, shell, tmp_path, SPROCKET_PLATFORM_BUCKET="")
    assert code == 1
    assert "SPROCKET_PLATFORM_BUCKET is not set" in output
    assert calls == []
