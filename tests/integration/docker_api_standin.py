"""A read-only stand-in for the Docker Engine API, serving a Swarm built from synthesized stacks.

Traefik's ``providers.swarm`` only reads a handful of endpoints: ``/_ping`` and ``/version`` (API version
negotiation), ``/services``, ``/networks`` (filtered to swarm scope) and ``/tasks`` (per service, desired
state running). Answering those from a ``SwarmModel`` lets the real Traefik binary build its dynamic
configuration from our real labels, with no Docker daemon. Every task is ``running`` and attached to the
service's networks with the service's loopback address, so the IP Traefik picks via
``traefik.swarm.network`` is where the test's backend listens. Tasks carry no ``NodeID`` so Traefik has no
reason to call ``/nodes``.

Requests the stand-in does not know are answered 404 and recorded in ``unexpected``, so a newer Traefik
asking for something new shows up in the test failure rather than as a mysteriously empty config.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.processes import serve_in_thread, stop_served
from tests.synthesized_swarm import SwarmModel, SwarmService

API_VERSION = "1.47"
"""The Engine API version we claim (Docker 27); Traefik's client negotiates down to it."""

"""How often the server thread checks for shutdown (the default 0.5 s slows every teardown)."""
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")
_CREATED = "2025-01-01T00:00:00.000000000Z"


def _object_id(kind: str, name: str) -> str:
    """A stable 25-character Swarm-style ID, so repeated polls see the same objects."""
    return hashlib.sha256(f"{kind}/{name}".encode()).hexdigest()[:25]


def _filters(query: str) -> dict[str, set[str]]:
    """Decode Docker's ``filters`` query parameter (``{"key": {"value": true}}`` or ``{"key": [..]}``)."""
    raw = parse_qs(query).get("filters", ["{}"])[0]
    decoded = json.loads(raw)
    return {key: set(values) for key, values in decoded.items()}


class DockerApiStandin:
    """Serves ``model`` over HTTP on ``host``; use ``with standin.serving(): ...``."""

    def __init__(self, model: SwarmModel, host: str = "127.0.0.1") -> None:
        self.model = model
        self.host = host
        self.requests: list[str] = []
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._last_request_at = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The value for ``providers.swarm.endpoint``."""
        assert self._server is not None, "stand-in not started"
        return f"tcp://{self.host}:{self._server.server_address[1]}"

    # -- Engine API objects -------------------------------------------------------------------------

    def network_objects(self) -> list[dict[str, Any]]:
        # The stand-in uses the network name as its ID too: Traefik matches task attachments to networks
        # by ID and then keys them by name, so one value for both keeps that lookup trivially consistent.
        return [
            {
                "Name": name,
                "Id": name,
                "Created": _CREATED,
                "Scope": "swarm",
                "Driver": "overlay",
                "EnableIPv6": False,
                "Internal": False,
                "Attachable": True,
                "Ingress": False,
                "Labels": {},
                "Options": {},
            }
            for name in self.model.networks
        ]

    def _attachments(self, svc: SwarmService) -> list[dict[str, Any]]:
        return [
            {
                "Network": {"ID": network, "Spec": {"Name": network, "Labels": {}}},
                "Addresses": [f"{svc.address}/24"],
            }
            for network in svc.networks
        ]

    def service_objects(self) -> list[dict[str, Any]]:
        objects = []
        for svc in self.model.services.values():
            mode: dict[str, Any] = {"Global": {}} if svc.global_mode else {"Replicated": {"Replicas": 1}}
            endpoint_spec = {"Mode": svc.endpoint_mode}
            # In VIP mode Swarm gives the service one virtual IP per network; the stand-in reuses the task
            # address, so routing works whether or not a service opts into traefik.swarm.lbswarm.
            virtual_ips = (
                [{"NetworkID": network, "Addr": f"{svc.address}/24"} for network in svc.networks]
                if svc.endpoint_mode == "vip"
                else []
            )
            objects.append(
                {
                    "ID": _object_id("service", svc.name),
                    "Version": {"Index": 1},
                    "CreatedAt": _CREATED,
                    "UpdatedAt": _CREATED,
                    "Spec": {
                        "Name": svc.name,
                        "Labels": self.model.served_labels(svc),
                        "TaskTemplate": {
                            "ContainerSpec": {"Image": svc.image},
                            "Networks": [{"Target": network} for network in svc.networks],
                        },
                        "Mode": mode,
                        "EndpointSpec": endpoint_spec,
                    },
                    "Endpoint": {"Spec": endpoint_spec, "VirtualIPs": virtual_ips},
                }
            )
        return objects

    def task_objects(self, filters: dict[str, set[str]]) -> list[dict[str, Any]]:
        wanted_services = filters.get("service")
        wanted_states = filters.get("desired-state")
        tasks = []
        for svc in self.model.services.values():
            service_id = _object_id("service", svc.name)
            if wanted_services is not None and not {service_id, svc.name} & wanted_services:
                continue
            if wanted_states is not None and "running" not in wanted_states:
                continue
            tasks.append(
                {
                    "ID": _object_id("task", svc.name),
                    "Version": {"Index": 1},
                    "CreatedAt": _CREATED,
                    "UpdatedAt": _CREATED,
                    "ServiceID": service_id,
                    "Slot": 1,
                    "Labels": {},
                    "Spec": {"ContainerSpec": {"Image": svc.image}},
                    "Status": {"Timestamp": _CREATED, "State": "running", "Message": "started"},
                    "DesiredState": "running",
                    "NetworksAttachments": self._attachments(svc),
                }
            )
        return tasks

    # -- HTTP plumbing ------------------------------------------------------------------------------

    def provider_settled(self, quiet_s: float = 1.0) -> bool:
        """True once Traefik has listed the services and then gone quiet for ``quiet_s``: it has asked for
        everything it needs (tasks per service follow the listing immediately) and builds its config.

        Quiescence rather than "tasks were requested for every service" because Traefik legitimately
        skips the task listing for some services (``lbswarm``, or labels it failed to parse), and a
        readiness check must not hang on exactly the configuration errors the tests want to report.
        """
        with self._lock:
            if not any(line.split("?")[0].endswith("/services") for line in self.requests):
                return False
            return time.monotonic() - self._last_request_at >= quiet_s

    def answer(self, method: str, target: str) -> tuple[HTTPStatus, Any]:
        """The status and JSON body (or ``"OK"`` text for ``/_ping``) for one request."""
        parts = urlsplit(target)
        path = _VERSION_PREFIX.sub("", parts.path).rstrip("/")
        with self._lock:
            self.requests.append(f"{method} {target}")
            self._last_request_at = time.monotonic()
        if method in {"GET", "HEAD"}:
            if path == "/_ping":
                return HTTPStatus.OK, "OK"
            if path == "/version":
                return HTTPStatus.OK, {
                    "Version": "27.5.1",
                    "ApiVersion": API_VERSION,
                    "MinAPIVersion": "1.24",
                    "Os": "linux",
                    "Arch": "amd64",
                    "KernelVersion": "6.8.0",
                    "GoVersion": "go1.22.11",
                }
            if path == "/services":
                return HTTPStatus.OK, self.service_objects()
            if path == "/networks":
                return HTTPStatus.OK, self.network_objects()
            if path == "/tasks":
                return HTTPStatus.OK, self.task_objects(_filters(parts.query))
        with self._lock:
            self.unexpected.append(f"{method} {target}")
        return HTTPStatus.NOT_FOUND, {"message": f"the Docker API stand-in does not serve {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def _respond(self) -> None:
                status, body = standin.answer(self.command, self.path)
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(body, str) else "application/json"
                )
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Api-Version", API_VERSION)
                self.send_header("Docker-Experimental", "false")
                self.send_header("Ostype", "linux")
                self.send_header("Swarm", "active/manager")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = _respond  # noqa: N815 (http.server dispatches on these names)
            do_HEAD = _respond  # noqa: N815
            do_POST = _respond  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Silenced: ``requests`` already records every call."""

        return Handler

    def start(self) -> DockerApiStandin:
        self._server = ThreadingHTTPServer((self.host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = serve_in_thread(self._server, "docker-api-standin")
        return self

    def stop(self) -> None:
        stop_served(self._server, self._thread)

    @contextmanager
    def serving(self) -> Iterator[DockerApiStandin]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
