"""A real single-node Docker Swarm on a private socket, for the e2e deploys.

Debian's ``dockerd`` runs as root with its own data and exec roots under a temp dir, ``vfs`` storage and
no iptables or bridge, so it touches nothing of the machine's own Docker set-up. ``docker swarm init`` on
127.0.0.1 makes it a manager. What it can and cannot show here: services, configs, secrets, networks and
volumes are created and keep their full spec (what the providers send and read back), but there is no
image registry, so the deployed services' tasks never start (an image imported into this engine does run:
tests/e2e/local_image.py), and overlay traffic between containers is not exercised.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.processes import ServerProcess, running, wait_until

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 20.0
DOCKER_CLI_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Swarm:
    """A running manager: ``host`` is the ``DOCKER_HOST`` value the providers and the CLI use."""

    host: str
    process: ServerProcess

    def docker(self, *args: str) -> str:
        """Run the Docker CLI against this engine only; raise with its stderr on failure."""
        result = subprocess.run(
            ["docker", "--host", self.host, *args],
            capture_output=True,
            text=True,
            timeout=DOCKER_CLI_TIMEOUT_S,
            check=False,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def inspect(self, kind: str, names: list[str]) -> dict[str, dict[str, Any]]:
        """``docker <kind> inspect`` of every name, keyed by the object's name."""
        if not names:
            return {}
        objects: list[dict[str, Any]] = json.loads(self.docker(kind, "inspect", *names))
        return {_name(item): item for item in objects}

    def node(self) -> dict[str, Any]:
        """``docker node inspect self``: the one node of this Swarm, with its hostname and labels."""
        found: list[dict[str, Any]] = json.loads(self.docker("node", "inspect", "self"))
        return found[0]

    def node_labels(self) -> dict[str, str]:
        """The labels placement constraints read (``node.labels.<key>``), as Swarm keeps them now."""
        return dict(self.node()["Spec"].get("Labels") or {})

    def label_node(self, labels: dict[str, str]) -> None:
        """Set ``labels`` on the node, as an operator (or the deploy's node labels) would."""
        flags = [part for key, value in sorted(labels.items()) for part in ("--label-add", f"{key}={value}")]
        self.docker("node", "update", *flags, str(self.node()["ID"]))  # update does not take "self"

    def names(self, kind: str) -> set[str]:
        """Every object of ``kind`` (service, config, secret, network, volume) that exists now."""
        listing = self.docker(kind, "ls", "--format", "{{.Name}}")
        return {line for line in listing.splitlines() if line}


def _name(item: dict[str, Any]) -> str:
    spec = item.get("Spec")
    return str(spec["Name"] if isinstance(spec, dict) and "Name" in spec else item["Name"])


def _dockerd() -> str:
    path = shutil.which("dockerd", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise RuntimeError("dockerd not found: run `make e2e` (it installs Debian's docker.io)")
    return path


@contextlib.contextmanager
def private_swarm() -> Iterator[Swarm]:
    """Start dockerd on a private socket, ``swarm init`` it, and stop it by its PID however the block ends.

    The directory is short and under /tmp on purpose: containerd's unix socket paths must stay below the
    kernel's 108-byte limit.
    """
    root = Path(tempfile.mkdtemp(prefix="sprocket-swarm-", dir="/tmp"))
    socket = root / "docker.sock"
    process = ServerProcess(
        argv=[
            _dockerd(),
            f"--host=unix://{socket}",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--pidfile={root / 'dockerd.pid'}",
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
        ],
        log=root / "dockerd.log",
    )
    try:
        with running(process):
            swarm = Swarm(host=f"unix://{socket}", process=process)
            try:
                wait_until(
                    lambda: (
                        socket.exists() and bool(swarm.docker("version", "--format", "{{.Server.Version}}"))
                    ),
                    timeout_s=START_TIMEOUT_S,
                    what=f"dockerd on {socket}",
                    interval_s=0.5,
                )
            except TimeoutError as error:
                raise TimeoutError(f"{error}; log:\n{process.output()[-3000:]}") from None
            swarm.docker("swarm", "init", "--advertise-addr", "127.0.0.1")
            yield swarm
            process.stop(grace_s=STOP_GRACE_S)
    finally:
        # vfs layers and the swarm's raft log; dockerd has stopped by now (running() waited for it).
        with contextlib.suppress(OSError):
            subprocess.run(["umount", "-R", str(root / "exec")], capture_output=True, check=False, timeout=30)
        shutil.rmtree(root, ignore_errors=True)
