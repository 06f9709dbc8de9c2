"""``RabbitMQ``: the platform's message broker, AMQP on the data network only.

One identity per app. The broker loads a *definitions* file at every boot (``load_definitions``): the
environment's vhost, a user per platform app with permissions on its own queues only (see
:mod:`sprocket_infra.constructs.app_identities`), and the administrator, whose permissions are for
operators (the management UI, ``rabbitmqctl``). No app holds the administrator's password any more: it
lives in Vault outside the platform's reach (``infrastructure/<env>/rabbitmq``), while each app's login is
kept under ``infrastructure/<env>/for-platform/apps/<key>/rabbitmq``.

The definitions file carries plain passwords: RabbitMQ accepts ``password`` as well as ``password_hash``
for a user, and its hash (base64 of a 4-byte salt followed by SHA-256 of salt and password) cannot be built
from Terraform's functions, which return hex or base64 of a whole string, never of bytes joined. The file is
a Docker secret, like the admin's config file it replaces, so the values are where they were before; the
synthesized JSON holds only Vault references. Importing at every boot also means a rotated password takes
effect when the broker restarts (a new Docker secret name rolls the service), which ``default_user`` never
did. With definitions to load on boot, RabbitMQ seeds no default user, so there is no ``guest`` either.

The management UI is routed behind the ``SprocketAdmin`` forward-auth rule; AMQP (5672) is never routed.
Metrics come from the built-in Prometheus endpoint (15692), so Telegraf needs no broker credentials.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.app_identities import RabbitMqClient
from sprocket_infra.constructs.service_context import ServiceContext
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.endpoints import Login, ServiceEndpoint
from sprocket_infra.placement import volume_placement

NAME = "rabbitmq"
AMQP_PORT = 5672
MANAGEMENT_PORT = 15672
PROMETHEUS_PORT = 15692
ADMIN_USER = "sprocket-admin"
ADMIN_RULE = "SprocketAdmin"
CONF_DIR = "/etc/rabbitmq/conf.d"
DEFINITIONS_PATH = "/etc/rabbitmq/definitions.json"
"""Outside ``conf.d``: RabbitMQ reads every file in that directory as configuration."""
MEMORY_MIB = 1024
_PASSWORD = "@password@"  # noqa: S105 - a placeholder
"""Stands for a password while the definitions are built; ``%s`` (filled from Vault) in the template."""


def broker_config(*, memory_mib: int) -> str:
    """Plain settings; the original set only ``heartbeat = 60``.

    The memory alarm is relative to ``total_memory_available_override_value``, the container's limit:
    left to itself RabbitMQ sizes it against the node's RAM (RabbitMQ's docs warn it cannot always see a
    cgroup limit), so a 1 GiB task on a 24 GiB node would only throttle publishers past 14 GiB, long
    after the kernel killed it."""
    return (
        f"listeners.tcp.default = {AMQP_PORT}\n"
        f"management.tcp.port = {MANAGEMENT_PORT}\n"
        f"prometheus.tcp.port = {PROMETHEUS_PORT}\n"
        "heartbeat = 60\n"
        "loopback_users.guest = true\n"
        f"total_memory_available_override_value = {memory_mib * 1024 * 1024}\n"
        "vm_memory_high_watermark.relative = 0.6\n"
        "disk_free_limit.absolute = 1GB\n"
        "log.console = true\n"
        "log.console.level = info\n"
        f"load_definitions = {DEFINITIONS_PATH}\n"
    )


def definitions_template(*, vhost: str, admin: str, clients: Sequence[RabbitMqClient]) -> str:
    """The definitions file as a ``format`` template: the administrator's password, then each client's.

    Passwords are letters and digits (``Layer2Secrets.password``), so they need no JSON escaping; any
    ``%`` in the JSON itself is doubled so ``format`` leaves it alone.
    """
    users = [{"name": admin, "password": _PASSWORD, "tags": ["administrator"]}]
    users += [{"name": client.username, "password": _PASSWORD, "tags": []} for client in clients]
    permissions = [{"user": admin, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}]
    permissions += [
        {
            "user": client.username,
            "vhost": vhost,
            "configure": client.configure,
            "write": client.write,
            "read": client.read,
        }
        for client in clients
    ]
    document = {"users": users, "vhosts": [{"name": vhost}], "permissions": permissions}
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return text.replace("%", "%%").replace(f'"{_PASSWORD}"', '"%s"')


@dataclass(frozen=True, kw_only=True)
class RabbitMqProps:
    context: ServiceContext
    clients: Sequence[RabbitMqClient] = ()
    """One user per app (``app_identities.rabbitmq_clients``). Left out: only the administrator."""


class RabbitMq(Construct):
    """Public attributes: ``endpoint`` (AMQP), ``vhost``, ``login`` (the administrator, operators only),
    ``logins`` (catalog key -> that app's own login, Vault keys the platform policy reads)."""

    def __init__(self, scope: Construct, construct_id: str, props: RabbitMqProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        secrets = context.secrets
        # The administrator keeps the password it had before (same random_password).
        self.login = secrets.login("rabbitmq", ADMIN_USER, random_id="rabbitmq-admin")
        self.logins: dict[str, Login] = secrets.app_logins("rabbitmq", props.clients)
        self.vhost = naming.rabbitmq_vhost(context.environment)
        self.endpoint = ServiceEndpoint(host=NAME, port=AMQP_PORT)
        definitions = context.secret_file(
            owner=NAME,
            target=DEFINITIONS_PATH,
            template=definitions_template(vhost=self.vhost, admin=ADMIN_USER, clients=props.clients),
            refs=[self.login.password, *(self.logins[client.key].password for client in props.clients)],
        )
        self.service = context.routing.route(
            self,
            "rabbitmq",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.rabbitmq,
                    hostname=NAME,  # the node name, and so the data directory, must not change between tasks
                    healthcheck=Healthcheck(
                        test=("CMD", "rabbitmq-diagnostics", "-q", "ping"), interval_s=30, start_period_s=60
                    ),
                    resources=Resources(cpus=1.0, memory_mib=MEMORY_MIB),
                    networks=[context.data, context.monitoring],
                    configs=[
                        ConfigFile(
                            target=f"{CONF_DIR}/20-sprocket.conf",
                            content=broker_config(memory_mib=MEMORY_MIB),
                        ),
                        ConfigFile(
                            target="/etc/rabbitmq/enabled_plugins",
                            content="[rabbitmq_management,rabbitmq_prometheus].\n",
                        ),
                    ],
                    secrets=[definitions],
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target="/var/lib/rabbitmq")],
                    placement=volume_placement(context.environment),
                    stateful=True,
                )
            ),
            routes=[
                context.routing.admin_ui(
                    "rabbitmq-management", subdomain="rabbitmq", port=MANAGEMENT_PORT, rule=ADMIN_RULE
                )
            ],
        )
