"""``sprocket-infra verify``: is the environment that is running the one the stacks describe?

Five kinds of check, each a plain function returning :class:`CheckResult` values, run concurrently
with a timeout on every network operation:

* ``route``: every host of every router answers through Traefik. Open routes must reach a backend
  (anything but 404, which is Traefik's "no router", and 5xx, a dead or missing backend); routes behind
  forward-auth must refuse or redirect a request without a session (401/403 or a 302/303/307 to the
  login) and never serve it. TCP routers must complete a TLS handshake for their SNI name.
* ``tls``: where the environment issues certificates, each named host's certificate verifies against the
  system CAs and the host name, and expires no sooner than ``min_cert_days``.
* ``vault``: ``sys/seal-status`` says initialized and unsealed.
* ``swarm``: every service the stacks declare exists and runs its desired task count.
* ``gatus``: Gatus's own latest result per endpoint; skipped (not failed) when Gatus answers with its
  forward-auth challenge, since a status check has no staff session.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from sprocket_infra.ops.docker_api import DockerApiError, DockerClient
from sprocket_infra.ops.expected import Expected, ExpectedRoute, ExpectedService
from sprocket_infra.ops.probes import Target, certificate, http_get, tls_handshake
from sprocket_infra.ops.results import CheckResult, Outcome, VerifyReport
from sprocket_infra.routing import is_ip

KINDS = ("route", "tls", "vault", "swarm", "gatus")
AUTH_CHALLENGES = frozenset({401, 403, 302, 303, 307})
"""What forward-auth answers without a session: a refusal, or a redirect to the Discord login."""
NO_ROUTER = 404
GATUS_STATUSES = "/api/v1/endpoints/statuses"


@dataclass(frozen=True, kw_only=True)
class VerifyOptions:
    http_connect: Target | None = None
    """Where plain-HTTP requests go (Traefik's ``web`` entrypoint). Left out: each host on port 80."""
    https_connect: Target | None = None
    """Where TLS connections go (``websecure``). Left out: each host on port 443."""
    vault_addr: str | None = None
    """Vault's API address. Left out: its public URL, through Traefik like any route."""
    gatus_url: str | None = None
    """Gatus reached directly (e.g. an SSH tunnel). Left out: its public URL, which asks for a session."""
    docker: DockerClient | None = None
    """The Swarm manager's Engine API. Left out: the swarm check fails, saying so."""
    timeout_s: float = 10.0
    """Bound on each connect, read and handshake."""
    min_cert_days: float = 14.0
    """A certificate expiring sooner fails: Let's Encrypt renews 30 days before, so 14 means renewal broke."""
    ca_file: str | None = None
    """Trust these CAs instead of the system's (e.g. Let's Encrypt staging in a test environment)."""
    skip: frozenset[str] = field(default_factory=frozenset)
    workers: int = 8

    def __post_init__(self) -> None:
        unknown = sorted(self.skip - set(KINDS))
        if unknown:
            raise ValueError(f"--skip {','.join(unknown)}: expected some of {', '.join(KINDS)}")
        if self.timeout_s <= 0:
            raise ValueError(f"--timeout {self.timeout_s}: expected a positive number of seconds")


@dataclass(frozen=True, kw_only=True)
class Check:
    kind: str
    name: str
    run: Callable[[], list[CheckResult]]


class _Reach:
    """Turns a URL into a connection target: routed hosts go to the configured Traefik address."""

    def __init__(self, expected: Expected, options: VerifyOptions) -> None:
        self._routed = {route.host for route in expected.routes}
        self._options = options

    def target(self, host: str, *, tls: bool, port: int | None = None) -> Target:
        override = self._options.https_connect if tls else self._options.http_connect
        if host in self._routed and override is not None and port is None:
            return override
        if host == "localhost" or host.endswith(".localhost"):
            # RFC 6761: every *.localhost name is loopback, as browsers resolve it; many resolvers don't.
            host = "127.0.0.1"
        return Target(host=host, port=port or (443 if tls else 80))

    def get(self, url: str) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{url!r}: expected an http(s) URL")
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        answer = http_get(
            self.target(parts.hostname, tls=tls, port=parts.port),
            parts.netloc,
            path,
            tls=tls,
            timeout_s=self._options.timeout_s,
        )
        return answer.status, answer.location, answer.body


def _failure(kind: str, name: str, error: BaseException) -> CheckResult:
    reason = str(error) or type(error).__name__
    return CheckResult(kind=kind, name=name, outcome=Outcome.FAIL, detail=f"unreachable: {reason}")


def route_check(
    route: ExpectedRoute, expected: Expected, reach: _Reach, options: VerifyOptions
) -> CheckResult:
    name = f"{route.host}{route.path if route.path != '/' else ''}"
    data: dict[str, Any] = {"router": route.router, "stack": route.stack, "auth": route.auth}
    try:
        if route.tcp:
            tls_handshake(reach.target(route.host, tls=True), route.host, timeout_s=options.timeout_s)
            return CheckResult(
                kind="route", name=name, outcome=Outcome.OK, detail="TLS handshake (TCP router)", data=data
            )
        scheme = "https" if expected.tls else "http"
        status, location, _ = reach.get(f"{scheme}://{route.host}{route.path}")
    except (OSError, ValueError) as error:
        return _failure("route", name, error)
    data["status"] = status
    if route.auth:
        if status in AUTH_CHALLENGES:
            where = f" to {location}" if location and status in {302, 303, 307} else ""
            return CheckResult(
                kind="route",
                name=name,
                outcome=Outcome.OK,
                detail=f"{status}{where} without a session",
                data=data,
            )
        served = " (served without a session)" if status < 300 else ""
        return CheckResult(
            kind="route",
            name=name,
            outcome=Outcome.FAIL,
            detail=f"{status}{served}; expected one of {sorted(AUTH_CHALLENGES)} without a session",
            data=data,
        )
    if status == NO_ROUTER:
        return CheckResult(
            kind="route", name=name, outcome=Outcome.FAIL, detail="404: Traefik has no router", data=data
        )
    if status >= 500:
        return CheckResult(
            kind="route", name=name, outcome=Outcome.FAIL, detail=f"{status}: backend down", data=data
        )
    return CheckResult(kind="route", name=name, outcome=Outcome.OK, detail=str(status), data=data)


def tls_check(host: str, reach: _Reach, options: VerifyOptions, now: datetime) -> CheckResult:
    try:
        cert = certificate(
            reach.target(host, tls=True), host, timeout_s=options.timeout_s, ca_file=options.ca_file
        )
    except (OSError, ssl.SSLError) as error:
        return _failure("tls", host, error)
    if not cert.trusted or cert.not_after is None:
        return CheckResult(kind="tls", name=host, outcome=Outcome.FAIL, detail=f"not trusted: {cert.error}")
    days = cert.days_left(now) or 0.0
    data = {"days_left": round(days, 1), "not_after": cert.not_after.isoformat()}
    if days < options.min_cert_days:
        return CheckResult(
            kind="tls",
            name=host,
            outcome=Outcome.FAIL,
            detail=f"expires in {days:.1f} days (< {options.min_cert_days:g}): renewal is failing",
            data=data,
        )
    return CheckResult(
        kind="tls", name=host, outcome=Outcome.OK, detail=f"valid, {days:.0f} days left", data=data
    )


def vault_check(address: str, reach: _Reach) -> CheckResult:
    name = address
    try:
        status, _, body = reach.get(f"{address.rstrip('/')}/v1/sys/seal-status")
        seal = json.loads(body) if status == 200 else None
    except (OSError, ValueError) as error:
        return _failure("vault", name, error)
    if not isinstance(seal, dict):
        return CheckResult(
            kind="vault", name=name, outcome=Outcome.FAIL, detail=f"seal-status answered {status}"
        )
    data = {key: seal.get(key) for key in ("initialized", "sealed", "progress", "t", "n", "version")}
    if seal.get("initialized") is not True:
        return CheckResult(kind="vault", name=name, outcome=Outcome.FAIL, detail="not initialized", data=data)
    if seal.get("sealed") is not False:
        progress = f"{seal.get('progress', 0)}/{seal.get('t', '?')} keys"
        return CheckResult(
            kind="vault", name=name, outcome=Outcome.FAIL, detail=f"sealed ({progress})", data=data
        )
    return CheckResult(
        kind="vault",
        name=name,
        outcome=Outcome.OK,
        detail=f"initialized, unsealed ({seal.get('version')})",
        data=data,
    )


def _task_counts(service: Mapping[str, Any], docker: DockerClient) -> tuple[int, int | None]:
    """(running, desired): from ``ServiceStatus`` where the engine reports it, else from the task list."""
    status = service.get("ServiceStatus")
    mode = service.get("Spec", {}).get("Mode", {})
    declared = mode.get("Replicated", {}).get("Replicas") if "Replicated" in mode else None
    if isinstance(status, dict) and "RunningTasks" in status:
        return int(status["RunningTasks"]), int(status.get("DesiredTasks", declared or 0))
    tasks = docker.tasks(str(service.get("ID")))
    running = sum(1 for task in tasks if task.get("Status", {}).get("State") == "running")
    return running, declared if declared is not None else len(tasks)


def swarm_checks(services: Iterable[ExpectedService], docker: DockerClient | None) -> list[CheckResult]:
    wanted = list(services)
    if docker is None:
        return [CheckResult(kind="swarm", name="docker", outcome=Outcome.FAIL, detail="no Docker host given")]
    try:
        deployed = {str(item.get("Spec", {}).get("Name")): item for item in docker.services()}
    except DockerApiError as error:
        return [CheckResult(kind="swarm", name=docker.host, outcome=Outcome.FAIL, detail=str(error))]
    results = []
    for service in wanted:
        found = deployed.get(service.name)
        if found is None:
            results.append(
                CheckResult(kind="swarm", name=service.name, outcome=Outcome.FAIL, detail="not deployed")
            )
            continue
        try:
            running, desired = _task_counts(found, docker)
        except DockerApiError as error:
            results.append(
                CheckResult(kind="swarm", name=service.name, outcome=Outcome.FAIL, detail=str(error))
            )
            continue
        data = {"running": running, "desired": desired, "declared": service.replicas, "stack": service.stack}
        problems = []
        if desired is not None and running < desired:
            problems.append(f"{running}/{desired} running")
        if service.replicas is not None and desired is not None and desired != service.replicas:
            problems.append(f"Swarm wants {desired}, the stacks declare {service.replicas}")
        outcome = Outcome.FAIL if problems else Outcome.OK
        detail = "; ".join(problems) if problems else f"{running}/{desired} running"
        results.append(
            CheckResult(kind="swarm", name=service.name, outcome=outcome, detail=detail, data=data)
        )
    return results


def gatus_checks(url: str, reach: _Reach) -> list[CheckResult]:
    try:
        status, _, body = reach.get(f"{url.rstrip('/')}{GATUS_STATUSES}")
    except (OSError, ValueError) as error:
        return [_failure("gatus", url, error)]
    if status in AUTH_CHALLENGES:
        return [
            CheckResult(
                kind="gatus",
                name=url,
                outcome=Outcome.SKIP,
                detail=f"{status}: behind forward-auth; pass --gatus-url to reach Gatus directly",
            )
        ]
    try:
        endpoints = json.loads(body) if status == 200 else None
    except ValueError:
        endpoints = None
    if not isinstance(endpoints, list):
        return [
            CheckResult(
                kind="gatus", name=url, outcome=Outcome.FAIL, detail=f"{GATUS_STATUSES} answered {status}"
            )
        ]
    results = []
    for endpoint in endpoints:
        name = "/".join(str(part) for part in (endpoint.get("group"), endpoint.get("name")) if part)
        history = [item for item in endpoint.get("results") or [] if isinstance(item, dict)]
        if not history:
            results.append(CheckResult(kind="gatus", name=name, outcome=Outcome.SKIP, detail="no result yet"))
            continue
        latest = max(history, key=lambda item: str(item.get("timestamp", "")))
        if latest.get("success") is True:
            results.append(CheckResult(kind="gatus", name=name, outcome=Outcome.OK, detail="up"))
            continue
        failed = [c.get("condition") for c in latest.get("conditionResults") or [] if not c.get("success")]
        errors = latest.get("errors") or []
        reason = "; ".join(str(item) for item in [*failed, *errors] if item) or "down"
        results.append(
            CheckResult(
                kind="gatus",
                name=name,
                outcome=Outcome.FAIL,
                detail=reason,
                data={"status": latest.get("status")},
            )
        )
    return results


def _single(check: Callable[..., CheckResult], *args: Any) -> list[CheckResult]:
    return [check(*args)]


def plan_checks(expected: Expected, options: VerifyOptions, *, now: datetime | None = None) -> list[Check]:
    """Every check to run, in report order; nothing touches the network until a check runs."""
    reach = _Reach(expected, options)
    moment = now or datetime.now(tz=UTC)
    checks: list[Check] = []
    if "route" not in options.skip:
        for route in expected.routes:
            checks.append(
                Check(
                    kind="route",
                    name=route.host,
                    run=partial(_single, route_check, route, expected, reach, options),
                )
            )
    if "tls" not in options.skip and expected.tls:
        hosts = sorted({route.host for route in expected.routes if not is_ip(route.host)})
        for host in hosts:
            checks.append(
                Check(kind="tls", name=host, run=partial(_single, tls_check, host, reach, options, moment))
            )
    if "vault" not in options.skip:
        address = options.vault_addr or expected.vault_url
        checks.append(Check(kind="vault", name=address, run=lambda: [vault_check(address, reach)]))
    if "swarm" not in options.skip:
        checks.append(
            Check(kind="swarm", name="services", run=lambda: swarm_checks(expected.services, options.docker))
        )
    if "gatus" not in options.skip and (options.gatus_url or expected.gatus_url):
        gatus = options.gatus_url or expected.gatus_url
        checks.append(Check(kind="gatus", name=gatus, run=lambda: gatus_checks(gatus, reach)))
    return checks


def run_checks(
    environment: str,
    checks: list[Check],
    *,
    workers: int = 8,
    on_done: Callable[[Check, list[CheckResult]], None] | None = None,
) -> VerifyReport:
    """Run ``checks`` on a bounded thread pool; results come back in plan order whatever finishes first.

    A check that raises something unforeseen becomes a failed result naming it, so one bug cannot hide
    the other results.
    """
    done: dict[int, list[CheckResult]] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="verify") as pool:
        futures = {pool.submit(check.run): index for index, check in enumerate(checks)}
        for future in as_completed(futures):
            index = futures[future]
            check = checks[index]
            try:
                results = future.result()
            except Exception as error:  # reported as a failed check, never swallowed
                results = [_failure(check.kind, check.name, error)]
            done[index] = results
            if on_done is not None:
                on_done(check, results)
    ordered = tuple(result for index in range(len(checks)) for result in done[index])
    return VerifyReport(environment=environment, results=ordered)
