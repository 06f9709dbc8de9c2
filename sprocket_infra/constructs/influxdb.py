"""``InfluxDb``: InfluxDB 2 for Telegraf's metrics and the platform's analytics.

First start creates the organization (``ORG``, published as ``org`` for the platform's apps), the
``metrics`` bucket (Telegraf) and the operator; admin password and operator token are generated, kept in
Vault and read by the image's ``DOCKER_INFLUXDB_INIT_*_FILE`` variables (documented for the official
image), never from a plain env var. An init script then makes the
platform's bucket ``sprocket_<env>`` (which the original read from but never created) with its own
retention, and scoped logins:

InfluxDB 2 cannot be given a chosen API token except the operator's (influxdata/influxdb#21385), so the
scoped credentials are 1.x-compatibility logins whose passwords *can* be chosen: ``telegraf`` writes
``metrics``, ``grafana`` reads both buckets, ``platform`` reads and writes its own. InfluxDB 2 accepts them
on its 1.x endpoints (``/write``, ``/query``) as ``Authorization: Token <user>:<password>`` or basic auth;
the platform gets that ``user:password`` string as its token in Vault.

The UI is routed behind the ``SprocketAdmin`` forward-auth rule (it has its own login as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from cdktf import Fn
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.probes import wget_probe
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import ConfigFile, Resources, SwarmServiceProps, VolumeMount
from sprocket_infra.constructs.vault_secrets import VaultSecretKey
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.placement import volume_placement

NAME = "influxdb"
PORT = 8086
ORG = "sprocket"
"""The one organization; everything (buckets, logins, the apps' settings) lives in it."""
METRICS_BUCKET = "metrics"
ADMIN_RULE = "SprocketAdmin"
INIT_SCRIPT = "/docker-entrypoint-initdb.d/10-sprocket.sh"


def init_script() -> str:
    return files("sprocket_infra.assets").joinpath("influxdb/init-sprocket.sh").read_text()


@dataclass(frozen=True, kw_only=True)
class InfluxDbProps:
    context: ServiceContext


class InfluxDb(Construct):
    """Public attributes: ``endpoint``, ``org``, ``platform_bucket``, ``platform_token``,
    ``telegraf_password``, ``grafana_password`` (Vault keys)."""

    def __init__(self, scope: Construct, construct_id: str, props: InfluxDbProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        environment = context.environment
        secrets = context.secrets
        retention = environment.layer2.retention
        self.endpoint = ServiceEndpoint(host=NAME, port=PORT)
        self.org = ORG
        self.platform_bucket = naming.influx_platform_bucket(environment)

        admin_password, admin_token = (
            secrets.password("influx-admin"),
            secrets.password("influx-token", length=64),
        )
        admin = secrets.keep(
            "influx/admin",
            {"password": admin_password.result, "token": admin_token.result},
            made_by=[admin_password, admin_token],
        )
        self.telegraf_password = secrets.generated("influx/telegraf", "password")
        self.grafana_password = secrets.generated("influx/grafana", "password")
        platform_password = secrets.password("influx-platform")
        platform = secrets.keep(
            "influx",
            {
                "username": "platform",
                "password": platform_password.result,
                "token": Fn.format("platform:%s", [platform_password.result]),
            },
            made_by=[platform_password],
            for_platform=True,
        )
        self.platform_token: VaultSecretKey = platform["token"]

        mounted = {
            "influx-admin-password": admin["password"],
            "influx-admin-token": admin["token"],
            "influx-telegraf-password": self.telegraf_password,
            "influx-grafana-password": self.grafana_password,
            "influx-platform-password": platform["password"],
        }
        env = {
            "DOCKER_INFLUXDB_INIT_MODE": "setup",
            "DOCKER_INFLUXDB_INIT_USERNAME": "admin",
            "DOCKER_INFLUXDB_INIT_PASSWORD_FILE": f"{SECRETS_DIR}/influx-admin-password",
            "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE": f"{SECRETS_DIR}/influx-admin-token",
            "DOCKER_INFLUXDB_INIT_ORG": self.org,
            "DOCKER_INFLUXDB_INIT_BUCKET": METRICS_BUCKET,
            "DOCKER_INFLUXDB_INIT_RETENTION": f"{retention.metrics_days}d",
            "SPROCKET_PLATFORM_BUCKET": self.platform_bucket,
            "SPROCKET_PLATFORM_RETENTION": f"{retention.platform_metrics_days}d",
            "SPROCKET_TELEGRAF_PASSWORD_FILE": f"{SECRETS_DIR}/influx-telegraf-password",
            "SPROCKET_GRAFANA_PASSWORD_FILE": f"{SECRETS_DIR}/influx-grafana-password",
            "SPROCKET_PLATFORM_PASSWORD_FILE": f"{SECRETS_DIR}/influx-platform-password",
            "INFLUXD_REPORTING_DISABLED": "true",
            "INFLUXD_LOG_LEVEL": "warn",
        }
        self.service = context.routing.route(
            self,
            "influxdb",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=environment.layer2.images.influxdb,
                    env=env,
                    healthcheck=wget_probe(PORT, "/health", start_period_s=60),
                    resources=Resources(cpus=1.0, memory_mib=1024),
                    networks=[context.data, context.monitoring],
                    configs=[ConfigFile(target=INIT_SCRIPT, content=init_script(), mode=0o555)],
                    secrets=[
                        context.secret(ref, owner=NAME, file_name=file) for file, ref in mounted.items()
                    ],
                    mounts=[
                        VolumeMount(source=naming.service_volume(NAME), target="/var/lib/influxdb2"),
                        VolumeMount(source="influxdb-config", target="/etc/influxdb2"),
                    ],
                    placement=volume_placement(environment),
                    stateful=True,
                )
            ),
            routes=[context.routing.admin_ui("influxdb", subdomain="influx", port=PORT, rule=ADMIN_RULE)],
        )
