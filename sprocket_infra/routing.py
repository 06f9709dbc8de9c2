"""Traefik v3 routes as typed values, and the pure functions that turn them into Swarm service labels.

A service declares *what* it serves (hosts, port, middlewares, who may connect, how fast); the environment
decides *how* (plain HTTP on ``web``, or TLS on ``websecure`` with the ACME resolver, with the HTTP->HTTPS
redirect done once on the entrypoint). Nothing else in the code base writes a ``traefik.*`` label by hand.

A route's own guards are middlewares defined on the routed service's labels and named after the route
(:func:`naming.route_middleware`): ``<route>-allow`` (``ipAllowList``) and ``<route>-ratelimit``
(``rateLimit``). Traefik runs a router's middlewares in the order listed: the allow-list first (a stranger
costs nothing more), then the rate limit, then forward-auth.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sprocket_infra import naming
from sprocket_infra.config import AcmeConfig


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """Traefik ``rateLimit``: a token bucket per client IP; a request finding it empty gets 429."""

    average: int
    """Requests per ``period_s`` a client may keep sending."""
    burst: int
    """Requests a client may send at once before ``average`` applies."""
    period_s: int = 1
    """The period ``average`` counts over. Left out: one second."""

    def __post_init__(self) -> None:
        if self.average < 1 or self.burst < 1 or self.period_s < 1:
            raise ValueError(f"rate limit {self}: average, burst and period_s must be at least 1")


LOGIN_RATE_LIMIT = RateLimit(average=30, period_s=60, burst=30)
"""Login and OAuth-callback paths (Vault's ``/v1/auth/``, the forward-auth host): 30 attempts per minute
per client, enough for an operator's deploys and a person logging in, far too few to guess credentials."""
GUARDED_RATE_LIMIT = RateLimit(average=20, burst=100)
"""Routers behind forward-auth: every request there costs an auth check (and the auth service may ask
Discord). A page load of an admin UI fits in the burst; a flood from one client gets 429 first."""


@dataclass(frozen=True, kw_only=True)
class HttpRoute:
    """One HTTP router plus its load-balancer service; both share ``name``."""

    name: str
    hosts: tuple[str, ...]
    """Every host the router answers on; joined with ``||`` into one rule so no two routers collide."""
    port: int
    """Container port Traefik forwards to (always explicit; Traefik's guess is not a contract)."""
    path_prefix: str | None = None
    """Restrict the router to a path (e.g. ``/webhook``). Left out: every path."""
    middlewares: tuple[str, ...] = ()
    """Middleware names defined by Swarm labels (e.g. forward-auth). Left out: none."""
    service: str | None = None
    """Route to another Traefik service, e.g. ``api@internal``. Left out: this route's own service.
    ``port`` is still required then: Traefik's Swarm provider insists on one per routed service."""
    allow_from: tuple[str, ...] = ()
    """CIDRs whose clients may use the router; others get 403 from Traefik. Left out: every client."""
    rate_limit: RateLimit | None = None
    """Requests per client IP before Traefik answers 429. Left out: no limit of the route's own."""

    def __post_init__(self) -> None:
        naming.check_router_name(self.name)
        _check_hosts(self.name, self.hosts)
        _check_port(self.name, self.port)
        _check_cidrs(self.name, self.allow_from)
        if self.path_prefix is not None and not self.path_prefix.startswith("/"):
            raise ValueError(f"route {self.name}: path_prefix must start with '/' (got {self.path_prefix!r})")


@dataclass(frozen=True, kw_only=True)
class TcpRoute:
    """A TCP router matched by TLS SNI; Traefik terminates TLS and forwards plain TCP to ``port``."""

    name: str
    hosts: tuple[str, ...]
    port: int
    allow_from: tuple[str, ...] = ()
    """CIDRs whose clients may connect; Traefik closes other connections. Left out: every client."""

    def __post_init__(self) -> None:
        naming.check_router_name(self.name)
        _check_hosts(self.name, self.hosts)
        _check_port(self.name, self.port)
        _check_cidrs(self.name, self.allow_from)


Route = HttpRoute | TcpRoute


def login_paths(route: HttpRoute, path_prefix: str, limit: RateLimit = LOGIN_RATE_LIMIT) -> HttpRoute:
    """A second router for ``route``'s hosts, narrowed to ``path_prefix`` and rate limited by ``limit``.

    Traefik prefers the longer rule, so the prefix router takes those paths from ``route``; it keeps the
    route's port, allow-list and middlewares (and its ``service`` when it names another one)."""
    return replace(route, name=naming.login_router(route.name), path_prefix=path_prefix, rate_limit=limit)


@dataclass(frozen=True, kw_only=True)
class ForwardAuthMiddleware:
    """A shared forward-auth middleware: Traefik asks ``address`` before passing a request on.

    Defined once, on the auth service's labels; routers elsewhere refer to it by ``name`` (with the
    ``@swarm`` provider suffix). With ``rate_limit``, ``name`` is a chain of ``<name>-ratelimit`` and the
    check itself (``<name>-check``), so every guarded router limits how often one client makes Traefik
    ask the auth service (and the auth service ask Discord) without naming a second middleware.
    """

    name: str
    address: str
    """Internal URL of the auth check, e.g. ``http://forward-auth:3000/login?rule=SprocketAdmin``."""
    trust_forward_header: bool = True
    """Pass the client's ``X-Forwarded-*`` on, so the auth service builds its redirect for the real host."""
    response_headers: tuple[str, ...] = ("X-Forwarded-User",)
    """Headers copied from the auth answer to the forwarded request (who logged in)."""
    max_response_body_bytes: int = 64 * 1024
    """Largest auth answer Traefik reads; the Discord auth service answers with a redirect or a status."""
    rate_limit: RateLimit | None = None
    """Requests per client IP a guarded router passes to the check before answering 429. Left out: none."""

    def __post_init__(self) -> None:
        naming.check_router_name(self.name)
        if not self.address.startswith(("http://", "https://")):
            raise ValueError(f"middleware {self.name}: address must be an http(s) URL (got {self.address!r})")


@dataclass(frozen=True, kw_only=True)
class EntryPolicy:
    """How an environment exposes routers: which entrypoint, and which certificate resolver if any."""

    entrypoint: str
    cert_resolver: str | None = None


def entry_policy(acme: AcmeConfig) -> EntryPolicy:
    """TLS environments route on ``websecure`` with the ACME resolver; others on plain ``web``."""
    if acme.tls:
        return EntryPolicy(entrypoint="websecure", cert_resolver=naming.CERT_RESOLVER)
    return EntryPolicy(entrypoint="web")


def host_rule(hosts: Sequence[str], path_prefix: str | None = None) -> str:
    """``Host(`a`) || Host(`b`)``, optionally ANDed with a path prefix."""
    rule = " || ".join(f"Host(`{host}`)" for host in hosts)
    if path_prefix is None:
        return rule
    grouped = f"({rule})" if len(hosts) > 1 else rule
    return f"{grouped} && PathPrefix(`{path_prefix}`)"


def sni_rule(hosts: Sequence[str]) -> str:
    return " || ".join(f"HostSNI(`{host}`)" for host in hosts)


def route_labels(
    routes: Sequence[Route],
    policy: EntryPolicy,
    *,
    network: str,
    environment: str,
    middlewares: Sequence[ForwardAuthMiddleware] = (),
) -> dict[str, str]:
    """All Swarm service labels for ``routes`` and the ``middlewares`` the service defines, sorted by key."""
    labels = {
        "traefik.enable": "true",
        "traefik.swarm.network": network,
        naming.ENVIRONMENT_LABEL: environment,
    }
    for route in routes:
        labels |= _http_labels(route, policy) if isinstance(route, HttpRoute) else _tcp_labels(route, policy)
    for middleware in middlewares:
        labels |= _forward_auth_labels(middleware)
    return dict(sorted(labels.items()))


def _forward_auth_labels(middleware: ForwardAuthMiddleware) -> dict[str, str]:
    check = middleware.name
    labels: dict[str, str] = {}
    if middleware.rate_limit is not None:
        check = naming.route_middleware(middleware.name, "check")
        limit = naming.route_middleware(middleware.name, "ratelimit")
        labels |= _rate_limit_labels(limit, middleware.rate_limit)
        labels[f"traefik.http.middlewares.{middleware.name}.chain.middlewares"] = f"{limit},{check}"
    prefix = f"traefik.http.middlewares.{check}.forwardauth"
    labels |= {
        f"{prefix}.address": middleware.address,
        f"{prefix}.trustForwardHeader": str(middleware.trust_forward_header).lower(),
        # An auth answer is a status and a few headers; a bound keeps a misbehaving auth service from
        # making Traefik buffer without limit (Traefik 3.7 warns on every router otherwise).
        f"{prefix}.maxResponseBodySize": str(middleware.max_response_body_bytes),
    }
    if middleware.response_headers:
        labels[f"{prefix}.authResponseHeaders"] = ",".join(middleware.response_headers)
    return labels


def _http_labels(route: HttpRoute, policy: EntryPolicy) -> dict[str, str]:
    router = f"traefik.http.routers.{route.name}"
    labels = {
        f"{router}.rule": host_rule(route.hosts, route.path_prefix),
        f"{router}.entrypoints": policy.entrypoint,
        f"{router}.service": route.service or route.name,
    }
    if policy.cert_resolver is not None:
        labels[f"{router}.tls.certresolver"] = policy.cert_resolver
        labels |= _certificate_domains(router, route.hosts)
    own: list[str] = []
    if route.allow_from:
        own.append(naming.route_middleware(route.name, "allow"))
        labels[f"traefik.http.middlewares.{own[-1]}.ipallowlist.sourcerange"] = ",".join(route.allow_from)
    if route.rate_limit is not None:
        own.append(naming.route_middleware(route.name, "ratelimit"))
        labels |= _rate_limit_labels(own[-1], route.rate_limit)
    if own or route.middlewares:
        labels[f"{router}.middlewares"] = ",".join(f"{name}@swarm" for name in (*own, *route.middlewares))
    # Swarm's provider builds a load balancer for every routed service and refuses one without a port,
    # even when the router points elsewhere (``api@internal``), so the port label is always written.
    labels[f"traefik.http.services.{route.name}.loadbalancer.server.port"] = str(route.port)
    return labels


def _tcp_labels(route: TcpRoute, policy: EntryPolicy) -> dict[str, str]:
    router = f"traefik.tcp.routers.{route.name}"
    labels = {
        f"{router}.rule": sni_rule(route.hosts),
        f"{router}.entrypoints": "websecure",
        f"{router}.service": route.name,
        # HostSNI needs TLS; without ACME Traefik presents its default certificate.
        f"{router}.tls": "true",
        f"traefik.tcp.services.{route.name}.loadbalancer.server.port": str(route.port),
    }
    if policy.cert_resolver is not None:
        labels[f"{router}.tls.certresolver"] = policy.cert_resolver
    if route.allow_from:
        allow = naming.route_middleware(route.name, "allow")
        labels[f"traefik.tcp.middlewares.{allow}.ipallowlist.sourcerange"] = ",".join(route.allow_from)
        labels[f"{router}.middlewares"] = f"{allow}@swarm"
    return labels


def _rate_limit_labels(name: str, limit: RateLimit) -> dict[str, str]:
    prefix = f"traefik.http.middlewares.{name}.ratelimit"
    return {
        f"{prefix}.average": str(limit.average),
        f"{prefix}.burst": str(limit.burst),
        f"{prefix}.period": f"{limit.period_s}s",
    }


def _certificate_domains(router: str, hosts: tuple[str, ...]) -> dict[str, str]:
    """Name the certificate's domains when a rule also matches IP addresses.

    Traefik otherwise asks the ACME CA for every host in the rule, IPs included, and Let's Encrypt
    refuses the whole order. Requests by IP then get Traefik's default certificate.
    """
    names = [host for host in hosts if not is_ip(host)]
    if len(names) == len(hosts) or not names:
        return {}
    labels = {f"{router}.tls.domains[0].main": names[0]}
    if names[1:]:
        labels[f"{router}.tls.domains[0].sans"] = ",".join(names[1:])
    return labels


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_hosts(name: str, hosts: tuple[str, ...]) -> None:
    if not hosts:
        raise ValueError(f"route {name}: needs at least one host")
    if len(set(hosts)) != len(hosts):
        raise ValueError(f"route {name}: duplicate host in {list(hosts)}")


def _check_cidrs(name: str, cidrs: tuple[str, ...]) -> None:
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            why = f"route {name}: allow_from entry {cidr!r} is not a CIDR such as '10.0.0.0/8'"
            raise ValueError(why) from None


def _check_port(name: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"route {name}: port must be 1..65535 (got {port})")
