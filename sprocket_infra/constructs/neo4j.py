"""``Neo4j``: the Elo team's graph database.

The browser (HTTP, 7474) is behind the ``EloTeam`` forward-auth rule. Bolt (7687) is a TCP router matched
by TLS SNI on its own host, so drivers connect with ``neo4j+s://<bolt host>:443`` and Traefik terminates
TLS. The initial ``neo4j/<password>`` pair comes from ``NEO4J_AUTH_FILE`` (supported by the image since
5.24, content ``neo4j/<password>``); the password is generated and kept in Vault where the platform's Elo
service can read it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.probes import bash_probe
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import Resources, SwarmServiceProps, VolumeMount
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.placement import volume_placement
from sprocket_infra.routing import TcpRoute

NAME = "neo4j"
HTTP_PORT = 7474
BOLT_PORT = 7687
ELO_RULE = "EloTeam"
AUTH_PATH = f"{SECRETS_DIR}/neo4j-auth"


@dataclass(frozen=True, kw_only=True)
class Neo4jProps:
    context: ServiceContext
    heap_mib: int = 512
    """JVM heap; the container gets twice this (page cache and overhead). Left out: 512 MiB."""


class Neo4j(Construct):
    """Public attributes: ``bolt`` (internal endpoint), ``bolt_host`` (public SNI host), ``password``."""

    def __init__(self, scope: Construct, construct_id: str, props: Neo4jProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        self.password = context.secrets.generated("neo4j", "password", for_platform=True)
        self.bolt = ServiceEndpoint(host=NAME, port=BOLT_PORT)
        self.bolt_host = context.host("bolt.neo4j")
        env = {
            "NEO4J_AUTH_FILE": AUTH_PATH,
            "NEO4J_server_default__listen__address": "0.0.0.0",  # noqa: S104 - inside the container
            "NEO4J_server_bolt_advertised__address": f"{self.bolt_host}:443",
            "NEO4J_server_memory_heap_initial__size": f"{props.heap_mib}m",
            "NEO4J_server_memory_heap_max__size": f"{props.heap_mib}m",
            "NEO4J_server_memory_pagecache_size": f"{props.heap_mib // 2}m",
        }
        bolt = context.environment.routing.edge.allow.neo4j_bolt
        bolt_clients = tuple(str(net) for net in bolt or ())
        self.service = context.routing.route(
            self,
            "neo4j",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.neo4j,
                    env=env,
                    healthcheck=bash_probe(HTTP_PORT, "/", start_period_s=90),
                    resources=Resources(cpus=1.0, memory_mib=props.heap_mib * 2),
                    networks=[context.data],
                    secrets=[
                        context.secret_file(
                            owner=NAME, target=AUTH_PATH, template="neo4j/%s", refs=[self.password]
                        )
                    ],
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target="/data")],
                    placement=volume_placement(context.environment),
                    stateful=True,
                )
            ),
            routes=[
                context.routing.admin_ui("neo4j", subdomain="neo4j", port=HTTP_PORT, rule=ELO_RULE),
                TcpRoute(name="neo4j-bolt", hosts=(self.bolt_host,), port=BOLT_PORT, allow_from=bolt_clients),
            ],
        )
