"""``Gatus``: the status page, checking every host Traefik routes to; nobody keeps a list by hand.

The original checked stale hosts (``app.sprocket.gg``) and none of the real ones. Here the checks are an
explicit input: the routes :class:`~sprocket_infra.constructs.edge.Routing` recorded for layer1, layer2 and
the platform, one check per host. Gatus lives in the platform stack, the last one built, so the list is
complete when Gatus is made, and adding an app changes only the platform's plan, where the app itself
changes (docs/adr/0007-status-checks-in-the-platform-stack.md). :func:`status_endpoints` is a pure
function of routes.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from cdktf import TerraformStack
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.edge import RecordedRoute, Routing
from sprocket_infra.constructs.observability.gatus_alerts import (
    USER_FACING,
    AlertPolicy,
    endpoint_alerts,
    policy_for,
)
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    DockerObject,
    Healthcheck,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.placement import volume_placement
from sprocket_infra.routing import TcpRoute

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
    alert: AlertPolicy = USER_FACING

    def as_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "name": self.name,
            "group": self.group,
            "url": self.url,
            "interval": "1m",
            # Per endpoint: Gatus has no top-level ``client`` (one there was silently ignored).
            "client": {"timeout": CHECK_TIMEOUT},
            "conditions": list(self.conditions),
            "alerts": endpoint_alerts(self.alert, host=self.name, stack=self.group),
        }
        if self.headers:
            config["headers"] = dict(self.headers)
        return config


def status_endpoints(routes: Iterable[RecordedRoute], *, tls: bool) -> tuple[StatusEndpoint, ...]:
    """One check per distinct host of ``routes``, sorted, grouped by the stack that routes it.

    Path-restricted routes (``/webhook``) share their host with the main route, so they add nothing.
    """
    endpoints: dict[str, StatusEndpoint] = {}
    http_up = f"[STATUS] == any({', '.join(str(code) for code in UP_STATUSES)})"
    for recorded in routes:
        group, route = recorded.stack, recorded.route
        for host in route.hosts:
            if host in endpoints:
                continue
            if isinstance(route, TcpRoute):
                if tls:
                    endpoints[host] = StatusEndpoint(
                        name=host,
                        group=group,
                        url=f"tls://{host}:443",
                        conditions=("[CONNECTED] == true",),
                        alert=policy_for(recorded),
                    )
                continue
            if tls:
                endpoints[host] = StatusEndpoint(
                    name=host,
                    group=group,
                    url=f"https://{host}/",
                    conditions=(http_up,),
                    alert=policy_for(recorded),
                )
            else:
                endpoints[host] = StatusEndpoint(
                    name=host,
                    group=group,
                    url=f"http://{naming.TRAEFIK_SERVICE}/",
                    conditions=(http_up,),
                    headers=(("Host", host),),
                    alert=policy_for(recorded),
                )
    return tuple(endpoints[host] for host in sorted(endpoints))


ALERTING_TEMPLATE = (
    'alerting:\n  discord:\n    webhook-url: "%s"\n    default-alert:\n'
    "      send-on-resolved: true\n      failure-threshold: 3\n      success-threshold: 5\n"
)
"""Gatus's alerting file around the webhook URL (its one ``%s``)."""


@dataclass(frozen=True, kw_only=True)
class GatusProps:
    environment: Environment
    routing: Routing
    """The edge: Gatus's own route goes through it."""
    routes: Sequence[RecordedRoute]
    """Every route to check (``Routing.routes`` once every other service is routed)."""
    alerting: DockerObject
    """Docker secret holding :data:`ALERTING_TEMPLATE` filled with the operator's Discord webhook URL."""


class Gatus(Construct):
    """Public attributes: ``service``, ``endpoints`` (the checks)."""

    def __init__(self, scope: Construct, construct_id: str, props: GatusProps) -> None:
        super().__init__(scope, construct_id)
        environment = props.environment
        own = props.routing.admin_ui(NAME, subdomain="status", port=PORT, rule=STAFF_RULE)
        checked = [
            *props.routes,
            RecordedRoute(
                stack=TerraformStack.of(self).node.id, service=NAME, route=own, origin=self.node.path
            ),
        ]
        self.endpoints = status_endpoints(checked, tls=environment.routing.acme.tls)
        document = {"endpoints": [endpoint.as_config() for endpoint in self.endpoints]}
        base = {
            "storage": {"type": "sqlite", "path": "/data/data.db"},
            "ui": {"title": f"Sprocket status ({environment.name})", "header": "Sprocket"},
        }
        profile = hardening.SERVICES[NAME]
        self.service = props.routing.route(
            self,
            NAME,
            profile.apply(
                SwarmServiceProps(
                    name=NAME,
                    image=environment.layer2.images.gatus,
                    env={"GATUS_CONFIG_PATH": CONFIG_DIR},
                    healthcheck=NO_HEALTHCHECK,
                    resources=Resources(cpus=0.25, memory_mib=128),
                    networks=[],
                    configs=[
                        ConfigFile(
                            target=f"{CONFIG_DIR}/base.yaml", content=yaml.safe_dump(base, sort_keys=True)
                        ),
                        ConfigFile(
                            target=f"{CONFIG_DIR}/endpoints.yaml",
                            content=yaml.safe_dump(document, sort_keys=False),
                        ),
                    ],
                    secrets=[profile.secret_file(props.alerting, f"{CONFIG_DIR}/alerting.yaml")],
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target="/data")],
                    placement=volume_placement(environment),
                    stateful=True,
                )
            ),
            routes=[own],
        )
