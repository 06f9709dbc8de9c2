"""Tiny stand-ins for the routed services, each on its own loopback address and its real port.

Each HTTP backend answers every request with JSON naming the Swarm service it stands for, so a test can
tell *which* backend Traefik chose, not merely that something answered. The same server can also play a
forward-auth endpoint on given paths: it approves (200) a request whose forwarded headers carry
``X-Test-Approve: yes`` and rejects it (401) otherwise; Traefik's forwardAuth middleware copies the client's
headers onto that sub-request, so the test controls the verdict from the client side. TCP backends greet
every connection with the service name for the same reason.

All servers run in daemon threads of the test process, bind only to 127.0.0.0/8 and are shut down with a
bounded wait.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.integration.processes import serve_in_thread, stop_served
from tests.synthesized_swarm import SwarmModel

"""How often a server thread checks for shutdown: the default 0.5 s per server adds up at teardown."""
APPROVE_HEADER = "X-Test-Approve"
APPROVE_VALUE = "yes"
AUTH_VERDICT_HEADER = "X-Test-Auth-Verdict"
"""Set on forward-auth answers, so a test can see the stand-in auth server (not a backend) decided."""


@dataclass
class HttpBackend:
    """One HTTP server on ``address:port`` answering for ``service``."""

    service: str
    address: str
    port: int
    auth_paths: set[str] = field(default_factory=set)
    seen: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def _respond(self) -> None:
                path = urlsplit(self.path).path
                headers = {key.lower(): value for key, value in self.headers.items()}
                is_auth = path in backend.auth_paths
                backend.seen.append({"path": self.path, "headers": headers, "auth": is_auth})
                if is_auth:
                    approved = headers.get(APPROVE_HEADER.lower()) == APPROVE_VALUE
                    status, body = (200, {"auth": "approved"}) if approved else (401, {"auth": "denied"})
                else:
                    status, body = 200, {"service": backend.service, "port": backend.port, "path": self.path}
                    body["host"] = headers.get("host", "")
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                # A banner like real backends send (``Server`` comes from http.server): Traefik strips both.
                self.send_header("X-Powered-By", "sprocket-test-backend")
                if is_auth:
                    self.send_header(AUTH_VERDICT_HEADER, body["auth"])
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _respond  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Silenced: ``seen`` records every request."""

        return Handler

    def start(self) -> HttpBackend:
        self._server = ThreadingHTTPServer((self.address, self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = serve_in_thread(self._server, f"http-{self.service}-{self.port}")
        return self

    def stop(self) -> None:
        stop_served(self._server, self._thread)


class _Greeter(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _TcpServer = self.server  # type: ignore[assignment]
        self.request.sendall(f"{server.service}\n".encode())


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    service = ""


@dataclass
class TcpBackend:
    """A TCP server on ``address:port`` that writes ``<service>\\n`` to every connection, then closes."""

    service: str
    address: str
    port: int
    _server: _TcpServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> TcpBackend:
        self._server = _TcpServer((self.address, self.port), _Greeter)
        self._server.service = self.service
        self._thread = serve_in_thread(self._server, f"tcp-{self.service}-{self.port}")
        return self

    def stop(self) -> None:
        stop_served(self._server, self._thread)


@dataclass
class BackendFleet:
    """Every backend a model needs, keyed by ``(address, port)``."""

    http: dict[tuple[str, int], HttpBackend]
    tcp: dict[tuple[str, int], TcpBackend]

    @classmethod
    def for_model(cls, model: SwarmModel) -> BackendFleet:
        """One HTTP backend per routed HTTP service port, one TCP backend per TCP service port, and the
        forward-auth endpoints the middlewares call (merged into the HTTP backend when a service is both)."""
        http: dict[tuple[str, int], HttpBackend] = {}
        tcp: dict[tuple[str, int], TcpBackend] = {}
        for svc in model.routed():
            labels = svc.traefik
            for port in labels.http_service_ports.values():
                http.setdefault((svc.address, port), HttpBackend(svc.name, svc.address, port))
            for port in labels.tcp_service_ports.values():
                tcp.setdefault((svc.address, port), TcpBackend(svc.name, svc.address, port))
        for svc in model.routed():
            for address in svc.traefik.forwardauth_addresses.values():
                parts = urlsplit(address)
                target = model.by_host(parts.hostname or "")
                if target is None:
                    continue  # reported by SwarmModel.topology_problems(); nothing local can answer it
                port = parts.port or (443 if parts.scheme == "https" else 80)
                backend = http.setdefault(
                    (target.address, port), HttpBackend(target.name, target.address, port)
                )
                backend.auth_paths.add(parts.path or "/")
        return cls(http=http, tcp=tcp)

    def auth_backend(self, model: SwarmModel, address: str) -> HttpBackend:
        """The backend answering forward-auth calls to the (synthesized, not rewritten) ``address``."""
        parts = urlsplit(address)
        target = model.by_host(parts.hostname or "")
        assert target is not None, f"forward-auth host of {address} is not a service"
        return self.http[(target.address, parts.port or (443 if parts.scheme == "https" else 80))]

    @contextmanager
    def running(self) -> Iterator[BackendFleet]:
        with ExitStack() as stack:
            for backend in [*self.http.values(), *self.tcp.values()]:
                backend.start()
                stack.callback(backend.stop)
            yield self
