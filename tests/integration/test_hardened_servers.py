"""Redis from its synthesized files, started as the ``redis`` service is (tests/integration/as_service.py):
as its user 999:999 with every capability set empty, its ACL users file and probe password 0400 owned by
999, its data directory owned by 999 as a new volume is. It serves, persists into that directory only,
and the service's own healthcheck passes when run as the same user. (Telegraf's hardened run is in
test_rendered_telegraf.py.)

Real parts: Debian's redis-server (the adaptations of ``rendered_servers.redis_server``). Not shown here:
the read-only root filesystem, which needs the image.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.redis import ADMIN_USER
from tests.conftest import Stacks
from tests.integration.as_service import as_user, can_switch_user, identity, traversable_workdir
from tests.integration.rendered_servers import (
    REDIS_PORT,
    REDIS_PROBE_PASSWORD,
    RunningRedis,
    redis_server,
)
from tests.integration.test_rendered_redis import HOST_WARNINGS

pytestmark = pytest.mark.integration

REDIS_USER = "999:999"


@pytest.fixture(scope="module")
def redis(synth_stacks: Callable[[str], Stacks]) -> Iterator[RunningRedis]:
    if not can_switch_user():
        pytest.skip("not root: cannot start Redis as its service's user here")
    with (
        traversable_workdir("redis-hardened-") as work,
        redis_server(synth_stacks("local"), "local", work, as_service=True) as server,
    ):
        yield server


def _admin(redis: RunningRedis, *command: str) -> str:
    return redis.cli(
        *command, user=ADMIN_USER, password=redis.rendered.value_of("read-infrastructure-redis_")
    ).stdout


def test_runs_as_the_table_says_with_no_capability(redis: RunningRedis) -> None:
    assert hardening.SERVICES["redis"].user == REDIS_USER
    running_as = identity(redis.process.pid)
    assert running_as.uids == (999,) * 4
    assert running_as.gids == (999,) * 4
    assert set(running_as.capabilities.values()) == {0}, running_as.capabilities
    files = redis.rendered.files
    owners = {
        (path.stat().st_uid, path.stat().st_gid, path.stat().st_mode & 0o777)
        for path in (files["/run/secrets/redis-users.conf"], files[REDIS_PROBE_PASSWORD])
    }
    assert owners == {(999, 999, 0o400)}


def test_serves_and_persists_into_its_data_directory(redis: RunningRedis) -> None:
    assert _admin(redis, "SET", "hardened:probe", "1").strip() == "OK"
    assert _admin(redis, "SAVE").strip() == "OK"
    data = redis.rendered.path("/data")
    written = sorted(path.name for path in data.iterdir())
    assert "dump.rdb" in written, written
    assert {(path.stat().st_uid, path.stat().st_gid) for path in data.rglob("*")} == {(999, 999)}


def test_healthcheck_passes_as_the_service_user(redis: RunningRedis) -> None:
    argv = redis.rendered.healthcheck_argv()
    script = argv[-1].replace(REDIS_PROBE_PASSWORD, str(redis.rendered.files[REDIS_PROBE_PASSWORD]))
    script = script.replace(f"-p {REDIS_PORT}", f"-p {redis.port}")
    assert script != argv[-1], "the probe no longer names the port and secret this test adapts"
    as_redis = subprocess.run(
        [*as_user(REDIS_USER), *argv[:-1], script], capture_output=True, timeout=15, check=False
    )
    assert as_redis.returncode == 0, as_redis
    # The same probe as another unprivileged uid cannot read the 0400 password: the mode is what guards it.
    as_nobody = subprocess.run(
        [*as_user("65534:65534"), *argv[:-1], script], capture_output=True, timeout=15, check=False
    )
    assert as_nobody.returncode != 0
    assert b"Permission denied" in as_nobody.stderr


def test_no_warnings_of_ours_without_privileges(redis: RunningRedis) -> None:
    """Nothing Redis would have needed a capability for (open-files limit, ownership) is logged."""
    assert _admin(redis, "PING").strip() == "PONG"
    warnings = [
        line
        for line in redis.process.output().splitlines()
        if " # WARNING" in line and not any(known in line for known in HOST_WARNINGS)
    ]
    assert warnings == []
