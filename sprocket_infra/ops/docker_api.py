"""A small read-mostly client of the Docker Engine API, reached the way ``DOCKER_HOST`` says.

``unix:///path`` and ``tcp://host:port`` are plain HTTP; ``ssh://user@host`` runs ``docker system
dial-stdio`` on the remote host over ssh and speaks HTTP through that pipe, which is what the Docker CLI
and the Terraform provider do, so an operator's existing SSH set-up (keys, ``~/.ssh/config``) is all it
needs. No Docker SDK: the handful of endpoints the ops commands use do not justify a dependency.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

DEFAULT_HOST = "unix:///var/run/docker.sock"
CHUNK_BYTES = 1 << 16
API_VERSION = "1.41"
"""The oldest Engine API with ``ServiceStatus`` on service listings (Docker 20.10); newer engines take it."""


class Sink(Protocol):
    """Where a downloaded body goes: a file, a gzip stream, a buffer."""

    def write(self, data: bytes, /) -> object: ...


class DockerApiError(RuntimeError):
    """The engine could not be reached, or answered an error; the message names the host and the call."""


def _ssh_socket(url: str, timeout_s: float) -> tuple[socket.socket, subprocess.Popen[bytes]]:
    """A socket whose peer is ``docker system dial-stdio`` on the remote end of ``ssh``."""
    parts = urlsplit(url)
    destination = f"{parts.username}@{parts.hostname}" if parts.username else str(parts.hostname)
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(int(timeout_s), 1)}"]
    if parts.port:
        argv += ["-p", str(parts.port)]
    ours, theirs = socket.socketpair()
    process = subprocess.Popen(
        [*argv, "--", destination, "docker", "system", "dial-stdio"],
        stdin=theirs.fileno(),
        stdout=theirs.fileno(),
        stderr=subprocess.DEVNULL,
    )
    theirs.close()
    ours.settimeout(timeout_s)
    return ours, process


@dataclass
class DockerClient:
    """One engine; every call opens its own connection with ``timeout_s`` on each socket operation."""

    host: str = DEFAULT_HOST
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        scheme = urlsplit(self.host).scheme
        if scheme not in {"unix", "tcp", "http", "ssh"}:
            raise ValueError(
                f"DOCKER_HOST {self.host!r}: expected unix:///path, tcp://host:port or ssh://[user@]host"
            )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[http.client.HTTPConnection]:
        parts = urlsplit(self.host)
        process: subprocess.Popen[bytes] | None = None
        if parts.scheme in {"tcp", "http"}:
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port or 2375, timeout=self.timeout_s
            )
        else:
            conn = http.client.HTTPConnection("docker", timeout=self.timeout_s)
            if parts.scheme == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout_s)
                sock.connect(parts.path)
            else:
                sock, process = _ssh_socket(self.host, self.timeout_s)
            conn.sock = sock
        try:
            yield conn
        finally:
            conn.close()
            if process is not None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=self.timeout_s)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        """Send one call (``path`` below ``/v<API_VERSION>``); returns status and body, raises on I/O."""
        target = f"/v{API_VERSION}{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {"Host": "docker", "Content-Type": content_type} if body is not None else {"Host": "docker"}
        try:
            with self._connection() as conn:
                conn.request(method, target, body=body, headers=headers)
                reply = conn.getresponse()
                return reply.status, reply.read()
        except (OSError, http.client.HTTPException) as error:
            raise DockerApiError(f"Docker API at {self.host}: {method} {path}: {error}") from None

    def download(self, path: str, sink: Sink, *, query: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        """``GET path`` with a 200 body copied into ``sink`` in chunks; an error body is returned instead."""
        target = f"/v{API_VERSION}{path}" + (f"?{urlencode(query)}" if query else "")
        try:
            with self._connection() as conn:
                conn.request("GET", target, headers={"Host": "docker"})
                reply = conn.getresponse()
                if reply.status != 200:
                    return reply.status, reply.read()
                shutil.copyfileobj(reply, sink, CHUNK_BYTES)
                return reply.status, b""
        except (OSError, http.client.HTTPException) as error:
            raise DockerApiError(f"Docker API at {self.host}: GET {path}: {error}") from None

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        status, data = self.request(method, path, **kwargs)
        if status >= 400:
            message = data.decode(errors="replace").strip()
            with contextlib.suppress(ValueError, AttributeError):
                message = json.loads(data).get("message", message)
            raise DockerApiError(f"Docker API at {self.host}: {method} {path}: {status} {message}")
        return json.loads(data) if data else None

    def services(self) -> list[dict[str, Any]]:
        """Every Swarm service, with ``ServiceStatus`` (running/desired tasks) where the engine has it."""
        return list(self.json("GET", "/services", query={"status": "true"}))

    def tasks(self, service: str) -> list[dict[str, Any]]:
        filters = json.dumps({"service": [service], "desired-state": ["running"]})
        return list(self.json("GET", "/tasks", query={"filters": filters}))

    def volume(self, name: str) -> dict[str, Any]:
        return dict(self.json("GET", f"/volumes/{quote(name, safe='')}"))
