"""The one place where names are made: hosts, networks, queues, buckets, Docker configs.

Every other module asks here instead of formatting its own string, so a naming rule changes in one spot
and two stacks can never disagree about a name.
"""

from __future__ import annotations

import hashlib
import re

from sprocket_infra.config import Environment, RoutingConfig

INGRESS_NETWORK = "traefik-ingress"
"""The overlay Traefik reaches services on; a fixed name, because labels name it (traefik.swarm.network)."""

SOCKET_PROXY_NETWORK = "docker-socket-proxy"
"""Private overlay between Traefik and the socket proxy: nothing else may reach the Docker API."""

SOCKET_PROXY_SERVICE = "docker-socket-proxy"
SOCKET_PROXY_PORT = 2375

CERT_RESOLVER = "letsencrypt"
ENVIRONMENT_LABEL = "sprocket.environment"
"""Service label Traefik's provider constraint matches, so each Traefik sees only its environment."""

_ROUTER_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def public_host(routing: RoutingConfig, subdomain: str | None) -> str:
    """``<subdomain>.<domain>``, or the domain itself (the apex) when ``subdomain`` is None."""
    return routing.domain if subdomain is None else f"{subdomain}.{routing.domain}"


def host_forms(
    routing: RoutingConfig, subdomain: str | None, *, answers_on_ips: bool = False
) -> tuple[str, ...]:
    """Every host a service answers on in this environment, in a fixed order.

    IP addresses can't tell two services apart, so only the one service that ``answers_on_ips`` (the web
    app) gets the LAN and Tailscale IPs; everything else is reached by name.
    """
    hosts = [public_host(routing, subdomain)]
    if answers_on_ips:
        hosts += [str(ip) for ip in (routing.server_ip, routing.tailscale_ip) if ip is not None]
    return tuple(hosts)


def check_router_name(name: str) -> str:
    """Router, service and middleware names share Traefik's label namespace: keep them label-safe."""
    if not _ROUTER_NAME_RE.match(name):
        raise ValueError(
            f"router name {name!r}: expected lower-case letters, digits and '-', starting with a letter"
        )
    return name


def forward_auth_middleware(rule: str) -> str:
    """Name of the shared forward-auth middleware that admits members of Discord rule ``rule``."""
    return f"auth-{rule.lower()}"


def queue_name(environment: Environment, queue: str) -> str:
    """RabbitMQ queue names carry the environment so two environments on one broker never share a queue."""
    return f"{environment.name}-{queue}"


def content_suffix(content: str | bytes) -> str:
    """Short content hash for immutable Swarm objects (configs): a change of content is a new name."""
    data = content.encode() if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()[:10]
