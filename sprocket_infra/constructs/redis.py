"""``Redis``: the platform's one Redis (cache, matchmaking state, Celery results), on the data network.

The password never appears on a command line (the original passed ``--requirepass`` in argv, readable by
anyone with ``docker service inspect``): ``redis.conf`` ends with an ``include`` of a Docker secret that
holds just ``requirepass <value>``. The healthcheck hands the password to ``redis-cli`` through
``REDISCLI_AUTH`` for the one call, not through argv.

Redis 8 ships the JSON and search modules the original loaded into ``redislabs/rejson`` by hand.
Persistence is AOF (every second) plus RDB snapshots on a named volume; eviction is off, because
queue-like data silently vanishing is worse than a full-memory error.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.constructs.vault_secrets import VaultSecretKey
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.placement import volume_placement

NAME = "redis"
PORT = 6379
CONFIG_PATH = "/usr/local/etc/redis/redis.conf"
AUTH_PATH = f"{SECRETS_DIR}/redis-auth.conf"


def server_config(*, max_memory_mib: int) -> str:
    """``redis.conf``; the password comes in through the ``include`` at the end."""
    return (
        f"port {PORT}\n"
        "bind * -::*\n"
        "dir /data\n"
        "appendonly yes\n"
        "appendfsync everysec\n"
        "save 3600 1 300 100 60 10000\n"
        f"maxmemory {max_memory_mib}mb\n"
        "maxmemory-policy noeviction\n"
        f"include {AUTH_PATH}\n"
    )


@dataclass(frozen=True, kw_only=True)
class RedisProps:
    context: ServiceContext
    memory_mib: int = 1024
    """Container limit; Redis keeps a quarter of it free for forks and buffers. Left out: 1 GiB."""


class Redis(Construct):
    """Public attributes: ``endpoint``, ``password`` (the Vault key the platform reads too)."""

    def __init__(self, scope: Construct, construct_id: str, props: RedisProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        self.password: VaultSecretKey = context.secrets.generated("redis", "password", for_platform=True)
        self.endpoint = ServiceEndpoint(host=NAME, port=PORT)
        probe = (
            f"REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' {AUTH_PATH})\" "
            f"redis-cli -p {PORT} ping | grep -q PONG"
        )
        self.service = context.routing.route(
            self,
            "redis",
            SwarmServiceProps(
                name=NAME,
                image=context.environment.layer2.images.redis,
                # The image's entrypoint drops to the redis user; pass only its arguments.
                args=["redis-server", CONFIG_PATH],
                healthcheck=Healthcheck(test=("CMD-SHELL", probe), interval_s=15),
                resources=Resources(cpus=1.0, memory_mib=props.memory_mib),
                networks=[context.data],
                configs=[
                    ConfigFile(
                        target=CONFIG_PATH, content=server_config(max_memory_mib=props.memory_mib * 3 // 4)
                    )
                ],
                secrets=[
                    context.secret_file(
                        owner=NAME, target=AUTH_PATH, template="requirepass %s\n", refs=[self.password]
                    )
                ],
                mounts=[VolumeMount(source=naming.service_volume(NAME), target="/data")],
                placement=volume_placement(context.environment),
                stateful=True,
            ),
        )
