"""Traefik runs the static config layer1 synthesizes, as shipped bar the adaptations named here.

Unlike ``test_traefik_routing.py`` (whose harness turns on ``api.insecure`` and rewrites the log to read
routers back), this starts the venv's ``traefik`` from the file :func:`rendered.extract` writes, so a key
Traefik rejects or warns about in *our* file shows up. Adaptations, each asserted to apply:

* ``entryPoints.*.address`` (``:80``, ``:443``, ``:8082``) -> free ports on 127.0.0.1;
* ``providers.swarm.endpoint`` (the socket proxy) -> the Docker API stand-in serving the synthesized
  services, so the dashboard router from Traefik's own labels exists;
* ACME (``lan``, ``prod``): ``caServer`` -> an unreachable loopback URL (never ask Let's Encrypt),
  ``storage`` -> the temp root (``/data`` is a volume in Swarm), and the edge policy lists a self-signed
  certificate for the dashboard's name, standing in for the one ACME would issue (strict SNI refuses a
  name with no certificate);
* ``providers.file.filename`` (the edge policy) -> its file under the temp root.

The forward-auth service is a stand-in backend on its Swarm loopback address (``http_backends``): it
approves only requests carrying the test's approval header.
"""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from sprocket_infra import naming
from sprocket_infra.config import load_environment
from sprocket_infra.constructs.traefik_proxy import DYNAMIC_CONFIG_PATH, STATIC_CONFIG_PATH
from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.docker_api_standin import DockerApiStandin
from tests.integration.http_backends import APPROVE_HEADER, APPROVE_VALUE, AUTH_VERDICT_HEADER, BackendFleet
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tests.integration.test_traefik_routing import _loopback_subnet
from tests.integration.tls_material import self_signed
from tests.integration.traefik_harness import TRAEFIK_BIN, UNREACHABLE_ACME, Response, http_request
from tests.rendered import RenderedService, extract
from tests.synthesized_swarm import build_swarm_model

pytestmark = pytest.mark.integration

STATIC = STATIC_CONFIG_PATH
CONTAINER_PORTS = {"web": 80, "websecure": 443, "ping": 8082}
DASHBOARD_ROUTER = "traefik-dashboard"
START_TIMEOUT_S = 30.0


@dataclass
class RunningTraefik:
    rendered: RenderedService
    process: ServerProcess
    ports: dict[str, int]
    dashboard_host: str
    tls: bool

    def records(self) -> list[dict[str, Any]]:
        """Traefik's JSON log lines from stdout (the shipped config sets no file); others as ``raw``."""
        found: list[dict[str, Any]] = []
        for line in self.process.output().splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                found.append({"level": "raw", "message": line})
        return found

    def dashboard(self, path: str, *, approved: bool) -> Response:
        entrypoint = "websecure" if self.tls else "web"
        headers = {APPROVE_HEADER: APPROVE_VALUE} if approved else {}
        return http_request(
            self.ports[entrypoint], self.dashboard_host, tls=self.tls, path=path, headers=headers
        )


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def traefik(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningTraefik]:
    environment: str = request.param
    stacks = synth_stacks(environment)
    work = tmp_path_factory.mktemp(f"traefik-{environment}")
    rendered = extract(stacks, "traefik", work / "root", environment=environment)
    ports = {name: free_port() for name in CONTAINER_PORTS}
    for name, port in CONTAINER_PORTS.items():
        rendered.adapt(STATIC, f"address: :{port}\n", f"address: 127.0.0.1:{ports[name]}\n", "loopback port")
    rendered.adapt(
        STATIC,
        f"filename: {DYNAMIC_CONFIG_PATH}\n",
        f"filename: {rendered.files[DYNAMIC_CONFIG_PATH]}\n",
        "temp root",
    )
    tls = load_environment(environment).routing.acme.tls
    host = naming.public_host(load_environment(environment).routing, "traefik")
    if tls:
        pair = self_signed(work, "acme-stand-in", [host])
        rendered.adapt(
            DYNAMIC_CONFIG_PATH,
            "tls:\n",
            f"tls:\n  certificates:\n  - certFile: {pair.cert}\n    keyFile: {pair.key}\n",
            "the certificate ACME would issue",
        )
        rendered.adapt(
            STATIC,
            "caServer: https://",
            f"caServer: {UNREACHABLE_ACME}  # was https://",
            "never reach Let's Encrypt",
        )
        rendered.adapt(
            STATIC,
            "storage: /data/acme.json",
            f"storage: {rendered.path('/data/acme.json')}",
            "volume -> temp dir",
        )
        rendered.path("/data").mkdir(parents=True)
    model = build_swarm_model(stacks, _loopback_subnet())
    standin = DockerApiStandin(model)
    fleet = BackendFleet.for_model(model)
    with ExitStack() as stack:
        stack.enter_context(standin.serving())
        stack.enter_context(fleet.running())
        rendered.adapt(
            STATIC,
            "endpoint: tcp://docker-socket-proxy:2375",
            f"endpoint: {standin.endpoint}",
            "Docker API stand-in",
        )
        argv = [
            str(TRAEFIK_BIN),
            *(arg.replace(STATIC, str(rendered.files[STATIC])) for arg in rendered.args),
        ]
        process = stack.enter_context(running(ServerProcess(argv=argv, log=work / "traefik.log", cwd=work)))
        wait_until(
            lambda: (
                not process.running()
                or (port_open("127.0.0.1", ports["ping"]) and standin.provider_settled())
            ),
            timeout_s=START_TIMEOUT_S,
            what="Traefik's ping entrypoint and a full read of the Docker API stand-in",
        )
        assert process.running(), process.output()
        running_traefik = RunningTraefik(rendered, process, ports, host, tls)
        wait_until(
            lambda: running_traefik.dashboard("/api/version", approved=True).status == 200,
            timeout_s=START_TIMEOUT_S,
            what=f"the {DASHBOARD_ROUTER} router to answer",
        )
        yield running_traefik


def test_its_own_healthcheck_passes(traefik: RunningTraefik) -> None:
    tool, *args = traefik.rendered.healthcheck_argv()
    assert tool == "traefik"
    argv = [str(TRAEFIK_BIN), *(arg.replace(STATIC, str(traefik.rendered.files[STATIC])) for arg in args)]
    assert argv[1:] != args, "the healthcheck no longer reads the static config this test adapted"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_answers_only_through_its_authenticated_router(traefik: RunningTraefik) -> None:
    approved = traefik.dashboard("/api/version", approved=True)
    assert approved.status == 200
    assert "Version" in approved.json()
    denied = traefik.dashboard("/api/version", approved=False)
    assert denied.status == 401
    assert denied.headers.get(AUTH_VERDICT_HEADER.lower()) == "denied"
    for name, port in traefik.ports.items():
        tls = traefik.tls and name == "websecure"
        # No api.insecure: the API is no entrypoint's catch-all, whatever Host is asked for.
        redirected = traefik.tls and name == "web"  # the entrypoint-level redirect answers first
        expected = 301 if redirected else 404
        if tls and load_environment(traefik.rendered.environment).routing.edge.sni_strict:
            # Strict SNI: a client naming no certificate's host (here an IP, so no SNI) gets no session.
            with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
                http_request(port, "127.0.0.1", tls=tls, path="/api/version")
            continue
        assert http_request(port, "127.0.0.1", tls=tls, path="/api/version").status == expected, name


def test_encoded_nul_and_backslash_are_refused_and_slash_passes(traefik: RunningTraefik) -> None:
    assert traefik.dashboard("/api/version%00", approved=True).status == 400
    assert traefik.dashboard("/api/version%5C", approved=True).status == 400
    assert traefik.dashboard("/api/http/routers/a%2Fb", approved=True).status != 400


def test_no_warning_or_error_in_its_log(traefik: RunningTraefik) -> None:
    # The unreachable ACME CA is this test's adaptation: certificate requests fail with that URL named.
    problems = [
        record
        for record in traefik.records()
        if record.get("level") not in {"info", "debug"} and record.get("acmeCA") != UNREACHABLE_ACME
    ]
    assert problems == [], "\n".join(json.dumps(record) for record in problems)
