"""``DockerSocketProxy``: read-only access to exactly the Docker API sections Traefik's Swarm provider reads.

Traefik faces the internet; giving it ``docker.sock`` would give anyone who breaks it root on the node.
The proxy answers GET requests for services, tasks, networks, version and ping, refuses everything else
(POST included), runs only on managers (the Swarm API lives there) and sits on a private overlay that
only Traefik joins.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs.swarm_service import (
    BindMount,
    Healthcheck,
    NamedNetwork,
    Resources,
    SwarmService,
    SwarmServiceProps,
)

ALLOWED_SECTIONS = ("NETWORKS", "PING", "SERVICES", "TASKS", "VERSION")
"""What Traefik's Swarm provider calls; nothing more."""
DENIED_SECTIONS = (
    "AUTH", "BUILD", "COMMIT", "CONFIGS", "CONTAINERS", "DISTRIBUTION", "EVENTS", "EXEC", "IMAGES", "INFO",
    "NODES", "PLUGINS", "POST", "SECRETS", "SESSION", "SWARM", "SYSTEM", "VOLUMES",
)  # fmt: skip
"""Set to 0 explicitly, so a changed image default can't widen access."""


@dataclass(frozen=True, kw_only=True)
class DockerSocketProxyProps:
    environment: Environment
    network: NamedNetwork


class DockerSocketProxy(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DockerSocketProxyProps) -> None:
        super().__init__(scope, construct_id)
        env = dict.fromkeys(ALLOWED_SECTIONS, "1") | dict.fromkeys(DENIED_SECTIONS, "0")
        self.service = SwarmService(
            self,
            "proxy",
            SwarmServiceProps(
                name=naming.SOCKET_PROXY_SERVICE,
                image=props.environment.images.socket_proxy,
                env=env,
                healthcheck=Healthcheck(
                    test=(
                        "CMD-SHELL",
                        f"wget -qO- http://127.0.0.1:{naming.SOCKET_PROXY_PORT}/_ping || exit 1",
                    ),
                    interval_s=15,
                ),
                resources=Resources(cpus=0.25, memory_mib=64),
                networks=[props.network],
                mounts=[
                    BindMount(source="/var/run/docker.sock", target="/var/run/docker.sock", read_only=True)
                ],
                placement=props.environment.swarm.placement.manager,
            ),
        )

    @property
    def endpoint(self) -> str:
        return f"tcp://{naming.SOCKET_PROXY_SERVICE}:{naming.SOCKET_PROXY_PORT}"
