"""lan serves HTTPS with certificates its internal ACME CA issues: real Traefik, real ACME (Pebble).

Pebble, Let's Encrypt's ACME test server (built by ``make e2e-tools`` from the Go module proxy), stands in
for the LAN's own CA (step-ca or the like). It listens on 127.0.0.1 behind a certificate from a throw-away
CA made here; ``PEBBLE_VA_ALWAYS_VALID=1`` skips challenge validation (nothing could reach Traefik's
TLS-ALPN challenge on the test's loopback ports as it would on :443).

lan is synthesized with ``acme.server`` pointed at Pebble and ``acme.ca_bundle`` set to that CA, exactly
the two keys an operator sets in ``config/lan.yaml``; the harness changes only ports, storage and the
Docker API endpoint (it keeps the synthesized ``caServer``). Then Traefik must order a certificate for
every router name, and a client trusting only Pebble's root must complete a verified TLS handshake and get
the routed backend's answer over HTTPS.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sprocket_infra.config import load_environment
from tests.built_tools import built_tool
from tests.integration.processes import ServerProcess, free_port, port_open, running, wait_until
from tests.integration.test_edge_security import synth_variant
from tests.integration.test_traefik_routing import RoutingEnv, routing_env, served_names
from tests.integration.tls_material import ca_with_leaf
from tests.traefik_rules import parse_http_rule

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ISSUE_TIMEOUT_S = 120.0
"""Bound on waiting for Traefik's orders (one per router; Pebble asks clients to retry after 5 s)."""


@dataclass
class Pebble:
    directory: str
    management: int
    ca_bundle: Path
    """The CA of Pebble's own HTTPS listener (what lan's ``acme.ca_bundle`` carries)."""

    def _get(self, path: str) -> str:
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(f"https://127.0.0.1:{self.management}{path}", context=context) as reply:
            return str(reply.read().decode())

    def root(self) -> str:
        """The root that signs the certificates Pebble issues (made fresh at each Pebble start)."""
        return self._get("/roots/0")


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    work = tmp_path_factory.mktemp("pebble")
    ca, listener = ca_with_leaf(work, "pebble-listener", ["127.0.0.1", "localhost"])
    port, management = free_port(), free_port()
    config = work / "pebble.json"
    config.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{port}",
                    "managementListenAddress": f"127.0.0.1:{management}",
                    "certificate": str(listener.cert),
                    "privateKey": str(listener.key),
                    "httpPort": free_port(),
                    "tlsPort": free_port(),
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            }
        )
    )
    process = ServerProcess(
        argv=[str(built_tool("pebble")), "-config", str(config)],
        log=work / "pebble.log",
        env={"PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
        cwd=work,
    )
    with running(process):
        wait_until(
            lambda: not process.running() or port_open("127.0.0.1", port),
            timeout_s=30,
            what="Pebble's ACME listener",
        )
        assert process.running(), process.output()
        yield Pebble(f"https://127.0.0.1:{port}/dir", management, ca)


@pytest.fixture(scope="module")
def lan(pebble: Pebble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutingEnv]:
    work = tmp_path_factory.mktemp("lan-tls")
    environment = load_environment("lan")
    acme = environment.routing.acme.model_copy(
        update={"server": pebble.directory, "ca_bundle": pebble.ca_bundle.read_text()}
    )
    routing = environment.routing.model_copy(update={"acme": acme})
    stacks = synth_variant(environment.model_copy(update={"routing": routing}), work / "cdktf.out")
    (work / "traefik").mkdir()
    with routing_env("lan-pebble", stacks, work / "traefik", acme_ca_server=pebble.directory) as env:
        yield env


def _verified(root: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(root))


def test_shipped_lan_config_names_the_internal_ca_and_its_bundle(lan: RoutingEnv, pebble: Pebble) -> None:
    resolver = lan.shipped["certificatesResolvers"]["letsencrypt"]["acme"]
    assert resolver["caServer"] == pebble.directory
    bundle_path = resolver["caCertificates"][0]
    assert lan.files[bundle_path] == pebble.ca_bundle.read_bytes()


def test_traefik_obtains_certificates_from_the_internal_ca_and_serves_https(
    lan: RoutingEnv, pebble: Pebble, tmp_path: Path
) -> None:
    root = tmp_path / "pebble-root.pem"
    root.write_text(pebble.root())
    names = served_names(lan.model)
    _, router = next((svc, r) for svc, r in lan.http_routers() if r.name == "traefik-dashboard")
    dashboard = parse_http_rule(router.rule).hosts[0]
    port = lan.static.entrypoint_ports["websecure"]

    def issued(name: str) -> bool:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                _verified(root).wrap_socket(raw, server_hostname=name),
            ):
                return True
        except ssl.SSLError:
            return False

    wait_until(
        lambda: issued(dashboard), timeout_s=ISSUE_TIMEOUT_S, what=f"a Pebble certificate for {dashboard}"
    )
    wait_until(
        lambda: all(issued(name) for name in names),
        timeout_s=ISSUE_TIMEOUT_S,
        what="certificates for every name",
    )
    request = urllib.request.Request(
        f"https://{dashboard}:{port}/api/version", headers={"X-Test-Approve": "yes"}
    )
    # Resolve the name to loopback without touching DNS: open the socket ourselves through the handler.
    handler = _LoopbackHttps(_verified(root))
    with urllib.request.build_opener(handler).open(request) as reply:
        assert reply.status == 200
        assert "Version" in json.loads(reply.read())
        assert reply.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    print(f"\nedge: lan: {len(names)} of {len(names)} router names served with certificates issued by Pebble")


class _LoopbackHttps(urllib.request.HTTPSHandler):
    """HTTPS to any name, connected to 127.0.0.1: certificate checks still use the name asked for."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = self._context

        class Connection(http.client.HTTPSConnection):
            def connect(self) -> None:
                raw = socket.create_connection(("127.0.0.1", self.port or 443), timeout=10)
                self.sock = context.wrap_socket(raw, server_hostname=self.host)

        return self.do_open(Connection, req)
