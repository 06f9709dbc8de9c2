"""``TraefikRoutedService``: a Swarm service that Traefik routes to from its labels.

The service joins the ingress overlay and carries the Traefik v3 labels built by
:mod:`sprocket_infra.routing` for its routes under the environment's entry policy (plain HTTP, or TLS with
the ACME resolver). Callers say which hosts and ports; they never write a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from constructs import Construct

from sprocket_infra.constructs.swarm_service import NamedNetwork, SwarmService, SwarmServiceProps
from sprocket_infra.routing import EntryPolicy, ForwardAuthMiddleware, Route, route_labels


@dataclass(frozen=True, kw_only=True)
class TraefikRoutedServiceProps:
    service: SwarmServiceProps
    """The service itself; its ``labels`` must not contain ``traefik.*`` keys (routes make those)."""
    routes: Sequence[Route]
    ingress: NamedNetwork
    """The overlay Traefik reaches the service on (layer1's ingress network)."""
    policy: EntryPolicy
    environment: str
    """Environment name, matched by Traefik's provider constraint."""
    middlewares: Sequence[ForwardAuthMiddleware] = ()
    """Middlewares this service defines for every router to use (the forward-auth service's). Left out:
    none."""

    def __post_init__(self) -> None:
        if not self.routes:
            raise ValueError(f"service {self.service.name}: a routed service needs at least one route")
        hand_written = sorted(key for key in self.service.labels if key.startswith("traefik."))
        if hand_written:
            raise ValueError(
                f"service {self.service.name}: pass routes instead of traefik labels {hand_written}"
            )


class TraefikRoutedService(Construct):
    """Public attributes: ``service`` (the :class:`SwarmService`) and ``name``."""

    def __init__(self, scope: Construct, construct_id: str, props: TraefikRoutedServiceProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        labels = route_labels(
            props.routes,
            props.policy,
            network=props.ingress.name,
            environment=props.environment,
            middlewares=props.middlewares,
        )
        networks = [props.ingress, *props.service.networks]
        service_props = replace(props.service, labels={**props.service.labels, **labels}, networks=networks)
        self.service = SwarmService(self, "swarm", service_props)

    @property
    def name(self) -> str:
        return self.props.service.name
