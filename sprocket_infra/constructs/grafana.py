"""``Grafana``: dashboards over InfluxDB (metrics) and Loki (logs).

Secrets reach Grafana only through its ``__FILE`` variables (``GF_SECURITY_ADMIN_PASSWORD__FILE``,
``GF_DATABASE_PASSWORD__FILE``) and the ``$__file{...}`` expansion of provisioning files, both documented
Grafana features. Its state lives in PostgreSQL (its own database and login, ``sslmode=require``) when the
environment has one, else in SQLite on the volume. Datasources are provisioned, not clicked together:
Loki, and InfluxDB's two buckets through Grafana's read-only ``grafana`` login. Sign-up is off, and the UI
sits behind the ``SprocketStaff`` forward-auth rule in front of Grafana's own login.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.grafana_alerts import alerting_provisioning
from sprocket_infra.constructs.probes import wget_probe
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import ConfigFile, Resources, SwarmServiceProps, VolumeMount
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.endpoints import DatabaseLogin, ServiceEndpoint
from sprocket_infra.placement import volume_placement

NAME = "grafana"
PORT = 3000
STAFF_RULE = "SprocketStaff"
DATASOURCES_PATH = "/etc/grafana/provisioning/datasources/sprocket.yaml"
ALERTING_PATH = "/etc/grafana/provisioning/alerting/sprocket-alerts.yaml"
WEBHOOK_FILE = f"{SECRETS_DIR}/grafana-alert-webhook"
INFLUX_PASSWORD_FILE = f"{SECRETS_DIR}/influx-grafana-password"


def influx_datasource_uid(bucket: str) -> str:
    """The provisioned InfluxQL data source of ``bucket``; alert rules query the metrics one by this id."""
    return f"influx-{bucket.replace('_', '-')}"


def datasources(
    *, loki: ServiceEndpoint, influx: ServiceEndpoint, buckets: tuple[str, ...]
) -> dict[str, Any]:
    """Provisioned datasources: Loki, and one InfluxQL source per bucket (the first is the default)."""
    sources: list[dict[str, Any]] = [
        {
            "name": "Loki",
            "uid": "loki",
            "type": "loki",
            "access": "proxy",
            "url": f"http://{loki.host}:{loki.port}",
            "jsonData": {"maxLines": 1000},
        }
    ]
    for index, bucket in enumerate(buckets):
        sources.append(
            {
                "name": f"InfluxDB {bucket}",
                "uid": influx_datasource_uid(bucket),
                "type": "influxdb",
                "access": "proxy",
                "url": f"http://{influx.host}:{influx.port}",
                "user": "grafana",
                "isDefault": index == 0,
                "jsonData": {"dbName": bucket, "httpMode": "POST"},
                "secureJsonData": {"password": f"$__file{{{INFLUX_PASSWORD_FILE}}}"},
            }
        )
    return {"apiVersion": 1, "datasources": sources}


@dataclass(frozen=True, kw_only=True)
class GrafanaProps:
    context: ServiceContext
    loki: ServiceEndpoint
    influx: ServiceEndpoint
    influx_buckets: tuple[str, ...]
    """Buckets to offer as datasources, the default first."""
    influx_password: VaultKey
    """Vault key of Grafana's read-only InfluxDB login."""
    alert_webhook: VaultKey
    """The operator's Discord webhook for node disk/memory alerts (``grafana-alert-webhook``)."""
    database: DatabaseLogin | None = None
    """Grafana's own PostgreSQL login. Left out: SQLite on the volume."""


class Grafana(Construct):
    """Public attributes: ``service``, ``admin_password`` (Vault key)."""

    def __init__(self, scope: Construct, construct_id: str, props: GrafanaProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        self.admin_password = context.secrets.generated("grafana", "adminPassword")
        env = {
            "GF_SERVER_ROOT_URL": context.url("grafana"),
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD__FILE": f"{SECRETS_DIR}/grafana-admin-password",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            "GF_LOG_MODE": "console",
        }
        secrets = [
            context.secret(self.admin_password, owner=NAME, file_name="grafana-admin-password"),
            context.secret(props.influx_password, owner=NAME, file_name="influx-grafana-password"),
            context.secret(props.alert_webhook, owner=NAME, file_name="grafana-alert-webhook"),
        ]
        if props.database is not None:
            login = props.database
            env |= {
                "GF_DATABASE_TYPE": "postgres",
                "GF_DATABASE_HOST": f"{login.endpoint.host}:{login.endpoint.port}",
                "GF_DATABASE_NAME": login.database,
                "GF_DATABASE_USER": login.username,
                "GF_DATABASE_PASSWORD__FILE": f"{SECRETS_DIR}/grafana-db-password",
                "GF_DATABASE_SSL_MODE": login.sslmode,
            }
            secrets.append(context.secret(login.password, owner=NAME, file_name="grafana-db-password"))
        provisioned = datasources(loki=props.loki, influx=props.influx, buckets=props.influx_buckets)
        alerting = alerting_provisioning(
            environment=context.environment.name,
            datasource_uid=influx_datasource_uid(props.influx_buckets[0]),
            webhook_file=WEBHOOK_FILE,
        )
        self.service = context.routing.route(
            self,
            "grafana",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.grafana,
                    env=env,
                    healthcheck=wget_probe(PORT, "/api/health", start_period_s=60),
                    resources=Resources(cpus=1.0, memory_mib=512),
                    networks=[context.monitoring],
                    configs=[
                        ConfigFile(
                            target=DATASOURCES_PATH, content=yaml.safe_dump(provisioned, sort_keys=True)
                        ),
                        ConfigFile(target=ALERTING_PATH, content=yaml.safe_dump(alerting, sort_keys=True)),
                    ],
                    secrets=secrets,
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target="/var/lib/grafana")],
                    placement=volume_placement(context.environment),
                    stateful=True,
                )
            ),
            routes=[context.routing.admin_ui("grafana", subdomain="grafana", port=PORT, rule=STAFF_RULE)],
        )
