"""Start and stop the real servers the integration tests use (Traefik, OpenBao, small HTTP backends).

Every server runs in its own process group, logs to a file the test can read, is waited for with a
bounded deadline and is stopped by its own PID: first SIGTERM, then SIGKILL after a grace period. Tests
only ever bind and connect to 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel picks it, so parallel runs don't collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout_s: float, what: str, interval_s: float = 0.1) -> None:
    """Poll ``check`` until it returns True; fail with ``what`` in the message once ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class ServerProcess:
    """A child process started by a test; ``log`` holds its stdout and stderr."""

    argv: Sequence[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as sink:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, "process not started"
        return self.popen.pid

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, *, grace_s: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal our own process group, wait at most ``grace_s``, then SIGKILL. Returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=grace_s)
        return self.popen.returncode


@contextlib.contextmanager
def running(process: ServerProcess) -> Iterator[ServerProcess]:
    """Start ``process`` and make sure it is stopped however the test ends."""
    process.start()
    try:
        yield process
    finally:
        process.stop()


THREAD_POLL_INTERVAL_S = 0.05
"""How often an in-process server notices it should stop; short so tests end promptly."""


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Run an in-process server (a backend, a stand-in API) in a daemon thread."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": THREAD_POLL_INTERVAL_S}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_served(server: socketserver.BaseServer | None, thread: threading.Thread | None) -> None:
    """Stop what :func:`serve_in_thread` started and release its port; safe on a never-started server."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)
