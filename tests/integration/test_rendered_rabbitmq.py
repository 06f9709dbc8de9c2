"""RabbitMQ from the synthesized ``conf.d``, plugin list and definitions secret (``rendered_servers``).

The healthcheck passes, the admin from the secret logs in and ``guest`` does not, Prometheus answers,
settings read back as rendered and the memory alarm is sized from the service's limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.rendered_servers import NO_PROXY, RunningRabbit, rabbitmq_server

pytestmark = pytest.mark.integration

FRESH_NODE_NOTICE = "rebuilding indices from scratch"
"""RabbitMQ 3.10 warns that a new vhost's empty message store has no index yet; no setting of ours."""


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def rabbit(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningRabbit]:
    environment: str = request.param
    work = tmp_path_factory.mktemp(f"rabbitmq-{environment}")
    with rabbitmq_server(synth_stacks(environment), environment, work) as server:
        yield server


def test_healthcheck_passes(rabbit: RunningRabbit) -> None:
    tool, *args = rabbit.rendered.healthcheck_argv()
    assert tool == "rabbitmq-diagnostics"
    result = rabbit.cli(tool, *args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_admin_from_the_secret_logs_in_and_guest_does_not(rabbit: RunningRabbit) -> None:
    username, password = rabbit.login()
    assert password == rabbit.rendered.value_of("read-infrastructure-rabbitmq_")
    status, body = rabbit.management("/api/whoami", username, password)
    assert status == 200
    assert isinstance(body, dict)
    assert body["name"] == username
    assert "administrator" in str(body["tags"])
    assert rabbit.management("/api/whoami", username, "not-the-password")[0] == 401
    assert rabbit.management("/api/whoami", "guest", "guest")[0] == 401


def test_prometheus_endpoint_answers_without_credentials(rabbit: RunningRabbit) -> None:
    with NO_PROXY.open(f"http://127.0.0.1:{rabbit.prometheus_port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert b"rabbitmq_build_info" in response.read()


def _evaluate(rabbit: RunningRabbit, expression: str) -> str:
    result = rabbit.cli("rabbitmqctl", "-q", "eval", expression)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_memory_alarm_is_sized_from_the_container_limit(rabbit: RunningRabbit) -> None:
    limit = rabbit.rendered.memory_limit_bytes
    assert limit is not None
    assert _evaluate(rabbit, "vm_memory_monitor:get_total_memory().") == str(limit)
    assert _evaluate(rabbit, "vm_memory_monitor:get_memory_limit().") == str(int(limit * 0.6))


def test_settings_read_back_as_rendered(rabbit: RunningRabbit) -> None:
    assert _evaluate(rabbit, "application:get_env(rabbit, heartbeat).") == "{ok,60}"
    assert _evaluate(rabbit, "application:get_env(rabbit, disk_free_limit).") == '{ok,"1GB"}'
    assert _evaluate(rabbit, "application:get_env(rabbit, loopback_users).") == '{ok,[<<"guest">>]}'


def test_no_warnings_or_errors_while_booting(rabbit: RunningRabbit) -> None:
    """Boot only: the other tests' deliberately wrong logins are logged as warnings afterwards."""
    boot, complete, _ = rabbit.server.output().partition("Server startup complete")
    assert complete, "RabbitMQ never logged that its startup completed"
    problems = [
        line
        for line in boot.splitlines()
        if any(level in line for level in ("[warning]", "[error]", "[critical]"))
        and FRESH_NODE_NOTICE not in line
    ]
    assert problems == [], "\n".join(problems)
