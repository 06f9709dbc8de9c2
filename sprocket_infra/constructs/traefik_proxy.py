"""``TraefikProxy``: the edge. Traefik v3 in Swarm mode, fed by the socket proxy, never by ``docker.sock``.

Static configuration is rendered from the environment and shipped as a Docker config:
entrypoints ``web`` (:80) and ``websecure`` (:443), an entrypoint-level HTTP->HTTPS redirect when the
environment issues certificates, the ACME resolver for that environment's CA (Let's Encrypt or an internal
one, whose CA bundle is shipped beside it), opt-in exposure (``exposedByDefault: false`` plus a constraint
on the environment label), JSON access logs without query strings or request headers, and the dashboard
only through an authenticated router on its own host (``api.insecure`` is never set).

The edge policy (:mod:`~sprocket_infra.constructs.edge_policy`: default TLS options and the
security-header middleware the routed entrypoint runs for every router) is a second Docker config, read by
the file provider.

The container runs with every capability dropped but ``NET_BIND_SERVICE`` (for engines that do not open
low ports to every user of a container's network namespace, as Docker 20.10+ does), on a read-only root.
It stays uid 0 because the ACME volume and the ``acme.json`` already in it are root's, and the image has no
directory a new volume could take another owner from (ADR 0016, docs/edge-security.md).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxy
from sprocket_infra.constructs.edge import EdgeNetwork, Routing
from sprocket_infra.constructs.edge_policy import dynamic_config
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    PublishedPort,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.placement import edge_placement
from sprocket_infra.routing import entry_policy

STATIC_CONFIG_PATH = "/etc/traefik/traefik.yml"
DYNAMIC_CONFIG_PATH = "/etc/traefik/edge-policy.yml"
ACME_CA_BUNDLE_PATH = "/etc/traefik/acme-ca.pem"
ACME_STORAGE = "/data/acme.json"
PING_PORT = 8082
"""Healthcheck-only entrypoint; not published, so ``/ping`` is unreachable from outside the container."""
ADMIN_RULE = "SprocketAdmin"
"""Discord forward-auth rule guarding the dashboard (Maintainers and Administrators)."""

ENCODED_CHARACTERS = {
    "allowEncodedSlash": True,  # RabbitMQ's management API names the default vhost "/" as %2F
    "allowEncodedPercent": True,
    "allowEncodedSemicolon": True,
    "allowEncodedQuestionMark": True,
    "allowEncodedHash": True,
    "allowEncodedBackSlash": False,
    "allowEncodedNullCharacter": False,
}
"""Which percent-encoded characters an entrypoint lets through in a path. Traefik 3.7 allows all of them by
default and warns at every start until they are chosen; no backend of ours needs an encoded backslash or
NUL, both classic path-confusion tools, so those two get a 400."""

ACCESS_LOG = {
    "format": "json",
    "fields": {
        "defaultMode": "keep",
        # Tokens travel in query strings (OAuth codes, signed URLs, `?token=`): RequestPath keeps the path.
        "queryParameters": {"defaultMode": "drop"},
        # No request header is logged; credentials are named as well, so a later "keep" default cannot
        # bring them back.
        "headers": {"defaultMode": "drop", "names": {"Authorization": "drop", "Cookie": "drop"}},
    },
}
"""Access-log shape: one JSON line per request, without anything a client sent as a credential."""


def static_config(environment: Environment, *, docker_endpoint: str) -> dict[str, Any]:
    """Traefik's static configuration for ``environment`` (a pure function; tests read it back).

    ``docker_endpoint`` is the socket proxy's ``tcp://`` address, Traefik's only way to the Docker API."""
    acme = environment.routing.acme
    entrypoints: dict[str, dict[str, Any]] = {
        "web": {"address": ":80"},
        "websecure": {"address": ":443"},
        "ping": {"address": f":{PING_PORT}"},
    }
    for entrypoint in entrypoints.values():
        # Drop client headers that alias ones Traefik sets (X_Forwarded_User for X-Forwarded-User):
        # backends that map header names to variables would otherwise read the spoofed identity.
        entrypoint["http"] = {"aliasHeadersStrategy": "delete", "encodedCharacters": dict(ENCODED_CHARACTERS)}
    if acme.tls:
        entrypoints["web"]["http"]["redirections"] = {
            "entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}
        }
    # Every router on the routed entrypoint runs the security headers first (routers cannot opt out).
    routed = entry_policy(acme).entrypoint
    entrypoints[routed]["http"]["middlewares"] = [f"{naming.SECURITY_HEADERS_MIDDLEWARE}@file"]
    config: dict[str, Any] = {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": entrypoints,
        "ping": {"entryPoint": "ping"},
        "api": {"dashboard": True},
        "providers": {
            "swarm": {
                "endpoint": docker_endpoint,
                "exposedByDefault": False,
                "constraints": f"Label(`{naming.ENVIRONMENT_LABEL}`, `{environment.name}`)",
                "refreshSeconds": 15,
            },
            "file": {"filename": DYNAMIC_CONFIG_PATH, "watch": False},
        },
        "log": {"level": "INFO", "format": "json"},
        "accessLog": copy.deepcopy(ACCESS_LOG),
    }
    if acme.tls:
        resolver: dict[str, Any] = {
            "email": acme.email,
            "storage": ACME_STORAGE,
            "caServer": acme.directory,
            "tlsChallenge": {},
        }
        if acme.ca_bundle is not None:
            resolver["caCertificates"] = [ACME_CA_BUNDLE_PATH]
        config["certificatesResolvers"] = {naming.CERT_RESOLVER: {"acme": resolver}}
    return config


def config_files(environment: Environment, *, docker_endpoint: str) -> list[ConfigFile]:
    """Every file Traefik reads: static config, edge policy, and the internal CA's bundle if any."""
    files = [
        ConfigFile(
            target=STATIC_CONFIG_PATH,
            content=yaml.safe_dump(
                static_config(environment, docker_endpoint=docker_endpoint), sort_keys=True
            ),
        ),
        ConfigFile(
            target=DYNAMIC_CONFIG_PATH, content=yaml.safe_dump(dynamic_config(environment), sort_keys=True)
        ),
    ]
    bundle = environment.routing.acme.ca_bundle
    if environment.routing.acme.tls and bundle is not None:
        files.append(ConfigFile(target=ACME_CA_BUNDLE_PATH, content=bundle))
    return files


@dataclass(frozen=True, kw_only=True)
class TraefikProxyProps:
    environment: Environment
    source: str
    """The environment file, named in routing errors."""
    edges: Sequence[EdgeNetwork]
    """Every edge network (one per routed backend or platform zone); Traefik joins them all."""
    socket_proxy: DockerSocketProxy
    """Traefik's only way to the Docker API (its private network and ``tcp://`` endpoint)."""


class TraefikProxy(Construct):
    """Public attributes: ``service``, ``routing`` (the :class:`Routing` every stack routes through)."""

    def __init__(self, scope: Construct, construct_id: str, props: TraefikProxyProps) -> None:
        super().__init__(scope, construct_id)
        environment = props.environment
        self.routing = Routing(environment=environment, edges=props.edges, source=props.source)
        allow = environment.routing.edge.allow.traefik_dashboard
        dashboard = replace(
            self.routing.admin_ui(
                naming.TRAEFIK_DASHBOARD_ROUTER, subdomain="traefik", port=PING_PORT, rule=ADMIN_RULE
            ),
            service="api@internal",  # the port is unused then, but Traefik's Swarm provider insists on one
            allow_from=tuple(str(net) for net in allow or ()),
        )
        self.service = self.routing.route(
            self,
            "traefik",
            SwarmServiceProps(
                name=naming.TRAEFIK_SERVICE,
                image=environment.images.traefik,
                args=[f"--configFile={STATIC_CONFIG_PATH}"],
                healthcheck=Healthcheck(
                    test=("CMD", "traefik", "healthcheck", f"--configFile={STATIC_CONFIG_PATH}"),
                    interval_s=10,
                ),
                resources=Resources(cpus=1.0, memory_mib=512),
                networks=[props.socket_proxy.network],
                configs=config_files(environment, docker_endpoint=props.socket_proxy.endpoint),
                mounts=[
                    VolumeMount(source=naming.service_volume(naming.TRAEFIK_SERVICE, "acme"), target="/data")
                ],
                ports=[PublishedPort(target=80, published=80), PublishedPort(target=443, published=443)],
                placement=edge_placement(environment),
                stateful=True,  # host-mode ports 80/443 and the ACME file: one task at a time
                read_only=True,
                cap_drop=["ALL"],
                cap_add=["NET_BIND_SERVICE"],  # ports 80 and 443 inside the container
            ),
            routes=[dashboard],
        )
