"""``DockerSocketProxy``: read-only access to exactly the Docker API routes one consumer reads.

Traefik faces the internet; giving it ``docker.sock`` would give anyone who breaks it root on the node.
The proxy is HAProxy with a configuration rendered here (``docker_api_allowlist``): GET and HEAD only,
and only the metadata routes of the sections it is given, matched as anchored path patterns, so no
section can expose container files (``archive``, ``export``), logs or exec. By default it opens what
Traefik's Swarm provider reads (services, tasks, networks, version, ping). It runs only on managers (the
Swarm API lives there), mounts the socket read-only, and sits on a private overlay that only its consumer
joins. Other consumers (the monitoring agents) get their own proxy with their own ``allowed_sections``,
so widening one never widens the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs.docker_api_allowlist import SECTION_ROUTES, haproxy_config
from sprocket_infra.constructs.swarm_service import (
    BindMount,
    ConfigFile,
    Healthcheck,
    NamedNetwork,
    Resources,
    SwarmService,
    SwarmServiceProps,
)

ALLOWED_SECTIONS = ("NETWORKS", "PING", "SERVICES", "TASKS", "VERSION")
"""What Traefik's Swarm provider calls; nothing more."""
KNOWN_SECTIONS = tuple(sorted(SECTION_ROUTES))
"""Every section a proxy can open (each one a fixed set of read-only routes)."""
DENIED_SECTIONS = tuple(section for section in KNOWN_SECTIONS if section not in ALLOWED_SECTIONS)
"""What Traefik's proxy refuses."""
CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"
"""Where the official HAProxy image reads its configuration (its default command)."""
DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True, kw_only=True)
class DockerSocketProxyProps:
    environment: Environment
    network: NamedNetwork
    name: str = naming.SOCKET_PROXY_SERVICE
    """Swarm service name, the consumer's address for it. Left out: Traefik's proxy."""
    allowed_sections: tuple[str, ...] = ALLOWED_SECTIONS
    """API sections whose read-only routes are answered (GET/HEAD only). Left out: what Traefik reads."""

    def __post_init__(self) -> None:
        if "POST" in self.allowed_sections:
            raise ValueError(
                f"socket proxy {self.name}: POST would allow changes; proxies here are read-only"
            )
        unknown = sorted(set(self.allowed_sections) - set(KNOWN_SECTIONS))
        if unknown:
            raise ValueError(
                f"socket proxy {self.name}: unknown API sections {unknown}; known: {KNOWN_SECTIONS}"
            )


class DockerSocketProxy(Construct):
    """Public attributes: ``service``, ``network`` (join it to reach the proxy), ``endpoint``."""

    def __init__(self, scope: Construct, construct_id: str, props: DockerSocketProxyProps) -> None:
        super().__init__(scope, construct_id)
        self.network = props.network
        config = haproxy_config(
            sections=props.allowed_sections, port=naming.SOCKET_PROXY_PORT, socket=DOCKER_SOCKET
        )
        self.service = SwarmService(
            self,
            "proxy",
            SwarmServiceProps(
                name=props.name,
                image=props.environment.images.socket_proxy,
                configs=[ConfigFile(target=CONFIG_PATH, content=config)],
                healthcheck=Healthcheck(
                    test=(
                        "CMD-SHELL",
                        f"wget -qO- http://127.0.0.1:{naming.SOCKET_PROXY_PORT}/_ping || exit 1",
                    ),
                    interval_s=15,
                ),
                resources=Resources(cpus=0.25, memory_mib=64),
                networks=[props.network],
                mounts=[BindMount(source=DOCKER_SOCKET, target=DOCKER_SOCKET, read_only=True)],
                placement=props.environment.swarm.placement.manager,
                # The socket is root:docker 0660 on the node and the docker group's id differs between
                # hosts, so HAProxy runs as root inside, but with no capabilities (owning the socket is
                # enough to connect; the port is unprivileged) and a read-only root filesystem.
                user="root",
                read_only=True,
                cap_drop=("ALL",),
            ),
        )

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.service.name}:{naming.SOCKET_PROXY_PORT}"
