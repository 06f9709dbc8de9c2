"""``N8n``: workflow automation for the Elo team.

The editor is behind the ``EloTeam`` forward-auth rule; ``/webhook`` on the same host has its own router
without auth, because external systems call it. State lives in PostgreSQL when the environment has it
(n8n reads ``DB_POSTGRESDB_PASSWORD_FILE`` and, for any of its variables, a ``_FILE`` twin), else in SQLite
on the volume. The encryption key for stored credentials is generated, kept in Vault and read from a file
the same way. With a DigitalOcean cluster, TLS is verified against the CA that comes with n8n's login
(the cluster's own), mounted as a Docker config: a CA certificate is public.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.probes import wget_probe
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import ConfigFile, Resources, SwarmServiceProps, VolumeMount
from sprocket_infra.endpoints import DatabaseLogin
from sprocket_infra.placement import volume_placement
from sprocket_infra.routing import HttpRoute

NAME = "n8n"
PORT = 5678
ELO_RULE = "EloTeam"
WEBHOOK_PATH = "/webhook"
DATABASE_CA_FILE = "/etc/n8n/postgres-ca.crt"


@dataclass(frozen=True, kw_only=True)
class N8nProps:
    context: ServiceContext
    database: DatabaseLogin | None = None
    """n8n's own PostgreSQL login (with the CA to verify the server against, if it needs one). Left out:
    SQLite on the volume."""


class N8n(Construct):
    """Public attributes: ``service``, ``encryption_key`` (Vault key)."""

    def __init__(self, scope: Construct, construct_id: str, props: N8nProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        host = context.host("n8n")
        self.encryption_key = context.secrets.generated("n8n", "encryptionKey")
        env = {
            "N8N_HOST": host,
            "N8N_PORT": str(PORT),
            "N8N_PROTOCOL": naming.url_scheme(context.environment.routing),
            "WEBHOOK_URL": f"{context.url('n8n')}/",
            "N8N_PROXY_HOPS": "1",
            "N8N_ENCRYPTION_KEY_FILE": f"{SECRETS_DIR}/n8n-encryption-key",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "GENERIC_TIMEZONE": "UTC",
        }
        secrets = [context.secret(self.encryption_key, owner=NAME, file_name="n8n-encryption-key")]
        configs: list[ConfigFile] = []
        if props.database is not None:
            login = props.database
            env |= {
                "DB_TYPE": "postgresdb",
                "DB_POSTGRESDB_HOST": login.endpoint.host,
                "DB_POSTGRESDB_PORT": str(login.endpoint.port),
                "DB_POSTGRESDB_DATABASE": login.database,
                "DB_POSTGRESDB_USER": login.username,
                "DB_POSTGRESDB_PASSWORD_FILE": f"{SECRETS_DIR}/n8n-db-password",
                "DB_POSTGRESDB_SSL_ENABLED": "true" if login.sslmode != "disable" else "false",
            }
            secrets.append(context.secret(login.password, owner=NAME, file_name="n8n-db-password"))
            if login.ca_certificate is not None:
                env["DB_POSTGRESDB_SSL_CA_FILE"] = DATABASE_CA_FILE
                configs.append(ConfigFile(target=DATABASE_CA_FILE, content=login.ca_certificate))
        self.service = context.routing.route(
            self,
            "n8n",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.n8n,
                    env=env,
                    healthcheck=wget_probe(PORT, "/healthz", start_period_s=60),
                    resources=Resources(cpus=1.0, memory_mib=1024),
                    networks=[],
                    configs=configs,
                    secrets=secrets,
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target="/home/node/.n8n")],
                    placement=volume_placement(context.environment),
                    stateful=True,
                )
            ),
            routes=[
                context.routing.admin_ui(NAME, subdomain="n8n", port=PORT, rule=ELO_RULE),
                HttpRoute(
                    name=naming.router_name(NAME, "webhook"),
                    hosts=(host,),
                    port=PORT,
                    path_prefix=WEBHOOK_PATH,
                ),
            ],
        )
