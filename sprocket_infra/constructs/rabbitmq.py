"""``RabbitMQ``: the platform's message broker, AMQP on the data network only.

No ``guest``: RabbitMQ creates its first user from ``default_user``/``default_pass`` on an empty data
directory, and that user is a generated administrator whose name and password live in Vault. The
official image dropped its ``RABBITMQ_DEFAULT_*_FILE`` variables in 3.9 in favour of config files, and
RabbitMQ reads every file in ``/etc/rabbitmq/conf.d``; so the credentials arrive as a Docker *secret*
mounted there (``30-admin.conf``), next to the plain settings (``20-sprocket.conf``) delivered as a config.
The management UI is routed behind the ``SprocketAdmin`` forward-auth rule; AMQP (5672) is never routed.
Metrics come from the built-in Prometheus endpoint (15692), so Telegraf needs no broker credentials.

``default_user`` only applies to an empty node: rotating the password later means
``rabbitmqctl change_password`` as well as a new Vault value.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
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
MEMORY_MIB = 1024


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
    )


@dataclass(frozen=True, kw_only=True)
class RabbitMqProps:
    context: ServiceContext


class RabbitMq(Construct):
    """Public attributes: ``endpoint`` (AMQP), ``login`` (the administrator, Vault keys)."""

    def __init__(self, scope: Construct, construct_id: str, props: RabbitMqProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        secrets = context.secrets
        password = secrets.password("rabbitmq-admin")
        kept = secrets.keep(
            "rabbitmq",
            {"username": ADMIN_USER, "password": password.result},
            made_by=[password],
            for_platform=True,
        )
        self.login = Login(username=kept["username"], password=kept["password"])
        self.endpoint = ServiceEndpoint(host=NAME, port=AMQP_PORT)
        admin = context.secret_file(
            owner=NAME,
            target=f"{CONF_DIR}/30-admin.conf",
            template="default_user = %s\ndefault_pass = %s\ndefault_user_tags.administrator = true\n",
            refs=[self.login.username, self.login.password],
        )
        self.service = context.routing.route(
            self,
            "rabbitmq",
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
                        target=f"{CONF_DIR}/20-sprocket.conf", content=broker_config(memory_mib=MEMORY_MIB)
                    ),
                    ConfigFile(
                        target="/etc/rabbitmq/enabled_plugins",
                        content="[rabbitmq_management,rabbitmq_prometheus].\n",
                    ),
                ],
                secrets=[admin],
                mounts=[VolumeMount(source=naming.service_volume(NAME), target="/var/lib/rabbitmq")],
                placement=volume_placement(context.environment),
                stateful=True,
            ),
            routes=[
                context.routing.admin_ui(
                    "rabbitmq-management", subdomain="rabbitmq", port=MANAGEMENT_PORT, rule=ADMIN_RULE
                )
            ],
        )
