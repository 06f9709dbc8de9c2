"""Which Docker Engine API requests a socket proxy forwards, as path patterns, and the HAProxy file for it.

A section switch (``CONTAINERS=1``) opens every ``GET /containers/...`` route, and some of those read
container contents: ``/containers/{id}/archive`` returns any file of any container (Vault's unseal keys
and root token included), ``/export`` its whole filesystem, ``/logs`` whatever it printed. So each section
here names only the read-only *metadata* routes of its kind (list, inspect, stats), anchored from the first
character to the last; routes that return contents or attach to a process (archive, export, logs, attach,
top, changes, exec) have no section and cannot be enabled. Every other request, any method but GET and
HEAD, and any path outside the patterns, is answered 403 by the proxy itself and never reaches dockerd.

Why HAProxy: it is what section-switch proxies are built on, it matches ``path`` before forwarding, and the
configuration is ours and small enough to read in one screen, so a test can start the real server from the
synthesized file in front of a real dockerd.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION_PREFIX = r"(/v[0-9]+\.[0-9]+)?"
"""Engine API clients put the negotiated version first (``/v1.47/services``); optional."""
OBJECT_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
"""A container, service, task, network or node ID or name, as Docker allows them: no ``/``, no ``%``, no
leading dot, so no encoded or ``..`` segment can turn an allowed route into another one."""


@dataclass(frozen=True, kw_only=True)
class ApiRoute:
    """One read-only Engine API route, ``path`` written with ``{id}`` for an object ID or name."""

    path: str
    why: str

    @property
    def pattern(self) -> str:
        """The anchored regular expression HAProxy matches ``path`` (no query string) against."""
        return "^" + VERSION_PREFIX + self.path.replace(".", r"\.").replace("{id}", OBJECT_ID) + "$"


SECTION_ROUTES: dict[str, tuple[ApiRoute, ...]] = {
    "PING": (ApiRoute(path="/_ping", why="health and API version negotiation (HEAD or GET)"),),
    "VERSION": (ApiRoute(path="/version", why="server version, logged by Traefik at start"),),
    "INFO": (ApiRoute(path="/info", why="engine and Swarm summary (Telegraf's docker input)"),),
    "CONTAINERS": (
        ApiRoute(path="/containers/json", why="container list (Telegraf)"),
        ApiRoute(path="/containers/{id}/json", why="state and health of one container (Telegraf)"),
        ApiRoute(path="/containers/{id}/stats", why="CPU, memory, block I/O and network counters (Telegraf)"),
    ),
    "SERVICES": (
        ApiRoute(path="/services", why="service list with labels (Traefik, Telegraf, Alloy)"),
        ApiRoute(path="/services/{id}", why="one service"),
    ),
    "TASKS": (
        ApiRoute(path="/tasks", why="tasks and their container IDs (Traefik, Telegraf, Alloy)"),
        ApiRoute(path="/tasks/{id}", why="one task"),
    ),
    "NETWORKS": (
        ApiRoute(path="/networks", why="network names behind task attachments (Traefik, Alloy)"),
        ApiRoute(path="/networks/{id}", why="one network"),
    ),
    "NODES": (
        ApiRoute(path="/nodes", why="node hostnames, so Alloy keeps only its own node's tasks"),
        ApiRoute(path="/nodes/{id}", why="one node"),
    ),
}
"""Every section a proxy may open, and exactly the routes it opens."""


def routes(sections: tuple[str, ...]) -> tuple[ApiRoute, ...]:
    """The routes ``sections`` open, in table order (so the rendered file is stable)."""
    return tuple(route for name, table in SECTION_ROUTES.items() if name in sections for route in table)


def haproxy_config(*, sections: tuple[str, ...], port: int, socket: str) -> str:
    """``haproxy.cfg`` forwarding GET/HEAD requests for ``sections``' routes to ``socket``; all else 403.

    Denied requests are logged (to stdout, with method and path), so a client that needs a new route shows
    up in the proxy's log instead of as silently missing data."""
    acl_lines = "".join(f"  acl allowed_route path_reg {route.pattern}\n" for route in routes(sections))
    return f"""\
global
  log stdout format raw local0 info
  maxconn 256

defaults
  mode http
  log global
  option httplog
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s

frontend docker_api
  bind :{port}
  # GET and HEAD only: nothing through this proxy can create, change, exec or attach.
  http-request deny deny_status 403 unless METH_GET
{acl_lines}  http-request deny deny_status 403 unless allowed_route
  default_backend engine

backend engine
  server dockerd {socket}
"""
