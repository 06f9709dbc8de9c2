"""``Telegraf``: host, container, Redis and RabbitMQ metrics into InfluxDB's ``metrics`` bucket.

The original's inputs pointed at ``localhost`` (so only ``internal`` ever collected) and wrote with the
shared admin token. Here every input names the service it reads, on the network that reaches it:

* host CPU, memory, network and load from the node's ``/proc`` and ``/sys``, bound read-only under
  ``/hostfs`` (nothing else of the host: no ``/``, so no file of the node or of another container);
* disk usage of the filesystem that holds the node's Docker volumes (where every service's data grows),
  measured on an empty volume of Telegraf's own mounted read-only at :data:`DISK_PATH`, and reported under
  that path;
* containers and Swarm services through the monitoring socket proxy (read-only; Telegraf never sees
  ``docker.sock``);
* Redis at ``redis:6379`` as its monitoring-only user (``INFO``), RabbitMQ through its Prometheus
  endpoint (no broker login).

The InfluxDB password comes from Telegraf's Docker secret store (``@{docker:<file>}`` reads
``/run/secrets/<file>``). The Redis input takes no secret-store reference (its ``password`` is a plain
string: ``@{docker:...}`` would be sent to Redis literally), so its whole section is a Docker *secret* in
``telegraf.d``, loaded with ``--config-directory``. Output goes through InfluxDB's 1.x-compatible write
API as the write-only ``telegraf`` login. Telegraf runs
once, on a manager next to the socket proxy, so host metrics are that node's; a ``health`` output on 8080
is its healthcheck.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxy
from sprocket_infra.constructs.probes import wget_probe
from sprocket_infra.constructs.service_context import ServiceContext
from sprocket_infra.constructs.swarm_service import (
    BindMount,
    ConfigFile,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.endpoints import ServiceEndpoint

NAME = "telegraf"
CONFIG_PATH = "/etc/telegraf/telegraf.conf"
CONFIG_DIR = "/etc/telegraf/telegraf.d"
HEALTH_PORT = 8080
DISK_PATH = "/docker-volumes"
"""Where Telegraf's empty, read-only ``telegraf-disk`` volume is mounted: a statfs there measures the node's
Docker volume filesystem. ``inputs.disk`` takes its mount list from the container's own mount table
(``HOST_PROC_MOUNTINFO``), so the path in the metrics is this one."""
INFLUX_SECRET = "influx_password"  # noqa: S105 - a file name


def telegraf_config(*, docker_host: str, influx: ServiceEndpoint, bucket: str, rabbitmq_metrics: str) -> str:
    """``telegraf.conf``; ``${NODE_HOSTNAME}`` is filled by Telegraf from the environment.

    ``collection_jitter`` (the agent has no ``jitter``: Telegraf refused to start on that key) and
    ``skip_processors_after_aggregators`` (set to the new default, which Telegraf warns about when unset)
    are agent options of Telegraf 1.40."""
    return f"""\
[agent]
  interval = "10s"
  flush_interval = "10s"
  collection_jitter = "2s"
  metric_batch_size = 1000
  metric_buffer_limit = 10000
  hostname = "${{NODE_HOSTNAME}}"
  omit_hostname = false
  skip_processors_after_aggregators = true

[[secretstores.docker]]
  id = "docker"

[[outputs.influxdb]]
  urls = ["http://{influx.host}:{influx.port}"]
  database = "{bucket}"
  skip_database_creation = true
  username = "telegraf"
  password = "@{{docker:{INFLUX_SECRET}}}"

[[outputs.health]]
  service_address = "http://:{HEALTH_PORT}"

[[inputs.cpu]]
  percpu = false
  totalcpu = true
[[inputs.mem]]
[[inputs.swap]]
[[inputs.system]]
[[inputs.processes]]
[[inputs.disk]]
  mount_points = ["{DISK_PATH}"]
  ignore_fs = ["tmpfs", "devtmpfs", "devfs", "overlay", "aufs", "squashfs", "nsfs"]
[[inputs.diskio]]
[[inputs.net]]
  ignore_protocol_stats = true

[[inputs.docker]]
  endpoint = "{docker_host}"
  gather_services = true
  perdevice_include = ["cpu", "blkio", "network"]
  total_include = ["cpu", "blkio", "network"]
  timeout = "5s"

[[inputs.prometheus]]
  urls = ["{rabbitmq_metrics}"]
  metric_version = 2

[[inputs.internal]]
"""


def redis_input(redis: ServiceEndpoint, username: str) -> str:
    """The Redis input as a ``format`` template for the monitoring user's password (letters and digits, so a
    TOML literal string, like the name). That user may run ``INFO`` and nothing else."""
    return (
        f'[[inputs.redis]]\n  servers = ["tcp://{redis.host}:{redis.port}"]\n'
        f"  username = '{username}'\n  password = '%s'\n"
    )


@dataclass(frozen=True, kw_only=True)
class TelegrafProps:
    context: ServiceContext
    socket_proxy: DockerSocketProxy
    """The agents' read-only proxy to the Docker API (its network and ``tcp://`` endpoint)."""
    influx: ServiceEndpoint
    influx_bucket: str
    influx_password: VaultKey
    redis: ServiceEndpoint
    redis_user: str
    """Redis's monitoring-only user (``INFO``)."""
    redis_password: VaultKey
    rabbitmq_metrics: str
    """URL of RabbitMQ's Prometheus endpoint."""


class Telegraf(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: TelegrafProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        config = telegraf_config(
            docker_host=props.socket_proxy.endpoint,
            influx=props.influx,
            bucket=props.influx_bucket,
            rabbitmq_metrics=props.rabbitmq_metrics,
        )
        self.service = context.routing.route(
            self,
            "telegraf",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.telegraf,
                    # Strict env handling chosen explicitly (1.38+ default; unset, Telegraf warns).
                    args=[
                        "telegraf",
                        f"--config={CONFIG_PATH}",
                        f"--config-directory={CONFIG_DIR}",
                        "--strict-env-handling",
                    ],
                    env={
                        "NODE_HOSTNAME": "{{.Node.Hostname}}",
                        "HOST_PROC": "/hostfs/proc",
                        "HOST_SYS": "/hostfs/sys",
                        "HOST_PROC_MOUNTINFO": "/proc/self/mountinfo",
                    },
                    healthcheck=wget_probe(HEALTH_PORT, "/"),
                    resources=Resources(cpus=0.5, memory_mib=256),
                    networks=[context.monitoring, context.data, props.socket_proxy.network],
                    configs=[ConfigFile(target=CONFIG_PATH, content=config)],
                    secrets=[
                        context.secret(props.influx_password, owner=NAME, file_name=INFLUX_SECRET),
                        context.secret_file(
                            owner=NAME,
                            target=f"{CONFIG_DIR}/redis.conf",
                            template=redis_input(props.redis, props.redis_user),
                            refs=[props.redis_password],
                        ),
                    ],
                    mounts=[
                        BindMount(source="/proc", target="/hostfs/proc", read_only=True),
                        BindMount(source="/sys", target="/hostfs/sys", read_only=True),
                        VolumeMount(
                            source=naming.service_volume(NAME, "disk"), target=DISK_PATH, read_only=True
                        ),
                    ],
                    placement=context.environment.swarm.placement.manager,
                )
            ),
        )
