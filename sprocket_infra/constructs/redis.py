"""``Redis``: the platform's one Redis (cache, matchmaking state, Celery results), on the data network.

One identity per client, in Redis's ACLs (``redis.conf`` ends with an ``include`` of a Docker secret that
holds the ``user`` lines):

* ``default`` is off, so a connection that does not log in as someone can run nothing;
* each platform app has its own user, limited to keys and channels under its own prefix and to commands
  outside ``@dangerous`` (:mod:`sprocket_infra.constructs.app_identities`); its login is kept in Vault under
  ``infrastructure/<env>/for-platform/apps/<key>/redis``;
* ``telegraf`` may log in and run ``INFO`` (and ``PING``), nothing else: the metrics input and this
  service's own healthcheck use it;
* ``sprocket-admin`` has every right, for operators only (``infrastructure/<env>/redis``, which the
  platform policy cannot read).

The ACL lines carry no password, only its SHA-256 (``#<hex>``), which Terraform's ``sha256()`` computes
from the Vault value at deploy time, so the synthesized JSON holds references and the file holds digests.
The healthcheck reads the monitoring password from its own secret file and hands it to ``redis-cli``
through ``REDISCLI_AUTH``, never through argv.

Redis 8 ships the JSON and search modules the original loaded into ``redislabs/rejson`` by hand.
Persistence is AOF (every second) plus RDB snapshots on a named volume; eviction is off, because
queue-like data silently vanishing is worse than a full-memory error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.app_identities import RedisClient
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.endpoints import Login, ServiceEndpoint
from sprocket_infra.placement import volume_placement

NAME = "redis"
PORT = 6379
CONFIG_PATH = "/usr/local/etc/redis/redis.conf"
USERS_PATH = f"{SECRETS_DIR}/redis-users.conf"
PROBE_PASSWORD_FILE = "redis-probe-password"  # noqa: S105 - a file name
ADMIN_USER = "sprocket-admin"
MONITORING_USER = "telegraf"

DEFAULT_USER_LINE = "user default off resetpass resetkeys resetchannels -@all\n"
"""No password, no keys, no commands, and off: nobody is ``default``."""
MONITORING_RULES = "resetkeys resetchannels -@all +info +ping"
ADMIN_RULES = "~* &* +@all"


def users_template(clients: Sequence[RedisClient]) -> str:
    """The ACL ``user`` lines as a ``format`` template: one ``%s`` per SHA-256, admin, monitoring, apps."""
    lines = [DEFAULT_USER_LINE, f"user {ADMIN_USER} on #%s {ADMIN_RULES}\n"]
    lines.append(f"user {MONITORING_USER} on #%s {MONITORING_RULES}\n")
    lines += [f"user {client.username} on #%s {client.acl_rules()}\n" for client in clients]
    return "".join(lines)


def server_config(*, max_memory_mib: int) -> str:
    """``redis.conf``; the users come in through the ``include`` at the end."""
    return (
        f"port {PORT}\n"
        "bind * -::*\n"
        "dir /data\n"
        "appendonly yes\n"
        "appendfsync everysec\n"
        "save 3600 1 300 100 60 10000\n"
        f"maxmemory {max_memory_mib}mb\n"
        "maxmemory-policy noeviction\n"
        f"include {USERS_PATH}\n"
    )


@dataclass(frozen=True, kw_only=True)
class RedisProps:
    context: ServiceContext
    memory_mib: int = 1024
    """Container limit; Redis keeps a quarter of it free for forks and buffers. Left out: 1 GiB."""
    clients: Sequence[RedisClient] = ()
    """One user per app (``app_identities.redis_clients``). Left out: only the admin and monitoring."""


class Redis(Construct):
    """Public attributes: ``endpoint``; ``logins`` (catalog key -> that app's own login, Vault keys the
    platform reads); ``monitoring_user`` and ``monitoring`` (Telegraf's name and login); ``admin``
    (operators only)."""

    def __init__(self, scope: Construct, construct_id: str, props: RedisProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        secrets = context.secrets
        # The admin keeps the full-rights password Redis had before (same random_password).
        self.admin = secrets.login("redis", ADMIN_USER, random_id="redis-password")
        self.monitoring_user = MONITORING_USER
        self.monitoring = secrets.login("redis-monitoring", MONITORING_USER, random_id="redis-monitoring")
        self.logins: dict[str, Login] = secrets.app_logins("redis", props.clients)
        self.endpoint = ServiceEndpoint(host=NAME, port=PORT)
        probe = (
            f'REDISCLI_AUTH="$(cat {SECRETS_DIR}/{PROBE_PASSWORD_FILE})" '
            f"redis-cli --user {MONITORING_USER} -p {PORT} ping | grep -q PONG"
        )
        passwords = [self.admin.password, self.monitoring.password]
        passwords += [self.logins[client.key].password for client in props.clients]
        users = context.secret_file(
            owner=NAME, target=USERS_PATH, template=users_template(props.clients), refs=passwords, hashed=True
        )
        probe_password = context.secret(self.monitoring.password, owner=NAME, file_name=PROBE_PASSWORD_FILE)
        self.service = context.routing.route(
            self,
            "redis",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.redis,
                    # Started as redis (hardening): the entrypoint only loads the modules.
                    args=["redis-server", CONFIG_PATH],
                    healthcheck=Healthcheck(test=("CMD-SHELL", probe), interval_s=15),
                    resources=Resources(cpus=1.0, memory_mib=props.memory_mib),
                    networks=[context.data],
                    configs=[
                        ConfigFile(
                            target=CONFIG_PATH,
                            content=server_config(max_memory_mib=props.memory_mib * 3 // 4),
                        )
                    ],
                    secrets=[users, probe_password],
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target="/data")],
                    placement=volume_placement(context.environment),
                    stateful=True,
                )
            ),
        )
