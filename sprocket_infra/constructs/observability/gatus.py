"""``Gatus``: the status page, checking every host Traefik routes to; nobody keeps a list by hand.

The original checked stale hosts (``app.sprocket.gg``) and none of the real ones. Here the endpoints are
*derived*: when the App is synthesized, every :class:`TraefikRoutedService` of this environment in every
stack (layer1, layer2 and the platform, whoever builds it) contributes its routes' hosts, one check per
host. So a service added anywhere is monitored without touching this file, and a removed one stops being
checked. :func:`status_endpoints` is a pure function of routes, exported for tests and other callers.

* Environments with certificates check the public URL (``https://<host>``), end to end through DNS and
  TLS. Others (``*.localhost``, a LAN domain) ask Traefik on the ingress overlay with the route's host in
  the ``Host`` header, because those names don't resolve inside a container.
* A host is up when Traefik answers with the backend's status or a redirect/auth challenge (forward-auth
  answers unauthenticated checks with a redirect to Discord); a 404 (no router: the service is gone) or
  any 5xx is down. TCP (SNI) routes are checked with a TLS handshake where certificates are issued.
* The Discord webhook is a secret: the alerting part of the configuration is a Docker *secret* built from
  Vault, and Gatus merges every file of its config directory. The image is ``FROM scratch``, so no shell
  wrapper and no in-container healthcheck are possible; Gatus is itself one of its checked hosts.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsii
import yaml
from cdktf import IResolveContext, IStringProducer, Lazy, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_docker.secret import Secret
from constructs import Construct, IConstruct

from sprocket_infra import naming
from sprocket_infra.constructs.service_context import SECRET_MODE, ServiceContext
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    Resources,
    SecretFile,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.constructs.traefik_routed_service import TraefikRoutedService
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.routing import HttpRoute, TcpRoute

NAME = "gatus"
PORT = 8080
CONFIG_DIR = "/config/sprocket"
"""Our files only: the image ships a demo ``/config/config.yaml`` (example endpoints on the internet), which
Gatus would merge into ours were ``GATUS_CONFIG_PATH`` the image's ``/config``."""
STAFF_RULE = "SprocketStaff"
UP_STATUSES = (200, 301, 302, 303, 307, 308, 401, 403)
"""Answers that prove a router and a backend exist; 404 means Traefik has no router, 5xx a dead backend."""
CHECK_TIMEOUT = "10s"
NO_HEALTHCHECK = Healthcheck(test=("NONE",))
"""Gatus ships ``FROM scratch``: nothing inside the container can probe it."""


@dataclass(frozen=True, kw_only=True)
class StatusEndpoint:
    """One check: ``group`` is the stack that routes the host."""

    name: str
    group: str
    url: str
    conditions: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = ()

    def as_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "name": self.name,
            "group": self.group,
            "url": self.url,
            "interval": "1m",
            # Per endpoint: Gatus has no top-level ``client`` (one there was silently ignored).
            "client": {"timeout": CHECK_TIMEOUT},
            "conditions": list(self.conditions),
            "alerts": [{"type": "discord"}],
        }
        if self.headers:
            config["headers"] = dict(self.headers)
        return config


def status_endpoints(
    routes: Iterable[tuple[str, HttpRoute | TcpRoute]], *, tls: bool
) -> tuple[StatusEndpoint, ...]:
    """Checks for ``(group, route)`` pairs: one per distinct host, sorted, first route of a host wins.

    Path-restricted routes (``/webhook``) share their host with the main route, so they add nothing.
    """
    endpoints: dict[str, StatusEndpoint] = {}
    http_up = f"[STATUS] == any({', '.join(str(code) for code in UP_STATUSES)})"
    for group, route in routes:
        for host in route.hosts:
            if host in endpoints:
                continue
            if isinstance(route, TcpRoute):
                if tls:
                    endpoints[host] = StatusEndpoint(
                        name=host, group=group, url=f"tls://{host}:443", conditions=("[CONNECTED] == true",)
                    )
                continue
            if tls:
                endpoints[host] = StatusEndpoint(
                    name=host, group=group, url=f"https://{host}/", conditions=(http_up,)
                )
            else:
                endpoints[host] = StatusEndpoint(
                    name=host,
                    group=group,
                    url=f"http://{naming.TRAEFIK_SERVICE}/",
                    conditions=(http_up,),
                    headers=(("Host", host),),
                )
    return tuple(endpoints[host] for host in sorted(endpoints))


def routed_in_app(root: IConstruct, environment: str) -> list[tuple[str, HttpRoute | TcpRoute]]:
    """Every route of every :class:`TraefikRoutedService` of ``environment`` under ``root``."""
    found: list[tuple[str, HttpRoute | TcpRoute]] = []
    for construct in root.node.find_all():
        if isinstance(construct, TraefikRoutedService) and construct.props.environment == environment:
            group = TerraformStack.of(construct).node.id
            found.extend((group, route) for route in construct.props.routes)
    return found


@jsii.implements(IStringProducer)
class _Deferred:
    """A string computed when cdktf resolves it (at synth, after every stack exists)."""

    def __init__(self, render: Callable[[], str]) -> None:
        self._render = render

    def produce(self, context: IResolveContext) -> str:
        return self._render()


@dataclass(frozen=True, kw_only=True)
class GatusProps:
    context: ServiceContext
    webhook: VaultKey
    """Discord webhook URL alerts go to (operator-provided, ``gatus-alert-webhook``)."""


class Gatus(Construct):
    """Public attributes: ``service``, ``endpoints()`` (the checks, computed on demand)."""

    def __init__(self, scope: Construct, construct_id: str, props: GatusProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        context = props.context
        endpoints_file = Secret(
            self,
            "endpoints",
            # Not secret, but Swarm configs need content at construction time; secrets take a lazy value.
            name=Lazy.string_value(
                _Deferred(lambda: f"{NAME}-endpoints-{naming.content_suffix(self._rendered())}")
            ),
            data=Lazy.string_value(_Deferred(lambda: base64.b64encode(self._rendered().encode()).decode())),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        alerting = context.secret_file(
            owner=NAME,
            target=f"{CONFIG_DIR}/alerting.yaml",
            template=(
                'alerting:\n  discord:\n    webhook-url: "%s"\n    default-alert:\n'
                "      send-on-resolved: true\n      failure-threshold: 3\n      success-threshold: 5\n"
            ),
            refs=[props.webhook],
        )
        base = {
            "storage": {"type": "sqlite", "path": "/data/data.db"},
            "ui": {"title": f"Sprocket status ({context.environment.name})", "header": "Sprocket"},
        }
        self.service = context.routed(
            self,
            "gatus",
            SwarmServiceProps(
                name=NAME,
                image=context.environment.layer2.images.gatus,
                env={"GATUS_CONFIG_PATH": CONFIG_DIR},
                healthcheck=NO_HEALTHCHECK,
                resources=Resources(cpus=0.25, memory_mib=128),
                networks=[],
                configs=[
                    ConfigFile(target=f"{CONFIG_DIR}/base.yaml", content=yaml.safe_dump(base, sort_keys=True))
                ],
                secrets=[
                    alerting,
                    SecretFile(
                        secret=endpoints_file, target=f"{CONFIG_DIR}/endpoints.yaml", mode=SECRET_MODE
                    ),
                ],
                mounts=[VolumeMount(source="gatus-data", target="/data")],
                placement=context.environment.swarm.placement.storage,
                stateful=True,
            ),
            routes=[
                HttpRoute(
                    name="gatus",
                    hosts=(context.host("status"),),
                    port=PORT,
                    middlewares=(naming.forward_auth_middleware(STAFF_RULE),),
                )
            ],
        )

    def endpoints(self) -> tuple[StatusEndpoint, ...]:
        """The checks for every routed host of this environment in the whole App, as of now."""
        environment = self.props.context.environment
        routes = routed_in_app(self.node.root, environment.name)
        return status_endpoints(routes, tls=environment.routing.acme.tls)

    def _rendered(self) -> str:
        document = {"endpoints": [endpoint.as_config() for endpoint in self.endpoints()]}
        return yaml.safe_dump(document, sort_keys=False)
