"""``sprocket-infra verify`` against real servers: Traefik fed the synthesized labels, OpenBao, TLS.

Traefik runs the static config layer1 ships (``traefik_harness``) and reads the synthesized services from
the Docker API stand-in; one platform service is left out of what Traefik sees, so the stacks expect a
route that is missing. The checks must pass for every other host (open routes reach their backend, routes
behind forward-auth answer 401 without a session, the TCP router completes its TLS handshake) and fail for
the missing one. Vault is a real OpenBao: unsealed passes, sealed and uninitialized fail. The Swarm check
reads the same stand-in through the Docker API client, once with every task running and once with one
service's task gone (0/1). Certificates come from a TLS server on loopback with certificates made by
``openssl``: valid, about to expire, and untrusted.
"""

from __future__ import annotations

import copy
import dataclasses
import http.server
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from sprocket_infra.app import load_inputs
from sprocket_infra.cli import ALERT_WEBHOOK_SECRET
from sprocket_infra.cli import app as cli_app
from sprocket_infra.ops.alert_webhook import alert_payload
from sprocket_infra.ops.docker_api import DockerClient
from sprocket_infra.ops.expected import Expected, ExpectedService, expected_state
from sprocket_infra.ops.probes import Target
from sprocket_infra.ops.results import CheckResult, Outcome, VerifyReport
from sprocket_infra.ops.verify import (
    VerifyOptions,
    gatus_checks,
    plan_checks,
    run_checks,
    swarm_checks,
    tls_check,
    vault_check,
)
from sprocket_infra.secrets.external import external_secrets
from tests.conftest import Stacks
from tests.integration.docker_api_standin import DockerApiStandin
from tests.integration.openbao import BaoNode
from tests.integration.openbao_dev import DevServer, local_client, openbao_dev_server
from tests.integration.processes import serve_in_thread, stop_served
from tests.integration.test_traefik_routing import RoutingEnv, routing_env
from tests.synthesized_swarm import SwarmModel

pytestmark = pytest.mark.integration

ENVIRONMENT = "local"
REMOVED = "local-image-generation-frontend"
"""The platform service Traefik is not shown: its route is the one the stacks expect and nobody serves."""


def _without_service(stacks: Stacks, service: str) -> Stacks:
    trimmed = copy.deepcopy(stacks)
    resources = trimmed["platform"]["resource"]["docker_service"]
    (logical_id,) = [key for key, body in resources.items() if body["name"] == service]
    del resources[logical_id]
    return trimmed


@pytest.fixture(scope="module")
def expected() -> Expected:
    inputs = load_inputs(ENVIRONMENT)
    return expected_state(inputs.environment, inputs.catalog)


@pytest.fixture(scope="module")
def traefik(synth_stacks: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutingEnv]:
    stacks = _without_service(synth_stacks(ENVIRONMENT), REMOVED)
    with routing_env(ENVIRONMENT, stacks, tmp_path_factory.mktemp("verify-traefik")) as running:
        yield running


def _options(env: RoutingEnv, **overrides: Any) -> VerifyOptions:
    """Verify options that send every routed request to the test's Traefik entrypoints."""
    ports = env.static.entrypoint_ports
    return VerifyOptions(
        http_connect=Target(host="127.0.0.1", port=ports["web"]),
        https_connect=Target(host="127.0.0.1", port=ports["websecure"]),
        **overrides,
    )


def _by_name(report: VerifyReport, kind: str) -> dict[str, CheckResult]:
    return {result.name: result for result in report.results if result.kind == kind}


def test_routes_pass_through_traefik_and_the_missing_one_fails(
    traefik: RoutingEnv, expected: Expected
) -> None:
    options = _options(traefik, skip=frozenset({"vault", "swarm", "gatus"}), timeout_s=5)
    report = run_checks(ENVIRONMENT, plan_checks(expected, options))
    routes = _by_name(report, "route")
    assert set(routes) == {f"{r.host}{r.path if r.path != '/' else ''}" for r in expected.routes}
    missing = [r.host for r in expected.routes if r.router == REMOVED]
    assert missing, f"{REMOVED} has no route in the stacks any more; pick another service"
    failed = {name: result.detail for name, result in routes.items() if result.failed}
    assert failed == dict.fromkeys(missing, "404: Traefik has no router")
    assert not report.ok
    for route in expected.routes:
        if route.router == REMOVED:
            continue
        result = routes[f"{route.host}{route.path if route.path != '/' else ''}"]
        if route.tcp:
            assert result.detail == "TLS handshake (TCP router)"
        elif route.auth:
            assert result.data["status"] == 401, result
        else:
            assert result.data["status"] == 200, result


def test_auth_route_served_without_a_session_fails(traefik: RoutingEnv, expected: Expected) -> None:
    """A route the stacks put behind forward-auth, served to anyone, is a failure: here an open route is
    presented to the check as if it were protected."""
    (open_route,) = [r for r in expected.routes if r.router == "local-core"]
    protected = dataclasses.replace(expected, routes=(dataclasses.replace(open_route, auth=True),))
    options = _options(traefik, skip=frozenset({"vault", "swarm", "gatus"}))
    (result,) = run_checks(ENVIRONMENT, plan_checks(protected, options)).results
    assert result.failed
    assert result.detail.startswith("200 (served without a session)")


def test_cli_reports_json_and_exits_1_on_the_missing_route(traefik: RoutingEnv, server: DevServer) -> None:
    ports = traefik.static.entrypoint_ports
    result = CliRunner().invoke(
        cli_app,
        [
            "verify",
            "--env",
            ENVIRONMENT,
            "--json",
            "--http-connect",
            f"127.0.0.1:{ports['web']}",
            "--https-connect",
            f"127.0.0.1:{ports['websecure']}",
            "--vault-addr",
            server.addr,
            "--skip",
            "swarm,gatus",
        ],
    )
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False
    outcomes = {(check["kind"], check["outcome"]) for check in document["checks"]}
    assert ("vault", "ok") in outcomes
    failed = [check["name"] for check in document["checks"] if check["outcome"] == "fail"]
    assert failed == ["image-generation.localhost"]


# -- Vault ------------------------------------------------------------------------------------------


def test_vault_unsealed_passes(server: DevServer, expected: Expected) -> None:
    result = _vault_result(server.addr, expected)
    assert result.outcome is Outcome.OK, result
    assert result.data["initialized"] is True


def _all_but(kind: str) -> frozenset[str]:
    return frozenset({"route", "tls", "vault", "swarm", "gatus"} - {kind})


def _vault_result(addr: str, expected: Expected) -> CheckResult:
    (check,) = plan_checks(expected, VerifyOptions(vault_addr=addr, skip=_all_but("vault")))
    (result,) = check.run()
    return result


def test_vault_sealed_fails(tmp_path: Path, expected: Expected) -> None:
    """An OpenBao sealed by its root token: what a restart without the unseal step leaves."""
    with openbao_dev_server(tmp_path) as dev:
        local_client(dev.addr, dev.root_token).sys.seal()
        result = _vault_result(dev.addr, expected)
    assert result.failed
    assert result.detail.startswith("sealed"), result


def test_vault_uninitialized_fails(tmp_path: Path, expected: Expected) -> None:
    node = BaoNode(tmp_path)
    process = node.server().start()
    try:
        node.wait_answering()
        result = _vault_result(node.addr, expected)
    finally:
        process.stop()
    assert result.failed
    assert result.detail == "not initialized"


def test_vault_unreachable_fails_within_the_timeout(expected: Expected) -> None:
    result = vault_check("http://127.0.0.1:9", _reach(expected, VerifyOptions(timeout_s=2)))
    assert result.failed
    assert result.detail.startswith("unreachable")


def _reach(expected: Expected, options: VerifyOptions) -> Any:
    from sprocket_infra.ops.verify import _Reach

    return _Reach(expected, options)


# -- Swarm ------------------------------------------------------------------------------------------


class _StoppedService(DockerApiStandin):
    """The stand-in with one service's task gone: Swarm lists the service, nothing runs for it."""

    def __init__(self, model: SwarmModel, stopped: str) -> None:
        super().__init__(model)
        self.stopped = stopped

    def task_objects(self, filters: dict[str, set[str]]) -> list[dict[str, Any]]:
        tasks = super().task_objects(filters)
        stopped_id = next(
            service["ID"] for service in self.service_objects() if service["Spec"]["Name"] == self.stopped
        )
        return [task for task in tasks if task["ServiceID"] != stopped_id]


def test_swarm_every_declared_service_runs(traefik: RoutingEnv, expected: Expected) -> None:
    declared = [s for s in expected.services if s.name != REMOVED]
    results = swarm_checks(declared, DockerClient(host=traefik.standin.endpoint, timeout_s=5))
    assert [r for r in results if r.failed] == []
    assert {r.name for r in results} == {s.name for s in declared}


def test_swarm_service_at_zero_of_one_and_a_missing_one_fail(traefik: RoutingEnv, expected: Expected) -> None:
    stopped = "vault"
    with _StoppedService(traefik.model, stopped).serving() as standin:
        results = swarm_checks(expected.services, DockerClient(host=standin.endpoint, timeout_s=5))
    failed = {r.name: r.detail for r in results if r.failed}
    assert failed == {stopped: "0/1 running", REMOVED: "not deployed"}


def test_swarm_unreachable_docker_is_one_failure() -> None:
    service = ExpectedService(stack="layer1", name="traefik", replicas=1)
    (result,) = swarm_checks([service], DockerClient(host="tcp://127.0.0.1:9", timeout_s=2))
    assert result.failed
    assert "Docker API at tcp://127.0.0.1:9" in result.detail


# -- Gatus (stand-in: Gatus cannot be built here, its module is refused by the Go proxy) ---------------


class _GatusApi(http.server.BaseHTTPRequestHandler):
    """Serves a fixed ``/api/v1/endpoints/statuses`` in the shape Gatus 5 answers with (results oldest
    first, each with ``success`` and its ``conditionResults``), or a 401 like our forward-auth."""

    statuses: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_GET(self) -> None:
        payload = json.dumps(self.statuses).encode() if self.status == 200 else b"login"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


def _result(success: bool, at: str) -> dict[str, Any]:
    return {
        "status": 200 if success else 502,
        "success": success,
        "timestamp": at,
        "conditionResults": [{"condition": "[STATUS] == any(200, 401)", "success": success}],
    }


@pytest.mark.parametrize("status", [200, 401])
def test_gatus_view_reports_down_endpoints_or_skips_behind_auth(status: int, expected: Expected) -> None:
    statuses = [
        {"name": "api.localhost", "group": "platform", "results": [_result(True, "2026-01-01T00:00:00Z")]},
        {
            "name": "grafana.localhost",
            "group": "layer2",
            "results": [_result(True, "2026-01-01T00:00:00Z"), _result(False, "2026-01-01T00:01:00Z")],
        },
        {"name": "new.localhost", "group": "platform", "results": []},
    ]
    handler = type("Handler", (_GatusApi,), {"statuses": statuses, "status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = serve_in_thread(server, "gatus-standin")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        results = gatus_checks(url, _reach(expected, VerifyOptions(timeout_s=5)))
    finally:
        stop_served(server, thread)
    if status == 401:
        assert [r.outcome for r in results] == [Outcome.SKIP]
        return
    outcomes = {r.name: (r.outcome, r.detail) for r in results}
    assert outcomes == {
        "platform/api.localhost": (Outcome.OK, "up"),
        "layer2/grafana.localhost": (Outcome.FAIL, "[STATUS] == any(200, 401)"),
        "platform/new.localhost": (Outcome.SKIP, "no result yet"),
    }


# -- TLS --------------------------------------------------------------------------------------------

HOST = "secure.sprocket.test"


def _certificate(workdir: Path, days: int) -> Path:
    """A self-signed certificate for ``HOST`` valid for ``days`` (key and certificate in one PEM)."""
    pem = workdir / f"cert-{days}.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
            "-days", str(days), "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
            "-keyout", str(pem), "-out", str(workdir / f"only-cert-{days}.pem"),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    pem.write_text(pem.read_text() + (workdir / f"only-cert-{days}.pem").read_text())
    return pem


class _TlsServer:
    def __init__(self, pem: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GatusApi)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Target:
        self.thread = serve_in_thread(self.server, "tls-server")
        return Target(host="127.0.0.1", port=self.server.server_address[1])

    def __exit__(self, *exc: object) -> None:
        stop_served(self.server, self.thread)


@pytest.mark.parametrize(("days", "trust", "outcome", "detail"), [
    (90, True, Outcome.OK, "valid, 90 days left"),
    (5, True, Outcome.FAIL, "expires in 5.0 days (< 14): renewal is failing"),
    (90, False, Outcome.FAIL, "not trusted: self-signed certificate"),
])  # fmt: skip
def test_certificate_validity_and_days_to_expiry(
    tmp_path: Path, expected: Expected, days: int, trust: bool, outcome: Outcome, detail: str
) -> None:
    pem = _certificate(tmp_path, days)
    with _TlsServer(pem) as target:
        routed = Expected(**{**expected.__dict__, "tls": True})
        options = VerifyOptions(https_connect=target, ca_file=str(pem) if trust else None, timeout_s=5)
        reach = _reach(Expected(**{**routed.__dict__, "routes": (*routed.routes, _route(HOST))}), options)
        result = tls_check(HOST, reach, options, datetime.now(tz=UTC))
    assert (result.outcome, result.detail) == (outcome, detail)


def _route(host: str) -> Any:
    from sprocket_infra.ops.expected import ExpectedRoute

    return ExpectedRoute(stack="platform", router="secure", host=host, path="/", tcp=False, auth=False)


# -- alerting ---------------------------------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on 127.0.0.1 that records every posted JSON body (Discord answers 204)."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


def test_failing_verify_fires_the_webhook_read_from_vault(traefik: RoutingEnv, server: DevServer) -> None:
    """The webhook URL lives in Vault where the secrets bootstrap puts Gatus's; verify reads it, runs, and
    posts the failing check (the missing route) to it. Neither the URL nor the token is printed."""

    class Handler(_Receiver):
        received: ClassVar[list[dict[str, Any]]] = []

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = serve_in_thread(receiver, "webhook-receiver")
    url = f"http://127.0.0.1:{receiver.server_address[1]}/api/webhooks/1/secret-token"
    ref = external_secrets(load_inputs(ENVIRONMENT).environment)[ALERT_WEBHOOK_SECRET]
    client = local_client(server.addr, server.root_token)
    if f"{ref.mount.path}/" not in client.sys.list_mounted_secrets_engines()["data"]:
        client.sys.enable_secrets_engine("kv", path=ref.mount.path, options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret(
        path=ref.path, secret={ref.key: url}, mount_point=ref.mount.path
    )
    ports = traefik.static.entrypoint_ports
    try:
        result = CliRunner().invoke(
            cli_app,
            ["verify", "--env", ENVIRONMENT, "--alert", "--vault-addr", server.addr,
             "--vault-token", server.root_token, "--http-connect", f"127.0.0.1:{ports['web']}",
             "--https-connect", f"127.0.0.1:{ports['websecure']}", "--skip", "swarm,gatus"],
        )  # fmt: skip
    finally:
        stop_served(receiver, thread)
    assert result.exit_code == 1, result.output
    assert url not in result.output
    assert server.root_token not in result.output
    (alert,) = Handler.received
    assert alert["content"].startswith(f"**sprocket-infra verify {ENVIRONMENT}: 1 check(s) failing**")
    assert "- route `image-generation.localhost`: 404: Traefik has no router" in alert["content"]


def test_alert_lists_what_fits_in_one_discord_message() -> None:
    results = tuple(
        CheckResult(kind="swarm", name=f"service-{index}", outcome=Outcome.FAIL, detail="0/1 running")
        for index in range(200)
    )
    content = alert_payload(VerifyReport(environment="prod", results=results))["content"]
    assert len(content) <= 2000
    assert content.endswith("more")
    shown = content.count("\n- ")
    assert content.endswith(f"... and {200 - shown} more")
