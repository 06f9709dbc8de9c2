"""A real three-manager Swarm on one machine: three dockerd, each in a network namespace of its own.

Each node namespace gets a veth pair whose other end hangs on a bridge in a fourth, "hub" namespace, and
an address of its own (10.17.0.1-3/24). Nothing is added to the machine's own network namespace, so the
Swarm's traffic (2377, 7946, 4789) never leaves the test's namespaces. dockerd is started through
``nsenter --net`` rather than ``ip netns exec``: the latter remounts /sys for the namespace, which hides
the cgroup mounts dockerd needs. Every dockerd is stopped by its own PID; namespaces and directories are
removed however the block ends.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.swarm import START_TIMEOUT_S, STOP_GRACE_S, Swarm
from tests.integration.processes import ServerProcess, wait_until

SUBNET = "10.17.0"
NODES = 3
IP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Member:
    index: int
    address: str
    swarm: Swarm

    @property
    def node_id(self) -> str:
        return str(self.swarm.node()["ID"])


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _answers(swarm: Swarm) -> bool:
    try:
        return bool(swarm.docker("version", "--format", "{{.Server.Version}}"))
    except RuntimeError:
        return False


@contextlib.contextmanager
def namespaces(prefix: str) -> Iterator[list[str]]:
    hub, names = f"{prefix}-hub", [f"{prefix}-n{i}" for i in range(1, NODES + 1)]
    try:
        _ip("netns", "add", hub)
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "link", "set", "br0", "up")
        for index, name in enumerate(names, 1):
            _ip("netns", "add", name)
            _ip("-n", hub, "link", "add", f"v{index}", "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("-n", hub, "link", "set", f"v{index}", "master", "br0")
            _ip("-n", hub, "link", "set", f"v{index}", "up")
            _ip("-n", name, "addr", "add", f"{SUBNET}.{index}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield names
    finally:
        for name in [*names, hub]:
            subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, timeout=IP_TIMEOUT_S, check=False
            )


@contextlib.contextmanager
def three_node_swarm() -> Iterator[list[Member]]:
    """Start the three engines, ``swarm init`` the first and join the others as managers."""
    root = Path(tempfile.mkdtemp(prefix="sprk3-", dir="/tmp"))
    processes: list[ServerProcess] = []
    try:
        with namespaces(root.name) as names:
            members = []
            for index, name in enumerate(names, 1):
                home = root / f"n{index}"
                home.mkdir()
                process = ServerProcess(
                    argv=[
                        "nsenter",
                        f"--net=/var/run/netns/{name}",
                        "/usr/sbin/dockerd",
                        f"--host=unix://{home}/docker.sock",
                        f"--data-root={home}/data",
                        f"--exec-root={home}/exec",
                        f"--pidfile={home}/dockerd.pid",
                        "--storage-driver=vfs",
                        "--iptables=false",
                        "--ip6tables=false",
                        "--bridge=none",
                    ],
                    log=home / "dockerd.log",
                )
                processes.append(process.start())
                members.append(
                    Member(index, f"{SUBNET}.{index}", Swarm(f"unix://{home}/docker.sock", process))
                )
            for member in members:
                wait_until(
                    functools.partial(_answers, member.swarm),
                    timeout_s=START_TIMEOUT_S,
                    what=f"dockerd {member.index}",
                    interval_s=0.5,
                )
            first = members[0]
            first.swarm.docker("swarm", "init", "--advertise-addr", first.address)
            token = first.swarm.docker("swarm", "join-token", "-q", "manager").strip()
            for member in members[1:]:
                member.swarm.docker(
                    "swarm",
                    "join",
                    "--token",
                    token,
                    "--advertise-addr",
                    member.address,
                    f"{first.address}:2377",
                )
            yield members
    finally:
        for process in processes:
            process.stop(grace_s=STOP_GRACE_S)
        # A SIGKILLed dockerd leaves its containers' shims running (they detach from its process group);
        # they are ours by the socket path under ``root`` on their command line, and are ended by PID.
        for pid in _processes_under(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _processes_under(root: Path) -> list[int]:
    """PIDs whose command line names a path under ``root`` (our engines' containerd shims)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if f"{root}/".encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found
