"""OpenBao started by the entrypoint script as shipped in the docker_config, on the synthesized vault.hcl.

``test_vault_unseal.py`` exercises the script from the repository with a config of its own; this runs the
copy layer1 mounts at ``/vault/init-unseal.sh`` with the ``vault.hcl`` it mounts, under ``/bin/sh`` as the
service's command says, with the venv's ``bao`` (OpenBao 2.7.2, the ``openbao/openbao:2.7.2`` pin).
Adaptations, each asserted to apply: the listener and cluster address -> free ports on 127.0.0.1, raft's
data directory (``/openbao/file``) and the ``VAULT_*`` container paths -> the temp root. ``prod`` keeps its
storage in DigitalOcean Spaces (S3), unreachable here, so only ``local`` and ``lan`` (raft) run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sprocket_infra.vault.server_config_nodes import data_dir
from tests.conftest import Stacks
from tests.integration.openbao import running_entrypoint
from tests.integration.processes import ServerProcess, free_port, wait_until
from tests.rendered import RenderedService, extract

pytestmark = pytest.mark.integration

CONFIG = "/vault/config/vault.hcl"
VENV_BIN = Path(sys.executable).parent
UNSEAL_TIMEOUT_S = 90.0
DATA_DIR = data_dir("bao")


def _adapted(stacks: Stacks, environment: str, root: Path) -> tuple[RenderedService, int]:
    rendered = extract(stacks, "vault", root, environment=environment)
    port, cluster = free_port(), free_port()
    rendered.adapt(
        CONFIG,
        '"0.0.0.0:8200"\n',
        f'"127.0.0.1:{port}"\n  cluster_address = "127.0.0.1:{cluster}"\n',
        "loopback port and cluster port",
    )
    rendered.adapt(CONFIG, '"http://127.0.0.1:8201"', f'"http://127.0.0.1:{cluster}"', "cluster port")
    rendered.adapt(CONFIG, f'path    = "{DATA_DIR}"', f'path    = "{rendered.path(DATA_DIR)}"', "temp dir")
    rendered.path(DATA_DIR).mkdir(parents=True)
    return rendered, port


def _entrypoint(rendered: RenderedService, port: int, log: Path) -> ServerProcess:
    shell, script, mode = rendered.command
    assert (shell, mode) == ("/bin/sh", "serve")
    env = {
        key: value.replace("127.0.0.1:8200", f"127.0.0.1:{port}") if key == "VAULT_ADDR" else value
        for key, value in rendered.env.items()
    }
    env["VAULT_CONFIG"] = str(rendered.files[env["VAULT_CONFIG"]])
    env["VAULT_KEYS_DIR"] = str(rendered.path(env["VAULT_KEYS_DIR"]))
    env["PATH"] = f"{VENV_BIN}:{os.environ['PATH']}"  # VAULT_BIN=bao, as on the image's PATH
    return ServerProcess(argv=[shell, str(rendered.files[script]), mode], log=log, env=env)


def _unsealed(rendered: RenderedService, port: int) -> bool:
    result = _status(rendered, port)
    return result.returncode == 0 and json.loads(result.stdout)["sealed"] is False


def _status(rendered: RenderedService, port: int) -> subprocess.CompletedProcess[str]:
    """The service's own healthcheck, ``bao status -address=...``, pointed at this port."""
    tool, *args = rendered.healthcheck_argv()
    args = [arg.replace("127.0.0.1:8200", f"127.0.0.1:{port}") for arg in args]
    return subprocess.run(
        [str(VENV_BIN / tool), *args, "-format=json"], capture_output=True, text=True, timeout=20, check=False
    )


@pytest.fixture(scope="module", params=["local", "lan"])
def runs(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[RenderedService, list[str]]:
    """A first start and a restart of the shipped entrypoint; their logs. Each must end unsealed."""
    environment: str = request.param
    work = tmp_path_factory.mktemp(f"vault-{environment}")
    rendered, port = _adapted(synth_stacks(environment), environment, work / "root")
    logs: list[str] = []
    for run in ("first-start", "restart"):
        process = _entrypoint(rendered, port, work / f"{run}.log")
        with running_entrypoint(process):

            def ready(process: ServerProcess = process) -> bool:
                return not process.running() or _unsealed(rendered, port)

            wait_until(
                ready,
                timeout_s=UNSEAL_TIMEOUT_S,
                what=f"OpenBao unsealed ({run})",
                interval_s=0.5,
            )
            assert process.running(), process.output()
            assert _status(rendered, port).returncode == 0
        logs.append(process.output())
    return rendered, logs


def test_entrypoint_initializes_unseals_and_restarts(runs: tuple[RenderedService, list[str]]) -> None:
    rendered, logs = runs
    assert len(logs) == 2
    assert sorted(path.name for path in rendered.path("/vault/keys").iterdir()), "no unseal keys were kept"


def test_openbao_knows_every_field_of_vault_hcl(runs: tuple[RenderedService, list[str]]) -> None:
    _, logs = runs
    unknown = [line for log in logs for line in log.splitlines() if "unknown or unsupported field" in line]
    assert unknown == []
