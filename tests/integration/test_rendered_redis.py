"""Redis from the synthesized ``redis.conf`` and ACL users secret (``rendered_servers.redis_server``).

Auth is required and nobody is ``default``, the service's own healthcheck passes (adapted to the port and
temp path of its probe secret), settings read back as rendered and memory is sized from the limit. What
each user may do is in ``test_redis_identities``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sprocket_infra.constructs.redis import ADMIN_USER
from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.rendered_servers import (
    REDIS_PORT,
    REDIS_PROBE_PASSWORD,
    RunningRedis,
    redis_server,
)

pytestmark = pytest.mark.integration


@pytest.fixture(params=ENVIRONMENTS)
def redis(
    request: pytest.FixtureRequest, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> Iterator[RunningRedis]:
    environment: str = request.param
    with redis_server(synth_stacks(environment), environment, tmp_path) as server:
        yield server


def _password(redis: RunningRedis) -> str:
    """The operators' admin password (the stand-in for its Vault value)."""
    return redis.rendered.value_of("read-infrastructure-redis_")


def _admin(redis: RunningRedis, *command: str) -> str:
    return redis.cli(*command, user=ADMIN_USER, password=_password(redis)).stdout


def test_requires_a_login_and_nobody_is_default(redis: RunningRedis) -> None:
    anonymous = redis.cli("PING")
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    wrong = redis.cli("PING", user=ADMIN_USER, password="not-the-password")
    assert "PONG" not in wrong.stdout
    # A bare password (``AUTH <password>``, the old ``requirepass`` way) is a login as ``default``.
    for password in (_password(redis), "", "nopass"):
        bare = redis.cli("PING", password=password)
        assert "PONG" not in bare.stdout, bare.stdout
    assert _admin(redis, "PING").strip() == "PONG"
    assert "off" in _admin(redis, "ACL", "GETUSER", "default").split()


def _healthcheck(redis: RunningRedis, password_file: Path) -> subprocess.CompletedProcess[bytes]:
    argv = redis.rendered.healthcheck_argv()
    script = argv[-1].replace(REDIS_PROBE_PASSWORD, str(password_file))
    script = script.replace(f"-p {REDIS_PORT}", f"-p {redis.port}")
    assert script != argv[-1], "the probe no longer names the port and secret this test adapts"
    return subprocess.run([*argv[:-1], script], capture_output=True, timeout=15, check=False)


def test_healthcheck_passes_with_the_mounted_secret_only(redis: RunningRedis, tmp_path: Path) -> None:
    assert _healthcheck(redis, redis.rendered.files[REDIS_PROBE_PASSWORD]).returncode == 0
    stale = tmp_path / "stale-password"
    stale.write_text("not-the-password")
    assert _healthcheck(redis, stale).returncode != 0


def test_settings_read_back_as_rendered(redis: RunningRedis) -> None:
    def setting(name: str) -> str:
        reply = _admin(redis, "CONFIG", "GET", name).splitlines()
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
    assert _admin(redis, "PING").strip() == "PONG"
    assert redis.warnings() == []
