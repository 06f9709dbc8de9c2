"""A 3-node OpenBao raft cluster on 127.0.0.1, each node started by our entrypoint from its synthesized
files, auto-unsealed through the transit engine of a fourth OpenBao.

The nodes are exactly what layer1 synthesizes for an environment with ``vault.ha`` and a ``transit``
seal (``tests/unit/vault_variants.HA_TRANSIT``): their ``vault.hcl`` and ``init-unseal.sh`` come out of
the ``docker_config`` resources and their environment out of the ``docker_service``. Adaptations, each
asserted to apply and recorded: overlay names (``vault``, ``vault-2``, ``vault-3``) and ports become free
ports on 127.0.0.1, container paths become directories under the test's root, the transit address
becomes the fourth server's, and raft gets ``performance_multiplier = 1`` (elections in ~1 s instead of
~5 s; timing only). The transit token is the stand-in value the synthesized secret holds: the test
creates a token with exactly that id on the transit server, so the node reads the secret as shipped.

The transit server is a single OpenBao with Shamir keys, itself started by our entrypoint (``BaoNode``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sprocket_infra.vault.server_config_nodes import CLUSTER_PORT, CONFIG_PATH, PORT, data_dir
from sprocket_infra.vault.server_config_seal import TRANSIT_TOKEN_PATH
from tests.conftest import Stacks
from tests.integration.openbao import BAO, BaoNode, group_alive
from tests.integration.processes import ServerProcess, free_port, wait_until
from tests.rendered import RenderedService, extract
from tests.unit.vault_variants import TRANSIT_PLACEHOLDER

VENV_BIN = Path(sys.executable).parent
TRANSIT_KEY = "sprocket-vault-seal"
TRANSIT_POLICY = f"""
path "transit/encrypt/{TRANSIT_KEY}" {{ capabilities = ["update"] }}
path "transit/decrypt/{TRANSIT_KEY}" {{ capabilities = ["update"] }}
"""
"""All the sealing token may do: what the transit seal documents it needs, on its one key."""

DATA_DIR = data_dir("bao")
"""Raft data directory the synthesized vault.hcl names (the cluster fixtures run OpenBao)."""


def bao(
    addr: str, *args: str, token: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``bao <args>`` against ``addr`` (what an operator or an app does), bounded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    env["BAO_ADDR"] = addr
    if token is not None:
        env["BAO_TOKEN"] = token
    return subprocess.run(
        [str(BAO), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}: {result.stderr or result.stdout}"
    return result.stdout


def http_json(addr: str, path: str) -> dict[str, Any]:
    result = bao(addr, "read", "-format=json", path.removeprefix("/v1/"))
    return dict(json.loads(result.stdout)) if result.returncode == 0 else {}


@dataclass
class TransitServer:
    """The fourth OpenBao: holds the key that seals the cluster. Shamir-sealed, run by our entrypoint."""

    node: BaoNode
    process: ServerProcess | None = None

    @property
    def addr(self) -> str:
        return self.node.addr

    def start(self) -> None:
        self.process = self.node.serve().start()
        self.node.wait_unsealed(timeout_s=90)
        self.node.wait_active()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def prepare(self, token_id: str) -> None:
        """Enable transit, create the key, and a periodic orphan token with id ``token_id`` that may only
        encrypt and decrypt with it."""
        root = self.node.root_token()
        ok(bao(self.addr, "secrets", "enable", "transit", token=root))
        ok(bao(self.addr, "write", "-f", f"transit/keys/{TRANSIT_KEY}", token=root))
        ok(bao(self.addr, "policy", "write", "vault-seal", "-", token=root, stdin=TRANSIT_POLICY))
        ok(
            bao(
                self.addr,
                "token",
                "create",
                f"-id={token_id}",
                "-policy=vault-seal",
                "-orphan",
                "-period=24h",
                "-no-default-policy",
                token=root,
            )
        )


@dataclass
class ClusterNode:
    """One synthesized Vault node, laid out under its own root with loopback addresses."""

    rendered: RenderedService
    port: int
    cluster_port: int
    runs: int = 0
    process: ServerProcess | None = None
    env_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.rendered.name

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys_dir(self) -> Path:
        return self.rendered.path(self.rendered.env["VAULT_KEYS_DIR"])

    def entrypoint(self, **overrides: str) -> ServerProcess:
        """The service's command, ``/bin/sh init-unseal.sh serve``, with its synthesized environment
        pointed at this node's files and port."""
        shell, script, mode = self.rendered.command
        assert (shell, mode) == ("/bin/sh", "serve"), self.rendered.command
        env = dict(self.rendered.env)
        env["VAULT_ADDR"] = env["VAULT_ADDR"].replace(f"127.0.0.1:{PORT}", f"127.0.0.1:{self.port}")
        for key in ("VAULT_CONFIG", "VAULT_SEAL_TOKEN_FILE"):
            env[key] = str(self.rendered.files[env[key]])
        env["VAULT_KEYS_DIR"] = str(self.keys_dir)
        env["PATH"] = f"{VENV_BIN}:{os.environ['PATH']}"  # VAULT_BIN=bao, as on the image's PATH
        env.update(overrides)
        self.runs += 1
        log = self.rendered.root / "logs" / f"{self.runs:02d}-serve.log"
        return ServerProcess(argv=[shell, str(self.rendered.files[script]), mode], log=log, env=env)

    def start(self, **overrides: str) -> ServerProcess:
        self.process = self.entrypoint(**overrides).start()
        return self.process

    def kill(self) -> None:
        """SIGKILL the entrypoint and its server by the group we started, as a node or container dies."""
        assert self.process is not None
        assert self.process.popen is not None
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, 9)
        self.process.popen.wait(timeout=10)
        wait_until(lambda: not group_alive(pgid), timeout_s=10, what=f"{self.name}'s processes to exit")
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            if group_alive(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
            self.process = None

    def seal_status(self) -> dict[str, Any]:
        result = bao(self.addr, "status", "-format=json")
        return dict(json.loads(result.stdout)) if result.stdout.strip().startswith("{") else {}

    def unsealed(self) -> bool:
        return self.seal_status().get("sealed") is False

    def leader(self) -> dict[str, Any]:
        result = bao(self.addr, "read", "-format=json", "sys/leader")
        return dict(json.loads(result.stdout)).get("data", {}) if result.returncode == 0 else {}

    def is_active(self) -> bool:
        return self.leader().get("is_self") is True

    def output(self) -> str:
        return self.process.output() if self.process is not None else ""


def adapted_nodes(stacks: Stacks, root: Path, transit_addr: str) -> list[ClusterNode]:
    """Every synthesized Vault node, adapted to loopback (see the module docstring)."""
    names = sorted(
        body["name"]
        for body in stacks["layer1"]["resource"]["docker_service"].values()
        if body["name"] == "vault" or body["name"].startswith("vault-")
    )
    assert names == ["vault", "vault-2", "vault-3"], names
    ports = {name: (free_port(), free_port()) for name in names}
    nodes = []
    for name in names:
        rendered = extract(stacks, name, root / name, environment="ha-transit")
        port, cluster = ports[name]
        # Its own api_addr and every peer's retry_join address: each name appears exactly once.
        for peer, (peer_port, _) in ports.items():
            address = f'"http://{peer}:{PORT}"'
            rendered.adapt(CONFIG_PATH, address, f'"http://127.0.0.1:{peer_port}"', f"{peer} on loopback")
        rendered.adapt(
            CONFIG_PATH, f'"https://{name}:{CLUSTER_PORT}"', f'"https://127.0.0.1:{cluster}"', "cluster addr"
        )
        rendered.adapt(CONFIG_PATH, f'"0.0.0.0:{PORT}"', f'"127.0.0.1:{port}"', "loopback port")
        rendered.adapt(CONFIG_PATH, f'"0.0.0.0:{CLUSTER_PORT}"', f'"127.0.0.1:{cluster}"', "loopback cluster")
        rendered.adapt(CONFIG_PATH, f'"{DATA_DIR}"', f'"{rendered.path(DATA_DIR)}"', "temp dir")
        rendered.adapt(
            CONFIG_PATH,
            f'node_id = "{name}"\n',
            f'node_id = "{name}"\n  performance_multiplier = 1\n',
            "timing",
        )
        rendered.adapt(CONFIG_PATH, f'"{TRANSIT_PLACEHOLDER}"', f'"{transit_addr}"', "transit server")
        rendered.path(DATA_DIR).mkdir(parents=True)
        nodes.append(ClusterNode(rendered=rendered, port=port, cluster_port=cluster))
    # Every node's own api_addr and each peer's retry_join address were rewritten.
    for node in nodes:
        text = node.rendered.text(CONFIG_PATH)
        for overlay_name in ("//vault:", "//vault-2:", "//vault-3:"):
            assert overlay_name not in text, text
    return nodes


def transit_token(nodes: list[ClusterNode]) -> str:
    """The stand-in the synthesized transit-token secret holds (the same for every node)."""
    tokens = {node.rendered.text(TRANSIT_TOKEN_PATH).strip() for node in nodes}
    assert len(tokens) == 1, tokens
    return tokens.pop()


@contextlib.contextmanager
def running_transit(root: Path) -> Iterator[TransitServer]:
    server = TransitServer(BaoNode(root))
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_cluster(nodes: list[ClusterNode]) -> Iterator[list[ClusterNode]]:
    """Make sure every node the test started is stopped by its own PID, however the test ends."""
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def unsealed_via_entrypoint(node: ClusterNode) -> bool:
    """The entrypoint logged that the node unsealed through its seal, and the node agrees."""
    return "init-unseal: unsealed" in node.output() and node.unsealed()
