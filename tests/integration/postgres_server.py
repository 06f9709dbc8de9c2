"""Debian's PostgreSQL 15, started for one test module in a temporary directory, and a psql helper.

The server runs as the ``postgres`` OS user (it refuses root), listens on 127.0.0.1 at a free port and on
a unix socket in its own directory, and is stopped by its PID (:mod:`tests.integration.processes`). Local
socket connections are trusted (the test's superuser sets the stage); TCP needs a SCRAM password, as on a
managed cluster.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60


def available() -> bool:
    return (BIN / "postgres").exists() and shutil.which("psql") is not None


def _as_postgres(*argv: str) -> list[str]:
    return ["setpriv", f"--reuid={OS_USER}", f"--regid={OS_USER}", "--init-groups", *argv]


@dataclass(frozen=True)
class Psql:
    """What psql answered: exit code and its stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class RunningPostgres:
    port: int
    socket_dir: Path

    def superuser(self, sql: str, *, database: str = "postgres") -> str:
        """``sql`` as the bootstrap superuser over the socket; fails on any error."""
        result = subprocess.run(
            ["psql", "--no-psqlrc", "-X", "-qtA", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
             "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def tcp(self, user: str, password: str, database: str, sql: str) -> Psql:
        """``sql`` as ``user`` over TCP with a password, the way a service logs in."""
        result = subprocess.run(
            ["psql", "--no-psqlrc", "-X", "-qtA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", user, "-d", database, "-c", sql],
            capture_output=True, text=True, check=False, timeout=60,
            env={**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"},
        )  # fmt: skip
        return Psql(result.returncode, result.stdout.strip(), result.stderr.strip())


@contextlib.contextmanager
def postgres_server() -> Iterator[RunningPostgres]:
    """initdb in a new directory under /tmp (pytest's own are root-only, and the server is not root),
    run the server until the block ends, stop it by its PID and remove the directory."""
    with tempfile.TemporaryDirectory(prefix="sprocket-postgres-") as name:
        directory = Path(name)
        directory.chmod(0o755)
        shutil.chown(directory, OS_USER, OS_USER)
        yield from _serve(directory)


def _serve(directory: Path) -> Iterator[RunningPostgres]:
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir()
    shutil.chown(sockets, OS_USER, OS_USER)
    subprocess.run(
        _as_postgres(str(BIN / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth-local=trust",
                     "--auth-host=scram-sha-256", "--no-sync"),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    server = ServerProcess(
        argv=_as_postgres(
            str(BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(sockets),
            "-c", "fsync=off",
        ),
        log=directory / "postgres.log",
    )  # fmt: skip
    with running(server):
        wait_until(
            lambda: port_open("127.0.0.1", port) and (sockets / f".s.PGSQL.{port}").exists(),
            timeout_s=START_TIMEOUT_S,
            what=f"PostgreSQL on 127.0.0.1:{port} (log: {server.log})",
        )
        yield RunningPostgres(port=port, socket_dir=sockets)
