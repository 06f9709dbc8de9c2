"""RabbitMQ started from the synthesized ``conf.d`` files, plugin list and admin secret of ``rabbitmq``.

Real parts: Debian's ``rabbitmq-server`` and its CLI (``tools/debian-packages.txt``: 3.10 on Debian 12; the
image pins 4.2, so a key only 4.x knows would go unnoticed here, while every key we render exists in
both). The node reads the files ``tests/integration/rendered.py`` writes from ``cdk.tf.json``, through
RabbitMQ's own variables for where they live (``RABBITMQ_CONFIG_FILES`` = the ``conf.d`` directory, as
the image sets it; ``RABBITMQ_ENABLED_PLUGINS_FILE``). Adaptations:

* the AMQP, management and Prometheus listeners -> free ports on 127.0.0.1;
* Erlang distribution and our own ``epmd`` -> free ports on 127.0.0.1 (the image's defaults would collide
  with anything else on this machine), a private node name, ``HOME`` (the cookie) and data directory.

The admin login is the stand-in for the Vault values ``rendered.py`` substitutes.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tests.integration.rendered import RenderedService, extract

pytestmark = pytest.mark.integration

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
CONF_D = "/etc/rabbitmq/conf.d"
SETTINGS = f"{CONF_D}/20-sprocket.conf"
ADMIN = f"{CONF_D}/30-admin.conf"
PLUGINS = "/etc/rabbitmq/enabled_plugins"
START_TIMEOUT_S = 90.0
CLI_TIMEOUT_S = 60.0
LOOPBACK_ONLY = "-kernel inet_dist_use_interface {127,0,0,1}"
FRESH_NODE_NOTICE = "rebuilding indices from scratch"
"""RabbitMQ 3.10 warns that a new vhost's empty message store has no index yet; no setting of ours."""
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class RunningRabbit:
    rendered: RenderedService
    server: ServerProcess
    env: dict[str, str]
    amqp_port: int
    management_port: int
    prometheus_port: int

    def cli(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RABBITMQ_BIN / tool), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )

    def management(self, path: str, username: str, password: str) -> tuple[int, object]:
        """GET on the management API with HTTP basic auth; (status, parsed body)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.management_port}{path}")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with _NO_PROXY.open(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, None

    def login(self) -> tuple[str, str]:
        settings = dict(line.split(" = ", 1) for line in self.rendered.text(ADMIN).splitlines())
        return settings["default_user"], settings["default_pass"]


def _listen(rendered: RenderedService, key: str, container_port: int) -> int:
    port = free_port()
    rendered.adapt(
        SETTINGS,
        f"{key}.tcp.port = {container_port}\n",
        f"{key}.tcp.port = {port}\n{key}.tcp.ip = 127.0.0.1\n",
        "free port on loopback",
    )
    return port


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def rabbit(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningRabbit]:
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        pytest.fail(
            "rabbitmq-server is missing: install Debian's rabbitmq-server (tools/debian-packages.txt)"
        )
    environment: str = request.param
    work = tmp_path_factory.mktemp(f"rabbitmq-{environment}")
    rendered = extract(synth_stacks(environment), "rabbitmq", work / "root", environment=environment)
    amqp = free_port()
    rendered.adapt(
        SETTINGS,
        "listeners.tcp.default = 5672\n",
        f"listeners.tcp.default = 127.0.0.1:{amqp}\n",
        "free port on loopback",
    )
    management = _listen(rendered, "management", 15672)
    prometheus = _listen(rendered, "prometheus", 15692)
    epmd_port, dist_port = free_port(), free_port()
    (work / "home").mkdir()
    (work / "rabbitmq-env.conf").write_text("")
    env = {
        "HOME": str(work / "home"),
        "RABBITMQ_NODENAME": f"sprocket-test-{amqp}@localhost",
        "RABBITMQ_CONFIG_FILES": str(rendered.path(CONF_D)),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(rendered.files[PLUGINS]),
        "RABBITMQ_CONF_ENV_FILE": str(work / "rabbitmq-env.conf"),
        "RABBITMQ_MNESIA_BASE": str(rendered.path("/var/lib/rabbitmq/mnesia")),
        "RABBITMQ_LOG_BASE": str(work / "log"),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": LOOPBACK_ONLY,
        "RABBITMQ_CTL_ERL_ARGS": LOOPBACK_ONLY,
    }
    # Our own epmd, so no daemon outlives the test: the runtime would otherwise start one and leave it.
    epmd = ServerProcess(
        argv=["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"], log=work / "epmd.log", env=env
    )
    server = ServerProcess(argv=[str(RABBITMQ_BIN / "rabbitmq-server")], log=work / "rabbitmq.log", env=env)
    with running(epmd), running(server):
        wait_until(
            lambda: not server.running() or port_open("127.0.0.1", amqp),
            timeout_s=START_TIMEOUT_S,
            what="RabbitMQ's AMQP listener",
        )
        assert server.running(), server.output()
        yield RunningRabbit(rendered, server, env, amqp, management, prometheus)


def test_healthcheck_passes(rabbit: RunningRabbit) -> None:
    tool, *args = rabbit.rendered.healthcheck_argv()
    assert tool == "rabbitmq-diagnostics"
    result = rabbit.cli(tool, *args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_admin_from_the_secret_logs_in_and_guest_does_not(rabbit: RunningRabbit) -> None:
    username, password = rabbit.login()
    assert username == rabbit.rendered.value_of('.data["username"]')
    status, body = rabbit.management("/api/whoami", username, password)
    assert status == 200
    assert isinstance(body, dict)
    assert body["name"] == username
    assert "administrator" in str(body["tags"])
    assert rabbit.management("/api/whoami", username, "not-the-password")[0] == 401
    assert rabbit.management("/api/whoami", "guest", "guest")[0] == 401


def test_prometheus_endpoint_answers_without_credentials(rabbit: RunningRabbit) -> None:
    with _NO_PROXY.open(f"http://127.0.0.1:{rabbit.prometheus_port}/metrics", timeout=10) as response:
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
