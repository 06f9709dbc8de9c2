"""Redis from the synthesized ``redis.conf`` and password secret (``rendered_servers.redis_server``).

Auth is required and the secret's password works, the service's own healthcheck passes (adapted to the
port and temp path of the secret), settings read back as rendered and memory is sized from the limit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.rendered_servers import REDIS_AUTH, REDIS_PORT, RunningRedis, redis_server

pytestmark = pytest.mark.integration

HOST_WARNINGS = ("Memory overcommit must be enabled",)
"""Redis's warnings about the host kernel, which a container inherits from the node, not from our files."""


@pytest.fixture(params=ENVIRONMENTS)
def redis(
    request: pytest.FixtureRequest, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> Iterator[RunningRedis]:
    environment: str = request.param
    with redis_server(synth_stacks(environment), environment, tmp_path) as server:
        yield server


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
    script = argv[-1].replace(REDIS_AUTH, str(auth_file)).replace(f"-p {REDIS_PORT}", f"-p {redis.port}")
    assert script != argv[-1], "the probe no longer names the port and secret this test adapts"
    return subprocess.run([*argv[:-1], script], capture_output=True, timeout=15, check=False)


def test_healthcheck_passes_with_the_mounted_secret_only(redis: RunningRedis, tmp_path: Path) -> None:
    assert _healthcheck(redis, redis.rendered.files[REDIS_AUTH]).returncode == 0
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
