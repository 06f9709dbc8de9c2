"""Helpers for the crash-safety tests of the Vault entrypoint (``init-unseal.sh``).

They answer one question about a node after whatever a test did to it: can it still be unsealed with what
is on disk? Everything else (which files the script leaves, what it printed) is checked by the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.integration.openbao import BAO_BINARY, BaoNode, group_alive, running_entrypoint
from tests.integration.processes import ServerProcess, running, wait_until

# The two shells the script must run under: Debian's /bin/sh and the busybox ash of Alpine-based images.
SHELLS: dict[str, tuple[str, ...]] = {"dash": ("dash",), "busybox": ("busybox", "sh")}

JOURNAL = "init-in-progress"
RESPONSE = "init-response.json"
RESPONSE_TMP = "init-response.json.tmp"
KEYS = "unseal-keys"
# What the script logs for each way it got a node to unsealed after an interrupted start.
RECOVERY_LINES = {
    "set aside an abandoned init": "initializing again",
    "stored a response left on disk": "recovered the keys of an interrupted initialization",
    "retried an init that never reached the server": "a previous initialization was interrupted",
}


def node_for(root: Path, shell: str) -> BaoNode:
    return BaoNode(root, shell=SHELLS[shell])


def kill_group(process: ServerProcess) -> None:
    """SIGKILL the script and the server it started at the same instant, like a container being killed,
    and wait (bounded) until the whole process group is gone."""
    assert process.popen is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)
    pgid = process.popen.pid
    wait_until(lambda: not group_alive(pgid), timeout_s=10, what="the killed group to exit")


def files_in(keys_dir: Path) -> set[str]:
    return {p.name for p in keys_dir.iterdir()} if keys_dir.is_dir() else set()


def unsealed(node: BaoNode) -> bool:
    return node.answers() and node.seal_status()["sealed"] is False


@dataclass(frozen=True)
class Restart:
    """How a second ``serve`` start on the same storage and keys ended."""

    unsealed: bool
    output: str


def restart(node: BaoNode, timeout_s: float = 60) -> Restart:
    """Start the entrypoint again, as the orchestrator would after a crash, and wait until it has unsealed
    the node from the key file or has given up; the server is stopped by its PID either way."""
    with running_entrypoint(node.serve()) as entry:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and entry.running():
            if "init-unseal: unsealed" in entry.output() and unsealed(node):
                return Restart(unsealed=True, output=entry.output())
            time.sleep(0.1)
        return Restart(unsealed=False, output=entry.output())


def storage_initialized(node: BaoNode) -> bool:
    """Start the plain server on the node's storage and ask it over HTTP whether it is initialized. A
    half-initialized storage (the server answers its seal status with an error saying the barrier exists)
    counts as initialized: its keys are just as unrecoverable."""
    url = f"{node.addr}/v1/sys/seal-status"
    answer: list[bool] = []

    def asked() -> bool:
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                url, timeout=5
            ) as response:
                answer.append(bool(json.load(response)["initialized"]))
        except urllib.error.HTTPError as error:
            answer.append("barrier reports initialized" in error.read().decode(errors="replace"))
        return True

    with running(node.server()):
        wait_until(asked, timeout_s=30, what=f"OpenBao at {node.addr} to answer")
    return answer[0]


def lookup_token(node: BaoNode, token: str) -> bool:
    result = subprocess.run(
        [str(BAO_BINARY), "token", "lookup", "-format=json"],
        env={**os.environ, "BAO_ADDR": node.addr, "BAO_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0 and bool(json.loads(result.stdout)["data"]["id"])
