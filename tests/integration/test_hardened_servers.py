"""Redis and RabbitMQ from their synthesized files, started as their services are
(tests/integration/as_service.py): as the table's user with every capability set empty, their secret
files 0400 owned by that user, the directories they write owned by it as a new volume is.

* Redis as 999:999 serves, persists into its data directory only, and the service's own healthcheck
  passes when run as the same user (another uid is refused the probe's password file);
* RabbitMQ as 100:101 loads its 0400 definitions (every app's user is there), keeps Mnesia and its
  cookie in its own directories, and its healthcheck CLI passes as the same user.

(Telegraf's hardened run is in test_rendered_telegraf.py.) Real parts: Debian's redis-server and
rabbitmq-server (the adaptations of ``rendered_servers``). Not shown here: the read-only root filesystem,
which needs the image.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.rabbitmq import ADMIN_USER as RABBITMQ_ADMIN
from sprocket_infra.constructs.redis import ADMIN_USER
from tests.conftest import Stacks
from tests.integration.as_service import as_user, can_switch_user, identity, traversable_workdir
from tests.integration.rendered_servers import (
    REDIS_PORT,
    REDIS_PROBE_PASSWORD,
    RunningRabbit,
    RunningRedis,
    rabbitmq_server,
    redis_server,
)

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
    assert redis.warnings() == []


RABBITMQ_USER = "100:101"


@pytest.fixture(scope="module")
def rabbit(synth_stacks: Callable[[str], Stacks]) -> Iterator[RunningRabbit]:
    if not can_switch_user():
        pytest.skip("not root: cannot start RabbitMQ as its service's user here")
    with (
        traversable_workdir("rabbitmq-hardened-") as work,
        rabbitmq_server(synth_stacks("local"), "local", work, as_service=True) as server,
    ):
        yield server


def test_rabbitmq_runs_as_the_table_says_with_no_capability(rabbit: RunningRabbit) -> None:
    assert hardening.SERVICES["rabbitmq"].user == RABBITMQ_USER
    running_as = identity(rabbit.server.pid)
    assert running_as.uids == (100,) * 4
    assert running_as.gids == (101,) * 4
    assert set(running_as.capabilities.values()) == {0}, running_as.capabilities
    definitions = rabbit.rendered.files["/etc/rabbitmq/definitions.json"].stat()
    assert (definitions.st_uid, definitions.st_gid, definitions.st_mode & 0o777) == (100, 101, 0o400)


def test_rabbitmq_loads_its_definitions_and_answers_its_healthcheck_as_its_user(
    rabbit: RunningRabbit,
) -> None:
    probe = rabbit.rendered.healthcheck_argv()
    assert probe[0] == "rabbitmq-diagnostics"
    ping = rabbit.cli(*probe)  # through the service user's prefix, as Docker runs the healthcheck
    assert ping.returncode == 0, ping.stderr
    users = rabbit.cli("rabbitmqctl", "-q", "list_users")
    assert users.returncode == 0, users.stderr
    names = {line.split()[0] for line in users.stdout.splitlines() if line.strip()}
    assert RABBITMQ_ADMIN in names
    assert len(names) > 1, "no app user was loaded from the definitions"
    mnesia = rabbit.rendered.path("/var/lib/rabbitmq/mnesia")
    assert {(path.stat().st_uid, path.stat().st_gid) for path in mnesia.rglob("*")} == {(100, 101)}
