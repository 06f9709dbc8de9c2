"""What a deployed environment should look like, read from the objects the stacks build.

This is the only module of :mod:`sprocket_infra.ops` that knows how routes and services are found in a
built App: the checks take the plain :class:`Expected` value it returns. The routes are the ones layer1's
routing object recorded, the same list Gatus's endpoints are made from, so ``verify`` and the status page
can never disagree about which hosts exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.catalog import Catalog
from sprocket_infra.config import Environment
from sprocket_infra.constructs.edge import RecordedRoute
from sprocket_infra.routing import TcpRoute


@dataclass(frozen=True, kw_only=True)
class ExpectedRoute:
    """One host of one router, as a client reaches it."""

    stack: str
    router: str
    host: str
    path: str
    """The path to request: the router's ``PathPrefix``, else ``/``."""
    tcp: bool
    """A TCP (SNI) router: a TLS handshake is all there is to check."""
    auth: bool
    """Behind a forward-auth middleware: without a session it must refuse or redirect, never serve."""


@dataclass(frozen=True, kw_only=True)
class ExpectedService:
    """A Swarm service the stacks declare, with its desired task count (None: global, one per node)."""

    stack: str
    name: str
    replicas: int | None


@dataclass(frozen=True, kw_only=True)
class Expected:
    environment: str
    tls: bool
    """Certificates are issued (ACME): routes are reached over HTTPS and their certificates checked."""
    routes: tuple[ExpectedRoute, ...]
    services: tuple[ExpectedService, ...]
    vault_url: str
    """Vault's public URL (its route), used when no ``VAULT_ADDR`` is given."""
    gatus_url: str
    """Gatus's public URL (its route), used when no Gatus address is given."""


def expected_routes(routes: Iterable[RecordedRoute]) -> tuple[ExpectedRoute, ...]:
    """One entry per (router, host), sorted by host then path; a pure function of the routes."""
    found = []
    for recorded in routes:
        route = recorded.route
        for host in route.hosts:
            if isinstance(route, TcpRoute):
                found.append(
                    ExpectedRoute(
                        stack=recorded.stack, router=route.name, host=host, path="/", tcp=True, auth=False
                    )
                )
            else:
                found.append(
                    ExpectedRoute(
                        stack=recorded.stack,
                        router=route.name,
                        host=host,
                        path=route.path_prefix or "/",
                        tcp=False,
                        auth=bool(route.middlewares),
                    )
                )
    return tuple(sorted(found, key=lambda item: (item.host, item.path, item.router)))


def expected_state(environment: Environment, catalog: Catalog) -> Expected:
    """Build the environment's App in memory (nothing is written) and read routes and services off it:
    the routes layer1's :class:`~sprocket_infra.constructs.edge.Routing` recorded for every stack, and
    every :class:`~sprocket_infra.constructs.swarm_service.SwarmService` with its replica count."""
    from sprocket_infra.app import build_app
    from sprocket_infra.constructs.observability.gatus import NAME as GATUS_SERVICE
    from sprocket_infra.constructs.swarm_service import SwarmService
    from sprocket_infra.constructs.vault_with_s3_backend import VaultWithS3Backend
    from sprocket_infra.stacks.layer1 import Layer1Stack

    app = build_app(environment, catalog=catalog)
    (layer1,) = (child for child in app.node.children if isinstance(child, Layer1Stack))
    recorded = layer1.routing.routes
    services = []
    vault_url = ""
    for construct in app.node.find_all():
        if isinstance(construct, SwarmService):
            stack = construct.node.scopes[1].node.id
            services.append(
                ExpectedService(stack=stack, name=construct.props.name, replicas=construct.props.replicas)
            )
        elif isinstance(construct, VaultWithS3Backend):
            vault_url = construct.address
    gatus_hosts = [item.route.hosts[0] for item in recorded if item.service == GATUS_SERVICE]
    scheme = naming.url_scheme(environment.routing)
    return Expected(
        environment=environment.name,
        tls=environment.routing.acme.tls,
        routes=expected_routes(recorded),
        services=tuple(sorted(services, key=lambda item: item.name)),
        vault_url=vault_url,
        gatus_url=f"{scheme}://{gatus_hosts[0]}" if gatus_hosts else "",
    )
