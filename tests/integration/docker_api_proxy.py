"""A real dockerd with one container holding a canary file, and the synthesized socket proxies in front of it.

The engine is the e2e harness's private dockerd (``tests.e2e.swarm.private_swarm``: its own socket and
data root, Swarm initialized). Without a registry, the one image is built here with ``docker import`` from
Debian's static busybox, and the one container (created, never started: archive, export and logs work on
it all the same) holds :data:`CANARY` in :data:`CANARY_PATH`, standing in for Vault's keys file.

Each proxy is Debian's ``haproxy``, as root with no capabilities (``setpriv``, like the service's
``cap_drop: ALL``), run on the service's ``haproxy.cfg`` exactly as synthesized, with two
adaptations recorded by :meth:`RenderedService.adapt`: it listens on a free port of 127.0.0.1 instead of
every address, and forwards to the private engine's socket instead of the node's ``/var/run/docker.sock``.
"""

from __future__ import annotations

import http.client
import io
import json
import shutil
import socket
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sprocket_infra import naming
from sprocket_infra.constructs.docker_socket_proxy import CONFIG_PATH, DOCKER_SOCKET
from tests.conftest import Stacks
from tests.e2e.swarm import Swarm
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tests.rendered import RenderedService, extract

CANARY = "canary-unseal-key-7f3a9c"
CANARY_PATH = "/vault/keys/unseal.txt"
IMAGE = "sprocket-test/busybox:1"
CONTAINER = "vault-standin"
START_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over dockerd's unix socket, to ask the engine directly (the baseline the proxy is held to)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=REQUEST_TIMEOUT_S)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(REQUEST_TIMEOUT_S)
        sock.connect(self._path)
        self.sock = sock


def ask(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> Answer:
    """One request on a fresh connection; the whole body is read (every route asked for ends)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(status=response.status, body=response.read())
    finally:
        connection.close()


@dataclass(frozen=True)
class Engine:
    swarm: Swarm
    socket: str
    container_id: str
    node_id: str
    network_id: str

    def direct(self, method: str, path: str, body: bytes | None = None) -> Answer:
        return ask(_UnixConnection(self.socket), method, path, body)

    def container_names(self) -> set[str]:
        return set(self.swarm.docker("ps", "-a", "--format", "{{.Names}}").split())


def _busybox_rootfs() -> bytes:
    """A tar of a root filesystem: busybox and the canary file (mode 0600, as Vault's keys are)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox is missing: run tools/install-debian-packages")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(busybox, arcname="bin/busybox")
        data = CANARY.encode()
        info = tarfile.TarInfo(CANARY_PATH.lstrip("/"))
        info.size, info.mode = len(data), 0o600
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def prepare_engine(swarm: Swarm) -> Engine:
    """Import the image and create the canary container; read the IDs the routes are asked with."""
    imported = subprocess.run(
        ["docker", "--host", swarm.host, "import", "-", IMAGE],
        input=_busybox_rootfs(),
        capture_output=True,
        timeout=REQUEST_TIMEOUT_S,
        check=False,
    )
    if imported.returncode != 0:
        raise RuntimeError(f"docker import: {imported.stderr.decode(errors='replace')}")
    container_id = swarm.docker(
        "create", "--name", CONTAINER, "--network", "none", IMAGE, "/bin/busybox", "sleep", "3600"
    ).strip()
    node_id = swarm.docker("info", "--format", "{{.Swarm.NodeID}}").strip()
    network_id = swarm.docker("network", "inspect", "ingress", "--format", "{{.Id}}").strip()
    socket_path = swarm.host.removeprefix("unix://")
    return Engine(swarm, socket_path, container_id, node_id, network_id)


@dataclass(frozen=True)
class RunningProxy:
    rendered: RenderedService
    port: int
    process: ServerProcess

    def ask(self, method: str, path: str, body: bytes | None = None) -> Answer:
        return ask(
            http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S), method, path, body
        )

    def log(self) -> str:
        return self.process.output()


@contextmanager
def proxy_in_front(stacks: Stacks, service: str, engine: Engine, root: Path) -> Iterator[RunningProxy]:
    """Start the synthesized proxy ``service`` on 127.0.0.1 in front of ``engine``; stop it by its PID."""
    rendered = extract(stacks, service, root / "rootfs")
    port = free_port()
    rendered.adapt(
        CONFIG_PATH,
        f"bind :{naming.SOCKET_PROXY_PORT}\n",
        f"bind 127.0.0.1:{port}\n",
        "a test binds loopback",
    )
    rendered.adapt(CONFIG_PATH, f"server dockerd {DOCKER_SOCKET}\n", f"server dockerd {engine.socket}\n",
                   "the test's private dockerd")  # fmt: skip
    config = rendered.files[CONFIG_PATH]
    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # As root with every capability dropped (empty bounding set), as the service's ``cap_drop: ALL`` runs it.
    no_capabilities = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"]
    process = ServerProcess(
        argv=[*no_capabilities, "haproxy", "-db", "-f", str(config)], log=root / f"{service}.log"
    )
    with running(process):
        wait_until(
            lambda: port_open("127.0.0.1", port), timeout_s=START_TIMEOUT_S, what=f"haproxy for {service}"
        )
        yield RunningProxy(rendered, port, process)


def json_body(answer: Answer) -> Any:
    return json.loads(answer.body)
