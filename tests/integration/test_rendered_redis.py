"""Redis started from the synthesized ``redis.conf`` and its password secret, as the ``redis`` service would.

Real parts: Debian's ``redis-server``/``redis-cli`` (``tools/debian-packages.txt``; 7.0 on Debian 12, while
the image pins 8.2: every directive we render exists in both). The files are the ones
``tests/integration/rendered.py`` writes from ``cdk.tf.json``, with these adaptations only:

* ``port 6379`` -> a free port, ``bind * -::*`` -> ``bind 127.0.0.1`` (tests talk only to loopback);
* ``dir /data`` and the ``include`` of ``/run/secrets/redis-auth.conf`` -> the same files under the temp root;
* the healthcheck's ``-p 6379`` and secret path, likewise.

The password is the stand-in for the Vault value (``rendered.py`` substitutes it).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tests.integration.rendered import RenderedService, extract

pytestmark = pytest.mark.integration

CONFIG = "/usr/local/etc/redis/redis.conf"
AUTH = "/run/secrets/redis-auth.conf"
CONTAINER_PORT = "6379"
START_TIMEOUT_S = 20.0
HOST_WARNINGS = ("Memory overcommit must be enabled",)
"""Redis's warnings about the host kernel, which a container inherits from the node, not from our files."""


def _redis_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install Debian's redis-server (tools/debian-packages.txt)")
    return found


class RunningRedis:
    """The server plus what the test needs to reach it."""

    def __init__(self, rendered: RenderedService, process: ServerProcess, port: int) -> None:
        self.rendered = rendered
        self.process = process
        self.port = port

    def cli(self, *command: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        """``redis-cli`` against the server; the password goes through ``REDISCLI_AUTH``, as in the probe."""
        env = {"REDISCLI_AUTH": password} if password is not None else {}
        return subprocess.run(
            [_redis_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port), *command],
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
            check=False,
        )


@pytest.fixture(params=ENVIRONMENTS)
def redis(
    request: pytest.FixtureRequest, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> Iterator[RunningRedis]:
    environment: str = request.param
    rendered = extract(synth_stacks(environment), "redis", tmp_path / "root", environment=environment)
    port = free_port()
    rendered.adapt(CONFIG, f"port {CONTAINER_PORT}\n", f"port {port}\n", "free port")
    rendered.adapt(CONFIG, "bind * -::*\n", "bind 127.0.0.1\n", "loopback only")
    data = rendered.path("/data")
    data.mkdir(parents=True)
    rendered.adapt(CONFIG, "dir /data\n", f"dir {data}\n", "volume -> temp dir")
    rendered.adapt(CONFIG, f"include {AUTH}\n", f"include {rendered.files[AUTH]}\n", "secret -> temp file")
    program, *arguments = rendered.args
    assert program == "redis-server"
    argv = [_redis_binary(program), *(str(rendered.files.get(arg, arg)) for arg in arguments)]
    process = ServerProcess(argv=argv, log=tmp_path / "redis.log", cwd=tmp_path)
    with running(process):
        wait_until(
            lambda: not process.running() or port_open("127.0.0.1", port),
            timeout_s=START_TIMEOUT_S,
            what="redis-server to listen",
        )
        assert process.running(), process.output()
        yield RunningRedis(rendered, process, port)


def _password(redis: RunningRedis) -> str:
    return redis.rendered.value_of('.data["password"]')


def test_requires_the_password_from_the_secret(redis: RunningRedis) -> None:
    anonymous = redis.cli("PING")
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    wrong = redis.cli("PING", password="not-the-password")
    assert "PONG" not in wrong.stdout
    assert redis.cli("PING", password=_password(redis)).stdout.strip() == "PONG"


def _healthcheck(redis: RunningRedis, auth_file: Path) -> subprocess.CompletedProcess[bytes]:
    argv = redis.rendered.healthcheck_argv()
    script = argv[-1].replace(AUTH, str(auth_file)).replace(f"-p {CONTAINER_PORT}", f"-p {redis.port}")
    assert script != argv[-1], "the probe no longer names the port and secret this test adapts"
    return subprocess.run([*argv[:-1], script], capture_output=True, timeout=15, check=False)


def test_healthcheck_passes_with_the_mounted_secret_only(redis: RunningRedis, tmp_path: Path) -> None:
    assert _healthcheck(redis, redis.rendered.files[AUTH]).returncode == 0
    stale = tmp_path / "stale-auth.conf"
    stale.write_text("requirepass not-the-password\n")
    assert _healthcheck(redis, stale).returncode != 0


def test_settings_read_back_as_rendered(redis: RunningRedis) -> None:
    def setting(name: str) -> str:
        reply = redis.cli("CONFIG", "GET", name, password=_password(redis)).stdout.splitlines()
        assert reply[:1] == [name], reply
        return reply[1]

    limit = redis.rendered.memory_limit_bytes
    assert limit is not None
    # A quarter of the container limit stays free for the fork of BGSAVE/BGREWRITEAOF and buffers.
    assert int(setting("maxmemory")) == limit * 3 // 4
    assert setting("maxmemory-policy") == "noeviction"
    assert setting("appendonly") == "yes"
    assert setting("appendfsync") == "everysec"
    assert setting("save") == "3600 1 300 100 60 10000"
    assert setting("dir") == str(redis.rendered.path("/data"))


def test_no_warnings_of_ours_in_the_log(redis: RunningRedis) -> None:
    assert redis.cli("PING", password=_password(redis)).stdout.strip() == "PONG"
    # Redis logs at warning level with '#' (``<pid>:M <date> # <text>``), lifecycle notices included;
    # the problems among them start with WARNING.
    warnings = [
        line
        for line in redis.process.output().splitlines()
        if " # WARNING" in line and not any(known in line for known in HOST_WARNINGS)
    ]
    assert warnings == []
