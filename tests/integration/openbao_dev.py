"""An in-memory OpenBao dev server on 127.0.0.1 with a known root token, for Vault API tests.

Dev mode is unsealed and ready within a second and forgets everything when stopped, which suits tests of
policies and the secrets bootstrap; tests of initialization, unsealing and restarts use the raft server in
``tests/integration/openbao.py`` instead.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import hvac
import requests

from tests.integration.processes import ServerProcess, free_port, running, wait_until

BAO = Path(sys.executable).parent / "bao"
START_TIMEOUT_S = 30.0

# Variables that would make the server or a client talk to something other than the server under test.
_FOREIGN_ENV = ("BAO_ADDR", "BAO_TOKEN", "VAULT_ADDR", "VAULT_TOKEN", "BAO_NAMESPACE", "VAULT_NAMESPACE")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def local_client(addr: str, token: str) -> hvac.Client:
    """An hvac client that ignores proxy settings in the environment, so it only ever talks to ``addr``."""
    session = requests.Session()
    session.trust_env = False
    return hvac.Client(url=addr, token=token, timeout=5, session=session)


@dataclass(frozen=True)
class DevServer:
    addr: str
    root_token: str
    process: ServerProcess


def _ready(addr: str) -> bool:
    """``sys/health`` answers 200 once the dev server is initialized, unsealed and active."""
    with _NO_PROXY.open(f"{addr}/v1/sys/health", timeout=1) as response:
        body = json.load(response)
    return response.status == 200 and body.get("sealed") is False


@contextlib.contextmanager
def openbao_dev_server(workdir: Path) -> Iterator[DevServer]:
    """Run ``bao server -dev`` on a free 127.0.0.1 port; stopped by its PID however the block ends."""
    port = free_port()
    root_token = f"root-{secrets.token_hex(8)}"
    addr = f"http://127.0.0.1:{port}"
    process = ServerProcess(
        argv=[
            str(BAO),
            "server",
            "-dev",
            f"-dev-root-token-id={root_token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        log=workdir / f"openbao-dev-{port}.log",
        # ServerProcess starts from os.environ; blank out what could point the server elsewhere.
        env={**dict.fromkeys(_FOREIGN_ENV, ""), "HOME": str(workdir)},
        cwd=workdir,
    )
    with running(process):
        try:
            wait_until(lambda: _ready(addr), timeout_s=START_TIMEOUT_S, what=f"OpenBao dev server at {addr}")
        except TimeoutError as error:
            raise TimeoutError(f"{error}; log:\n{process.output()[-2000:]}") from None
        yield DevServer(addr=addr, root_token=root_token, process=process)
