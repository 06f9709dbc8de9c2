"""``sprocket-infra diagram``: the architecture of one environment, drawn from the objects the stacks build.

Nothing here is a hand-kept picture: the App is built in memory (nothing written), and the diagram lists
every Swarm service of every stack with the overlays it joins, every route layer1's
:class:`~sprocket_infra.constructs.edge.Routing` recorded (hosts, and the forward-auth rule in front), and
the managed parts outside the Swarm (PostgreSQL, buckets, Vault's storage, the ACME CA). So a service added
to the catalog is in the next diagram, and one removed is gone from it.

Two renderings of one :class:`Architecture` value: Mermaid (GitHub draws it in Markdown) and Graphviz DOT
(``dot -Tsvg`` makes an SVG where Graphviz is installed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sprocket_infra.catalog import Catalog
from sprocket_infra.config import Environment
from sprocket_infra.routing import HttpRoute


@dataclass(frozen=True, kw_only=True)
class ServiceNode:
    stack: str
    name: str
    networks: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RouteEdge:
    """Traefik -> ``service`` for ``hosts``; ``auth`` names the forward-auth middlewares in front."""

    router: str
    service: str
    hosts: tuple[str, ...]
    path_prefix: str | None
    auth: tuple[str, ...]
    tcp: bool


@dataclass(frozen=True, kw_only=True)
class Architecture:
    environment: str
    stacks: tuple[str, ...]
    services: tuple[ServiceNode, ...]
    networks: tuple[str, ...]
    routes: tuple[RouteEdge, ...]
    external: tuple[str, ...]
    """Managed parts outside the Swarm, e.g. ``digitalocean_database_cluster sprocket-prod``."""


_EXTERNAL_TYPES = {
    "digitalocean_database_cluster": "managed PostgreSQL",
    "digitalocean_spaces_bucket": "Spaces bucket",
    "aws_s3_bucket": "S3 bucket",
}


def architecture(environment: Environment, catalog: Catalog) -> Architecture:
    """Build the App in memory and read services, networks, routes and cloud resources off its objects."""
    from cdktf import TerraformDataSource, TerraformResource, TerraformStack
    from cdktf_cdktf_provider_docker.network import Network

    from sprocket_infra.app import build_app
    from sprocket_infra.constructs.swarm_service import SwarmService
    from sprocket_infra.stacks.layer1 import Layer1Stack

    app = build_app(environment, catalog=catalog)
    stacks = [child for child in app.node.children if isinstance(child, TerraformStack)]
    (layer1,) = (stack for stack in stacks if isinstance(stack, Layer1Stack))
    constructs = list(app.node.find_all())
    # A network crosses stacks as the same Python object; its configured name is its ``name_input``.
    network_names = {id(item): str(item.name_input) for item in constructs if isinstance(item, Network)}
    services = [
        ServiceNode(
            stack=TerraformStack.of(item).node.id,
            name=item.props.name,
            networks=tuple(network_names[id(network)] for network in item.props.networks),
        )
        for item in constructs
        if isinstance(item, SwarmService)
    ]
    external = [
        f"{_EXTERNAL_TYPES[item.terraform_resource_type]} {_configured_name(item)}"
        + (" (existing)" if isinstance(item, TerraformDataSource) else "")
        for item in constructs
        if isinstance(item, TerraformResource | TerraformDataSource)
        and item.terraform_resource_type in _EXTERNAL_TYPES
    ]
    if environment.routing.acme.tls:
        external.append(f"ACME CA ({environment.routing.acme.ca})")
    routes = [
        RouteEdge(
            router=recorded.route.name,
            service=recorded.service,
            hosts=recorded.route.hosts,
            path_prefix=recorded.route.path_prefix if isinstance(recorded.route, HttpRoute) else None,
            auth=recorded.route.middlewares if isinstance(recorded.route, HttpRoute) else (),
            tcp=not isinstance(recorded.route, HttpRoute),
        )
        for recorded in layer1.routing.routes
    ]
    return Architecture(
        environment=environment.name,
        stacks=tuple(stack.node.id for stack in stacks),
        services=tuple(services),
        networks=tuple(sorted(set(network_names.values()))),
        routes=tuple(routes),
        external=tuple(sorted(external)),
    )


def _configured_name(resource: object) -> str:
    return str(getattr(resource, "name_input", None) or getattr(resource, "bucket_input", None) or "")


def _id(text: str) -> str:
    """A node id both Mermaid and DOT accept."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _route_label(route: RouteEdge) -> str:
    hosts = " | ".join(route.hosts) + (route.path_prefix or "")
    kind = "tcp " if route.tcp else ""
    auth = f" [{', '.join(route.auth)}]" if route.auth else ""
    return f"{kind}{hosts}{auth}"


def _services_by_stack(arch: Architecture) -> Iterable[tuple[str, list[ServiceNode]]]:
    for stack in arch.stacks:
        yield stack, [service for service in arch.services if service.stack == stack]


def mermaid(arch: Architecture) -> str:
    """A Mermaid flowchart: a subgraph per stack, overlays as rounded nodes, routes from Traefik's edge."""
    lines = ["flowchart LR", '  internet(("internet")) --> traefik_edge["Traefik :80/:443"]']
    for stack, members in _services_by_stack(arch):
        lines.append(f"  subgraph {stack}")
        lines += [f'    {_id("svc_" + service.name)}["{service.name}"]' for service in members]
        lines.append("  end")
    lines += [f'  {_id("net_" + network)}(["{network}"])' for network in arch.networks]
    for service in arch.services:
        lines += [f"  {_id('svc_' + service.name)} --- {_id('net_' + net)}" for net in service.networks]
    for route in arch.routes:
        label = _route_label(route).replace('"', "'")
        lines.append(f'  traefik_edge -- "{label}" --> {_id("svc_" + route.service)}')
    lines += [f'  {_id("ext_" + item)}[("{item}")]' for item in arch.external]
    return "\n".join(lines) + "\n"


def dot(arch: Architecture) -> str:
    """The same graph in Graphviz DOT (``dot -Tsvg``)."""

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {quoted('sprocket ' + arch.environment)} {{", "  rankdir=LR;", "  node [shape=box];"]
    lines.append(
        '  internet [shape=circle]; traefik_edge [label="Traefik :80/:443"]; internet -> traefik_edge;'
    )
    for stack, members in _services_by_stack(arch):
        lines.append(f"  subgraph cluster_{_id(stack)} {{ label={quoted(stack)};")
        lines += [f"    {_id('svc_' + s.name)} [label={quoted(s.name)}];" for s in members]
        lines.append("  }")
    lines += [f"  {_id('net_' + n)} [label={quoted(n)}, shape=ellipse];" for n in arch.networks]
    for service in arch.services:
        lines += [
            f"  {_id('svc_' + service.name)} -> {_id('net_' + net)} [dir=none, style=dotted];"
            for net in service.networks
        ]
    lines += [
        f"  traefik_edge -> {_id('svc_' + route.service)} [label={quoted(_route_label(route))}];"
        for route in arch.routes
    ]
    lines += [f"  {_id('ext_' + item)} [label={quoted(item)}, shape=cylinder];" for item in arch.external]
    return "\n".join([*lines, "}"]) + "\n"
