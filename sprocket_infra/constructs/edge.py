"""``Routing``: the one object every stack routes through, owned by layer1's Traefik.

Traefik merges the routers of every stack into one table, so routing is a property of the environment,
not of a stack. ``Routing`` is created by :class:`~sprocket_infra.constructs.traefik_proxy.TraefikProxy`
and handed to layer2 and the platform like any other layer1 attribute. It holds what every routed service
needs (its edge network and the entry policy) and checks, while the stacks are built, what Traefik
would otherwise get wrong in silence:

* :meth:`Routing.route` joins each routed service to its own edge network, shared with Traefik only (or
  with the other routed members of its platform zone), and refuses a service layer1 made no edge network
  for: layer1 is built first, so the set comes from :func:`~sprocket_infra.edge_networks.edge_plan`;

* :meth:`Routing.middleware` refuses a forward-auth rule the environment does not define; Traefik drops a
  router whose middleware does not exist, so the service would just vanish;
* :meth:`Routing.route` claims every host for one owner across all stacks; when two routers match the same
  request Traefik serves one of them and the other stops getting traffic. Two HTTP routers may share a
  host only below different path prefixes (n8n's ``/webhook``); a TCP router takes its whole host;
* every route is recorded (:attr:`Routing.routes`), so the status checks take them as an explicit input.

Every service, routed or not, sits at ``<construct_id>/swarm`` (:func:`service_at`): a first route added to
a service updates it in place instead of moving it to a new Terraform address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cdktf import TerraformStack
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import ConfigError, Environment
from sprocket_infra.constructs.swarm_service import NamedNetwork, SwarmService, SwarmServiceProps
from sprocket_infra.routing import (
    EntryPolicy,
    ForwardAuthMiddleware,
    HttpRoute,
    Route,
    entry_policy,
    route_labels,
)


class RoutingError(ConfigError):
    """A route the environment cannot serve: an unknown forward-auth rule, a host claimed twice, a service
    without an edge network."""


@dataclass(frozen=True, kw_only=True)
class EdgeNetwork:
    """One edge network, as layer1 made it: Traefik and the backend(s) of ``key`` are its only members."""

    key: str
    """The backend's Swarm service name, or a platform zone (``<env>-<purpose>``)."""
    network: NamedNetwork
    name: str
    """The network's name as a literal (labels carry it; reading ``network.name`` would be a token)."""
    subnet: ipaddress.IPv4Network


@dataclass(frozen=True, kw_only=True)
class RecordedRoute:
    """One route as Traefik will see it, and who asked for it."""

    stack: str
    """``layer1``, ``layer2`` or ``platform``."""
    service: str
    """The Swarm service the router forwards to."""
    route: Route
    origin: str
    """Where the route's hosts come from (a file and key, or the construct), for messages."""


@dataclass(frozen=True)
class _Claim:
    path_prefix: str | None
    tcp: bool


def service_at(scope: Construct, construct_id: str, props: SwarmServiceProps) -> SwarmService:
    """``props`` as a :class:`SwarmService` at ``<construct_id>/swarm``, the one path a service ever has."""
    return SwarmService(Construct(scope, construct_id), "swarm", props)


class Routing:
    """Public attributes: ``edges`` (key -> :class:`EdgeNetwork`), ``policy``, ``environment`` (its name),
    ``source``, ``routes``."""

    def __init__(self, *, environment: Environment, edges: Sequence[EdgeNetwork], source: str) -> None:
        """``source`` names the environment file, for the errors this object raises."""
        self.environment = environment.name
        self.edges = {edge.key: edge for edge in edges}
        self.policy: EntryPolicy = entry_policy(environment.routing.acme)
        self._hosts = environment.routing
        self.source = source
        self._rules = tuple(rule.name for rule in environment.layer2.forward_auth.rules)
        # Claims by host and routes by router name: each new route is checked by lookup, not by a pass
        # over every earlier claim, so building a catalog of n routes stays linear in n.
        self._claims: dict[str, list[tuple[_Claim, RecordedRoute]]] = {}
        self._names: dict[str, RecordedRoute] = {}
        """Every recorded route by router name, in the order the stacks attached them."""
        # Each read of a construct's attribute is a round trip to the jsii kernel: read once, reused.
        self._stack_names: dict[TerraformStack, str] = {}

    @property
    def routes(self) -> tuple[RecordedRoute, ...]:
        """Every route recorded so far, in the order the stacks attached them."""
        return tuple(self._names.values())

    def edge(self, key: str) -> EdgeNetwork:
        """The edge network of backend ``key``; refuses a backend layer1 made none for."""
        edge = self.edges.get(key)
        if edge is None:
            raise RoutingError(
                f"{self.source}: service {key!r} is routed but has no edge network; layer1 makes one per "
                f"entry of sprocket_infra/edge_networks.py LAYER_BACKENDS and per platform zone "
                f"(have: {', '.join(sorted(self.edges))})"
            )
        return edge

    def edge_subnet(self, key: str) -> str:
        """The fixed subnet of backend ``key``'s edge network: where its requests from Traefik come from
        (e.g. Vault's ``x_forwarded_for_authorized_addrs``)."""
        return str(self.edge(key).subnet)

    def middleware(self, rule: str) -> str:
        """The shared forward-auth middleware admitting members of ``rule``; refuses an undefined rule."""
        if rule not in self._rules:
            raise RoutingError(
                f"{self.source}: layer2.forward_auth.rules: no rule named {rule!r} "
                f"(routes use it; defined: {', '.join(self._rules)})"
            )
        return naming.forward_auth_middleware(rule)

    def admin_ui(self, name: str, *, subdomain: str, port: int, rule: str) -> HttpRoute:
        """An operator UI on ``<subdomain>.<domain>``, only for members of forward-auth ``rule``."""
        return HttpRoute(
            name=name, hosts=(self.host(subdomain),), port=port, middlewares=(self.middleware(rule),)
        )

    def host(self, subdomain: str | None) -> str:
        """The environment's public name for ``subdomain`` (the apex when None)."""
        return naming.public_host(self._hosts, subdomain)

    def route(
        self,
        scope: Construct,
        construct_id: str,
        service: SwarmServiceProps,
        routes: Sequence[Route] = (),
        *,
        middlewares: Sequence[ForwardAuthMiddleware] = (),
        origin: str | None = None,
        edge: str | None = None,
    ) -> SwarmService:
        """``service`` at ``<construct_id>/swarm``, joined to its edge network and labelled for ``routes``.

        Without routes (and middlewares) the service is left as it is, at the same address. ``origin``
        says where the routes' hosts come from (default: the stack and construct path). ``edge`` names the
        edge network's key (default: the service's name; a platform zone for catalog entries). Traefik's
        own service joins every edge network.
        """
        if not routes and not middlewares:
            return service_at(scope, construct_id, service)
        hand_written = sorted(key for key in service.labels if key.startswith("traefik."))
        if hand_written:
            raise ValueError(f"service {service.name}: pass routes instead of traefik labels {hand_written}")
        if service.name == naming.TRAEFIK_SERVICE:
            joined = [each.network for each in self.edges.values()]
            # Traefik's own routers go to api@internal, which never dials this network.
            network = next(iter(self.edges.values())).name
        else:
            own = self.edge(edge or service.name)
            joined, network = [own.network], own.name
        stack = self._stack_name(scope)
        where = origin or f"{stack}: {scope.node.path}/{construct_id}"
        for route in routes:
            self._claim(RecordedRoute(stack=stack, service=service.name, route=route, origin=where))
        labels = route_labels(
            routes, self.policy, network=network, environment=self.environment, middlewares=middlewares
        )
        routed = replace(service, labels={**service.labels, **labels}, networks=[*joined, *service.networks])
        return service_at(scope, construct_id, routed)

    def _stack_name(self, scope: Construct) -> str:
        stack = TerraformStack.of(scope)
        if stack not in self._stack_names:
            self._stack_names[stack] = stack.node.id
        return self._stack_names[stack]

    def _claim(self, recorded: RecordedRoute) -> None:
        route = recorded.route
        earlier = self._names.get(route.name)
        if earlier is not None:
            # Traefik keys routers by name across all services and drops a name defined twice.
            raise RoutingError(
                f"{recorded.origin}: router name {route.name!r} is already used by {earlier.origin} "
                f"(service {earlier.service})"
            )
        tcp = not isinstance(route, HttpRoute)
        prefix = route.path_prefix if isinstance(route, HttpRoute) else None
        for host in route.hosts:
            claims = self._claims.setdefault(host, [])
            for claim, owner in claims:
                if tcp or claim.tcp or claim.path_prefix == prefix:
                    raise RoutingError(
                        f"{recorded.origin}: host {host!r} is already routed by {owner.origin} "
                        f"(service {owner.service}, router {owner.route.name}); one host, one owner"
                    )
            claims.append((_Claim(path_prefix=prefix, tcp=tcp), recorded))
        self._names[route.name] = recorded
