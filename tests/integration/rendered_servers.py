"""Redis and RabbitMQ started from their synthesized files, for their own tests and for Telegraf's.

**Redis** from the synthesized ``redis.conf`` and its ACL users secret, as the ``redis`` service would.

Real parts: Debian's ``redis-server``/``redis-cli`` (``tools/debian-packages.txt``; 7.0 on Debian 12, while
the image pins 8.2: every directive we render exists in both). The files are the ones
``tests/rendered.py`` writes from ``cdk.tf.json``, with these adaptations only:

* ``port 6379`` -> a free port, ``bind * -::*`` -> ``bind 127.0.0.1`` (tests talk only to loopback);
* ``dir /data`` and the ``include`` of ``/run/secrets/redis-users.conf`` -> the same files under the temp
  root;
* the healthcheck's ``-p 6379`` and secret path, likewise.

The passwords are the stand-ins for the Vault values (``rendered.py`` substitutes them and evaluates the
``sha256`` the ACL lines carry).

**RabbitMQ** from the synthesized ``conf.d`` files, plugin list and definitions secret of ``rabbitmq``.

Real parts: Debian's ``rabbitmq-server`` and its CLI (``tools/debian-packages.txt``: 3.10 on Debian 12; the
image pins 4.2, so a key only 4.x knows would go unnoticed here, while every key we render exists in
both). The node reads the files ``tests/rendered.py`` writes from ``cdk.tf.json``, through
RabbitMQ's own variables for where they live (``RABBITMQ_CONFIG_FILES`` = the ``conf.d`` directory, as
the image sets it; ``RABBITMQ_ENABLED_PLUGINS_FILE``). Adaptations:

* the AMQP, management and Prometheus listeners -> free ports on 127.0.0.1;
* ``load_definitions`` -> the definitions file under the temp root;
* Erlang distribution and our own ``epmd`` -> free ports on 127.0.0.1 (the image's defaults would collide
  with anything else on this machine), a private node name, ``HOME`` (the cookie) and data directory.

The logins are the stand-ins for the Vault values ``rendered.py`` substitutes.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Stacks
from tests.integration.as_service import as_user, own_files_as_synthesized
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tests.rendered import RenderedService, extract
from tests.synth_json import services

REDIS_CONFIG = "/usr/local/etc/redis/redis.conf"
REDIS_USERS = "/run/secrets/redis-users.conf"
REDIS_PROBE_PASSWORD = "/run/secrets/redis-probe-password"
REDIS_PORT = "6379"
REDIS_START_TIMEOUT_S = 20.0
REDIS_HOST_WARNINGS = ("Memory overcommit must be enabled",)
"""Redis's warnings about the host kernel, which a container inherits from the node, not from our files."""
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
CONF_D = "/etc/rabbitmq/conf.d"
SETTINGS = f"{CONF_D}/20-sprocket.conf"
DEFINITIONS = "/etc/rabbitmq/definitions.json"
ADMIN_TAG = "administrator"
PLUGINS = "/etc/rabbitmq/enabled_plugins"
RABBITMQ_START_TIMEOUT_S = 90.0
CLI_TIMEOUT_S = 60.0
LOOPBACK_ONLY = "-kernel inet_dist_use_interface {127,0,0,1}"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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

    def cli(
        self, *command: str, user: str | None = None, password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``redis-cli`` against the server as ``user``; the password goes through ``REDISCLI_AUTH``, as in
        the probe (no ``user``: Redis's ``default``)."""
        env = {"REDISCLI_AUTH": password} if password is not None else {}
        login = ["--user", user] if user is not None else []
        return subprocess.run(
            [_redis_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port), *login, *command],
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
            check=False,
        )

    def warnings(self) -> list[str]:
        """The server's own ``WARNING`` lines so far (Redis logs them as ``<pid>:M <date> # WARNING ...``),
        leaving out those about the host kernel (:data:`REDIS_HOST_WARNINGS`)."""
        return [
            line
            for line in self.process.output().splitlines()
            if " # WARNING" in line and not any(known in line for known in REDIS_HOST_WARNINGS)
        ]


@contextmanager
def redis_server(
    stacks: Stacks, environment: str, work: Path, *, as_service: bool = False
) -> Iterator[RunningRedis]:
    """Debian's redis-server on the synthesized ``redis`` files; adaptations in the module docstring.

    ``as_service``: started as the spec's user with no capability, its files and data directory owned as
    the service's are (tests/integration/as_service.py; needs root and a ``work`` others may traverse)."""
    rendered = extract(stacks, "redis", work / "redis-root", environment=environment)
    port = free_port()
    rendered.adapt(REDIS_CONFIG, f"port {REDIS_PORT}\n", f"port {port}\n", "free port")
    rendered.adapt(REDIS_CONFIG, "bind * -::*\n", "bind 127.0.0.1\n", "loopback only")
    data = rendered.path("/data")
    data.mkdir(parents=True)
    rendered.adapt(REDIS_CONFIG, "dir /data\n", f"dir {data}\n", "volume -> temp dir")
    rendered.adapt(
        REDIS_CONFIG,
        f"include {REDIS_USERS}\n",
        f"include {rendered.files[REDIS_USERS]}\n",
        "secret -> temp file",
    )
    program, *arguments = rendered.args
    assert program == "redis-server"
    argv = [_redis_binary(program), *(str(rendered.files.get(arg, arg)) for arg in arguments)]
    if as_service:
        user = own_files_as_synthesized(
            rendered, services(stacks["layer2"])["redis"]["task_spec"]["container_spec"]
        )
        uid, gid = (int(part) for part in user.split(":"))
        os.chown(data, uid, gid)  # a new volume takes the owner of the image's /data
        argv = [*as_user(user), *argv]
    process = ServerProcess(argv=argv, log=work / "redis.log", cwd=work)
    with running(process):
        wait_until(
            lambda: not process.running() or port_open("127.0.0.1", port),
            timeout_s=REDIS_START_TIMEOUT_S,
            what="redis-server to listen",
        )
        assert process.running(), process.output()
        yield RunningRedis(rendered, process, port)


@dataclass
class RunningRabbit:
    rendered: RenderedService
    server: ServerProcess
    env: dict[str, str]
    amqp_port: int
    management_port: int
    prometheus_port: int
    run_as: tuple[str, ...] = ()
    """The prefix that runs the CLI as the service's user (``as_service``), as its healthcheck runs."""

    def cli(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, str(RABBITMQ_BIN / tool), *args],
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
            with NO_PROXY.open(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, None

    def definitions(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.rendered.text(DEFINITIONS))
        return loaded

    def users(self) -> dict[str, str]:
        """Every user in the definitions file -> its password (the stand-in values)."""
        return {user["name"]: user["password"] for user in self.definitions()["users"]}

    def login(self) -> tuple[str, str]:
        """The administrator's name and password, from the definitions file."""
        (admin,) = [user for user in self.definitions()["users"] if ADMIN_TAG in user["tags"]]
        return admin["name"], admin["password"]


def _listen(rendered: RenderedService, key: str, container_port: int) -> int:
    port = free_port()
    rendered.adapt(
        SETTINGS,
        f"{key}.tcp.port = {container_port}\n",
        f"{key}.tcp.port = {port}\n{key}.tcp.ip = 127.0.0.1\n",
        "free port on loopback",
    )
    return port


@contextmanager
def rabbitmq_server(
    stacks: Stacks, environment: str, work: Path, *, as_service: bool = False
) -> Iterator[RunningRabbit]:
    """Debian's RabbitMQ on the synthesized ``rabbitmq`` files; adaptations in the module docstring.

    ``as_service``: the node, its epmd and the CLI run as the spec's user with no capability, the files
    and the directories it writes (home with the cookie, Mnesia, logs) owned as the service's are."""
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        pytest.fail(
            "rabbitmq-server is missing: install Debian's rabbitmq-server (tools/debian-packages.txt)"
        )
    rendered = extract(stacks, "rabbitmq", work / "rabbitmq-root", environment=environment)
    amqp = free_port()
    rendered.adapt(
        SETTINGS,
        "listeners.tcp.default = 5672\n",
        f"listeners.tcp.default = 127.0.0.1:{amqp}\n",
        "free port on loopback",
    )
    rendered.adapt(
        SETTINGS,
        f"load_definitions = {DEFINITIONS}\n",
        f"load_definitions = {rendered.files[DEFINITIONS]}\n",
        "secret -> temp file",
    )
    management = _listen(rendered, "management", 15672)
    prometheus = _listen(rendered, "prometheus", 15692)
    epmd_port, dist_port = free_port(), free_port()
    (work / "home").mkdir()
    (work / "rabbitmq-env.conf").write_text("")
    prefix: list[str] = []
    if as_service:
        user = own_files_as_synthesized(
            rendered, services(stacks["layer2"])["rabbitmq"]["task_spec"]["container_spec"]
        )
        uid, gid = (int(part) for part in user.split(":"))
        for directory in (work / "home", rendered.path("/var/lib/rabbitmq/mnesia"), work / "log"):
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, uid, gid)  # the volume (home, Mnesia) and the log tmpfs
        prefix = as_user(user)
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
        argv=[*prefix, "epmd", "-port", str(epmd_port), "-address", "127.0.0.1"],
        log=work / "epmd.log",
        env=env,
    )
    server = ServerProcess(
        argv=[*prefix, str(RABBITMQ_BIN / "rabbitmq-server")], log=work / "rabbitmq.log", env=env
    )
    with running(epmd), running(server):
        wait_until(
            lambda: not server.running() or port_open("127.0.0.1", amqp),
            timeout_s=RABBITMQ_START_TIMEOUT_S,
            what="RabbitMQ's AMQP listener",
        )
        assert server.running(), server.output()
        yield RunningRabbit(rendered, server, env, amqp, management, prometheus, tuple(prefix))
