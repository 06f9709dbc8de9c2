"""Telegraf, built at the image's version, runs the synthesized ``telegraf.conf`` and ``telegraf.d``.

Real parts: ``telegraf`` 1.40.1 (the ``telegraf:1.40.1-alpine`` pin) built from the Go module proxy by
``make e2e-tools`` with only the plugins we configure; Redis and RabbitMQ from their own synthesized files
(``rendered_servers``), so the Redis password Telegraf sends is checked by Redis itself.

Stand-ins, for what cannot run here: InfluxDB (its 1.x write API: records each write, answers 204) and
the monitoring socket proxy (the few Engine API calls the ``docker`` input makes, answering an empty
node). Adaptations, each asserted to apply:

* every address Telegraf reads from or writes to -> the local server or stand-in on 127.0.0.1;
* ``secretstores.docker`` gets ``path`` = the temp root's ``/run/secrets`` (Docker's mount point);
* the service's env: ``NODE_HOSTNAME`` is a Swarm template Swarm fills per node -> a literal; the host
  paths bound under ``/hostfs`` -> this machine's ``/proc`` and ``/sys`` (the only host paths the service
  binds); ``HOST_PROC_MOUNTINFO`` (the process's own mount table) stays as it is;
* ``inputs.disk``'s one mount point, Telegraf's empty volume at ``/docker-volumes`` -> ``/``: this
  machine's mount table has no such volume, and its root filesystem stands in for the one that holds it;
* container paths in the args -> temp paths;
* when the test runs as root (as here), Telegraf runs as the synthesized ``user`` with every capability
  dropped (``setpriv``: what Docker does with ``user`` and ``cap_drop: ALL``), and its secret files are
  owned and moded as synthesized (``file_uid``/``file_gid``/``file_mode``), so it proves that the narrowed
  host paths are readable without privileges and that the 0400 files are readable by their owner. The
  files live in a temp directory others may traverse (pytest's own is 0700).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sprocket_infra import naming
from sprocket_infra.constructs.observability.telegraf import DISK_PATH
from tests.built_tools import built_tool
from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.as_service import (
    as_user,
    can_switch_user,
    identity,
    own_files_as_synthesized,
    traversable_workdir,
)
from tests.integration.processes import (
    ServerProcess,
    free_port,
    port_open,
    running,
    serve_in_thread,
    stop_served,
    wait_until,
)
from tests.integration.rendered_servers import rabbitmq_server, redis_server
from tests.rendered import RenderedService, extract
from tests.synth_json import services

# The Telegraf binary is built by `make e2e-tools`, so this runs with the real deploy in `make e2e`.
pytestmark = [pytest.mark.integration, pytest.mark.e2e]

MAIN = "/etc/telegraf/telegraf.conf"
REDIS_INPUT = "/etc/telegraf/telegraf.d/redis.conf"
RUN_TIMEOUT_S = 120.0
HOST_ONLY_WARNINGS = ("Unable to gather disk name",)
"""``inputs.diskio`` reads the udev database under ``$HOST_MOUNT_PREFIX/run/udev``; a Swarm node has one,
this test machine has none. Nothing in our files decides it."""


@dataclass
class Recorder:
    """A tiny HTTP server on 127.0.0.1 answering with ``answer(path)`` and remembering every request."""

    answer: Callable[[str], tuple[int, dict[str, str], bytes]]
    seen: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @contextmanager
    def serving(self) -> Iterator[Recorder]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                body = self._body()
                if self.headers.get("Content-Encoding") == "gzip":  # the influxdb output's default
                    body = gzip.decompress(body)
                recorder.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {key.lower(): value for key, value in self.headers.items()},
                        "body": body,
                    }
                )
                status, headers, body = recorder.answer(urlsplit(self.path).path)
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                """The request body, whether sized or chunked (Telegraf streams its gzip writes)."""
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)

            do_GET = do_POST = do_HEAD = _respond  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are in ``seen``; stderr stays quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = serve_in_thread(self._server, "telegraf-standin")
        try:
            yield self
        finally:
            stop_served(self._server, self._thread)


def influx_answer(path: str) -> tuple[int, dict[str, str], bytes]:
    """InfluxDB 1.x API as the ``influxdb`` output uses it: ``/ping`` and ``/write`` answer 204."""
    return (204, {"X-Influxdb-Version": "1.8.10"}, b"") if path in {"/ping", "/write"} else (404, {}, b"")


def docker_answer(path: str) -> tuple[int, dict[str, str], bytes]:
    """The Engine API calls of the ``docker`` input, as an empty node would answer them."""
    version = {"Api-Version": "1.47", "Content-Type": "application/json"}
    endpoint = "/" + path.lstrip("/").split("/", 1)[-1] if path.startswith("/v1.") else path
    bodies: dict[str, Any] = {
        "/_ping": "OK",
        "/version": {"ApiVersion": "1.47", "Version": "28.0.0", "MinAPIVersion": "1.24"},
        "/info": {"Name": "test-node", "ServerVersion": "28.0.0", "Containers": 0, "Images": 0},
        "/containers/json": [],
        "/services": [],
        "/tasks": [],
        "/nodes": [],
    }
    if endpoint not in bodies:
        return 404, version, b'{"message": "not in the stand-in"}'
    body = bodies[endpoint]
    return 200, version, (body.encode() if isinstance(body, str) else json.dumps(body).encode())


@dataclass
class Setup:
    rendered: RenderedService
    influx: Recorder
    docker: Recorder
    health_port: int
    redis_password: str
    run_as: str | None
    """``uid:gid`` Telegraf is started as (the synthesized user); None when the test cannot switch."""

    def argv(self, *extra: str) -> list[str]:
        program, *args = self.rendered.args
        assert program == "telegraf"
        localized = [arg.replace(MAIN, str(self.rendered.files[MAIN])) for arg in args]
        localized = [
            arg.replace("=/etc/telegraf/telegraf.d", f"={self.rendered.path('/etc/telegraf/telegraf.d')}")
            for arg in localized
        ]
        assert localized != args, "the args no longer name the files this test adapted"
        prefix = [] if self.run_as is None else as_user(self.run_as)
        return [*prefix, str(built_tool("telegraf")), *localized, *extra]

    def env(self) -> dict[str, str]:
        synthesized = self.rendered.env
        assert synthesized["NODE_HOSTNAME"] == "{{.Node.Hostname}}"
        host = {
            "/hostfs/proc": "/proc",
            "/hostfs/sys": "/sys",
            "/proc/self/mountinfo": "/proc/self/mountinfo",
        }
        return {
            **synthesized,
            "NODE_HOSTNAME": "test-node",
            **{key: host[value] for key, value in synthesized.items() if key.startswith("HOST_")},
        }


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def setup(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    environment: str = request.param
    stacks = synth_stacks(environment)
    container = services(stacks["layer2"])["telegraf"]["task_spec"]["container_spec"]
    with ExitStack() as stack:
        work = stack.enter_context(traversable_workdir(f"telegraf-{environment}-"))
        rendered = extract(stacks, "telegraf", work / "telegraf-root", environment=environment)
        redis = stack.enter_context(redis_server(stacks, environment, work))
        rabbit = stack.enter_context(rabbitmq_server(stacks, environment, work))
        influx = stack.enter_context(Recorder(influx_answer).serving())
        docker = stack.enter_context(Recorder(docker_answer).serving())
        health = free_port()
        adapt = rendered.adapt
        adapt(MAIN, '"http://influxdb:8086"', f'"http://127.0.0.1:{influx.port}"', "InfluxDB stand-in")
        adapt(MAIN, f'mount_points = ["{DISK_PATH}"]', 'mount_points = ["/"]', "Docker volume stand-in")
        adapt(MAIN, '"http://:8080"', f'"http://127.0.0.1:{health}"', "loopback port")
        adapt(
            MAIN,
            f"tcp://{naming.agent_socket_proxy('telegraf')}:2375",
            f"tcp://127.0.0.1:{docker.port}",
            "socket proxy stand-in",
        )
        adapt(MAIN, "http://rabbitmq:15692/", f"http://127.0.0.1:{rabbit.prometheus_port}/", "local RabbitMQ")
        adapt(
            MAIN,
            'id = "docker"\n',
            f'id = "docker"\n  path = "{rendered.path("/run/secrets")}"\n',
            "Docker's secret mount -> temp root",
        )
        adapt(REDIS_INPUT, "tcp://redis:6379", f"tcp://127.0.0.1:{redis.port}", "local Redis")
        run_as = own_files_as_synthesized(rendered, container) if can_switch_user() else None
        yield Setup(
            rendered,
            influx,
            docker,
            health,
            redis.rendered.value_of("read-infrastructure-redis-monitoring_"),
            run_as,
        )


@pytest.fixture(scope="module")
def once(setup: Setup) -> subprocess.CompletedProcess[str]:
    """One gather-and-flush pass (``--once``), which also writes to the InfluxDB stand-in."""
    return subprocess.run(
        setup.argv("--once"),
        env={**os.environ, **setup.env()},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def _problems(output: str) -> list[str]:
    return [
        line
        for line in output.splitlines()
        if (" W! " in line or " E! " in line) and not any(known in line for known in HOST_ONLY_WARNINGS)
    ]


def test_runs_once_without_warnings_or_errors(once: subprocess.CompletedProcess[str]) -> None:
    assert once.returncode == 0, once.stderr
    assert (
        "Loaded inputs: cpu disk diskio docker internal mem net processes prometheus redis swap system"
        in (once.stderr)
    )
    assert _problems(once.stderr) == [], "\n".join(_problems(once.stderr))


def _written(setup: Setup) -> tuple[list[dict[str, Any]], set[str]]:
    writes = [request for request in setup.influx.seen if urlsplit(request["path"]).path == "/write"]
    measurements = {
        line.split(",", 1)[0].split(" ", 1)[0]
        for request in writes
        for line in request["body"].decode().splitlines()
        if line
    }
    return writes, measurements


def test_writes_every_input_to_the_bucket_as_the_telegraf_login(
    setup: Setup, once: subprocess.CompletedProcess[str]
) -> None:
    assert once.returncode == 0, once.stderr
    writes, measurements = _written(setup)
    assert writes, "nothing was written to the InfluxDB stand-in"
    password = setup.rendered.value_of("-influx-telegraf_")
    expected = "Basic " + base64.b64encode(f"telegraf:{password}".encode()).decode()
    for request in writes:
        assert parse_qs(urlsplit(request["path"]).query)["db"] == ["metrics"]
        assert request["headers"]["authorization"] == expected
    assert {
        "cpu",
        "mem",
        "disk",
        "system",
        "docker",
        "redis",
        "prometheus",
        "internal_agent",
    } <= measurements, sorted(measurements)


def test_disk_usage_comes_only_from_the_adapted_mount_point(
    setup: Setup, once: subprocess.CompletedProcess[str]
) -> None:
    """``mount_points`` keeps the disk input to the one filesystem it is given (no host root is bound)."""
    assert once.returncode == 0, once.stderr
    writes, _ = _written(setup)
    disk_lines = [
        line
        for request in writes
        for line in request["body"].decode().splitlines()
        if line.startswith("disk,")
    ]
    assert disk_lines, "no disk measurement was written"
    paths = {
        tag.split("=", 1)[1]
        for line in disk_lines
        for tag in line.split(" ", 1)[0].split(",")[1:]
        if tag.startswith("path=")
    }
    assert paths == {"/"}, disk_lines


def test_redis_metrics_come_from_the_authenticated_server(
    setup: Setup, once: subprocess.CompletedProcess[str]
) -> None:
    """The ``redis`` measurement only exists when Redis accepted Telegraf's monitoring login (INFO only)."""
    assert once.returncode == 0, once.stderr
    assert "NOAUTH" not in once.stderr
    assert "WRONGPASS" not in once.stderr
    _, measurements = _written(setup)
    assert "redis_keyspace" in measurements or "redis" in measurements
    assert setup.rendered.text(REDIS_INPUT).count(setup.redis_password) == 1


def test_rabbitmq_metrics_come_through_prometheus(
    setup: Setup, once: subprocess.CompletedProcess[str]
) -> None:
    assert once.returncode == 0, once.stderr
    writes, _ = _written(setup)
    assert any(b"rabbitmq_" in request["body"] for request in writes)


@contextmanager
def serving(setup: Setup, tmp_path: Path) -> Iterator[ServerProcess]:
    """Telegraf running as a service (not ``--once``), yielded once its health output listens."""
    process = ServerProcess(argv=setup.argv(), log=tmp_path / "telegraf.log", env=setup.env())
    with running(process):
        wait_until(
            lambda: not process.running() or port_open("127.0.0.1", setup.health_port),
            timeout_s=RUN_TIMEOUT_S,
            what="Telegraf's health output",
        )
        assert process.running(), process.output()
        yield process


def test_runs_as_the_synthesized_user_with_no_capability(setup: Setup, tmp_path: Path) -> None:
    """The process the other tests talk to is the service's uid, with empty capability sets."""
    if setup.run_as is None:
        pytest.skip("not root: cannot start Telegraf as another user here")
    with serving(setup, tmp_path) as process:
        running_as = identity(process.pid)
    assert setup.run_as == "65534:65534"
    assert running_as.uids == (65534,) * 4
    assert running_as.gids == (65534,) * 4
    assert set(running_as.capabilities.values()) == {0}, running_as.capabilities


def test_healthcheck_passes_while_it_runs(setup: Setup, tmp_path: Path) -> None:
    with serving(setup, tmp_path) as process:
        argv = setup.rendered.healthcheck_argv()
        probe = argv[-1].replace("127.0.0.1:8080", f"127.0.0.1:{setup.health_port}")
        assert probe != argv[-1], "the probe no longer names the port this test adapts"
        result = subprocess.run([*argv[:-1], probe], capture_output=True, timeout=20, check=False)
        assert result.returncode == 0, result
    assert _problems(process.output()) == [], process.output()
