"""``DockerSocketProxy``: read-only access to exactly the Docker API sections one consumer reads.

Traefik faces the internet; giving it ``docker.sock`` would give anyone who breaks it root on the node.
By default the proxy answers GET requests for services, tasks, networks, version and ping (what Traefik's
Swarm provider reads), refuses everything else (POST included), runs only on managers (the Swarm API lives
there) and sits on a private overlay that only its consumer joins. Other consumers (the monitoring agents)
get their own proxy with their own ``allowed_sections``, so widening one never widens the other.
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
KNOWN_SECTIONS = (
    "AUTH", "BUILD", "COMMIT", "CONFIGS", "CONTAINERS", "DISTRIBUTION", "EVENTS", "EXEC", "IMAGES", "INFO",
    "NETWORKS", "NODES", "PING", "PLUGINS", "POST", "SECRETS", "SERVICES", "SESSION", "SWARM", "SYSTEM",
    "TASKS", "VERSION", "VOLUMES",
)  # fmt: skip
"""Every section the proxy image knows; those not allowed are set to 0 explicitly, so a changed image
default can't widen access."""
DENIED_SECTIONS = tuple(section for section in KNOWN_SECTIONS if section not in ALLOWED_SECTIONS)
"""What Traefik's proxy refuses."""


@dataclass(frozen=True, kw_only=True)
class DockerSocketProxyProps:
    environment: Environment
    network: NamedNetwork
    name: str = naming.SOCKET_PROXY_SERVICE
    """Swarm service name, the consumer's address for it. Left out: Traefik's proxy."""
    allowed_sections: tuple[str, ...] = ALLOWED_SECTIONS
    """API sections answered (GET only unless ``POST`` is listed). Left out: what Traefik reads."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.allowed_sections) - set(KNOWN_SECTIONS))
        if unknown:
            raise ValueError(
                f"socket proxy {self.name}: unknown API sections {unknown}; known: {KNOWN_SECTIONS}"
            )
        if "POST" in self.allowed_sections:
            raise ValueError(
                f"socket proxy {self.name}: POST would allow changes; proxies here are read-only"
            )


class DockerSocketProxy(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DockerSocketProxyProps) -> None:
        super().__init__(scope, construct_id)
        env = {section: "1" if section in props.allowed_sections else "0" for section in KNOWN_SECTIONS}
        self.service = SwarmService(
            self,
            "proxy",
            SwarmServiceProps(
                name=props.name,
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
        return f"tcp://{self.service.name}:{naming.SOCKET_PROXY_PORT}"
