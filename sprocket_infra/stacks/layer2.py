"""layer2, data and observability: Vault's configuration, PostgreSQL, buckets and the shared services.

The stack only composes; each part lives in its construct. Order matters in one place: Vault's mounts
come first, because every credential layer2 generates is written there and read back from there.

What the platform stack uses is a plain public attribute of this object (see ``__init__``); handing the
stack on is how those values cross stacks, so nothing is re-typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from constructs import Construct

from sprocket_infra import naming, providers
from sprocket_infra.catalog import Catalog, load_catalog
from sprocket_infra.config import Environment
from sprocket_infra.constructs.app_identities import rabbitmq_clients, redis_clients
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxy, DockerSocketProxyProps
from sprocket_infra.constructs.forward_auth import DiscordForwardAuth, DiscordForwardAuthProps
from sprocket_infra.constructs.grafana import Grafana, GrafanaProps
from sprocket_infra.constructs.influxdb import METRICS_BUCKET, InfluxDb, InfluxDbProps
from sprocket_infra.constructs.managed_postgres import ManagedPostgres, ManagedPostgresProps
from sprocket_infra.constructs.n8n import N8n, N8nProps
from sprocket_infra.constructs.neo4j import Neo4j, Neo4jProps
from sprocket_infra.constructs.observability.alloy import Alloy, AlloyProps
from sprocket_infra.constructs.observability.loki import Loki, LokiProps
from sprocket_infra.constructs.observability.telegraf import Telegraf, TelegrafProps
from sprocket_infra.constructs.overlay_network import overlay_network
from sprocket_infra.constructs.platform_buckets import PlatformBuckets, PlatformBucketsProps
from sprocket_infra.constructs.rabbitmq import PROMETHEUS_PORT, RabbitMq, RabbitMqProps
from sprocket_infra.constructs.redis import Redis, RedisProps
from sprocket_infra.constructs.service_context import ServiceContext
from sprocket_infra.constructs.swarm_service import NamedNetwork
from sprocket_infra.constructs.vault_configuration import VaultConfiguration, VaultConfigurationProps
from sprocket_infra.constructs.vault_database_engine import VaultDatabaseEngine, VaultDatabaseEngineProps
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.constructs.vault_secrets import Layer2Secrets
from sprocket_infra.endpoints import Bucket, DatabaseLogin, Login, ServiceEndpoint
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.stacks.base import SprocketStack
from sprocket_infra.stacks.layer1 import Layer1Stack
from sprocket_infra.vault.access import vault_access

DATA_SERVICES = ("redis", "rabbitmq", "influx", "neo4j")
"""The data services, each on its own overlay (keys of ``Layer2Stack.data_networks``)."""

AGENT_PROXY_SECTIONS = {
    "telegraf": ("CONTAINERS", "INFO", "NODES", "PING", "SERVICES", "TASKS", "VERSION"),
    "alloy": ("NETWORKS", "NODES", "PING", "SERVICES", "TASKS", "VERSION"),
}
"""What each monitoring agent reads through its own socket proxy, GET only: Telegraf's docker input
(container list and stats, engine info, Swarm services for ``gather_services``); Alloy's Swarm task
discovery (tasks, services, nodes, networks; it tails log files, so no container route at all)."""


class Layer2Stack(SprocketStack):
    def __init__(
        self,
        scope: Construct,
        environment: Environment,
        layer1: Layer1Stack,
        *,
        catalog: Catalog | None = None,
    ) -> None:
        """``catalog`` (default ``sprocket_infra/catalog/services.yaml``, as for the platform stack) says
        which apps get their own login on RabbitMQ and Redis, and on which queues."""
        super().__init__(scope, "layer2", environment)
        catalog = catalog or load_catalog()
        settings = environment.layer2
        providers.docker_provider(self)
        providers.random_provider(self)
        providers.vault_provider(self)
        if settings.uses_digitalocean:
            providers.digitalocean_provider(self)
        if settings.uses_aws:
            aws_region = (
                next(b.region for b in settings.buckets.values() if b.provider == "aws") or "us-east-1"
            )
            providers.aws_s3_provider(
                self, endpoint=f"https://s3.{aws_region}.amazonaws.com", region=aws_region
            )

        vault = VaultConfiguration(
            self,
            "vault-configuration",
            VaultConfigurationProps(
                access=vault_access(
                    environment.name, contributors_read_secrets=settings.vault.contributors_read_secrets
                ),
                settings=settings.vault,
                openbao=environment.vault.is_openbao,
            ),
        )
        secrets = Layer2Secrets(self, "secrets", environment=environment.name, mount_paths=vault.mount_paths)
        self.admin_tokens: Mapping[str, VaultKey] = {
            key: secrets.generated(naming.admin_token_folder(key), "adminToken", for_platform=True)
            for key, entry in sorted(catalog.services.items())
            if entry.admin_token is not None
        }
        """Catalog key -> the admin token generated for it (``admin_token`` in the catalog): the server
        reads it from its config file, the entry's clients from a secret file."""
        manual = external_secrets(environment)

        swarm = environment.swarm
        self.data_networks: Mapping[str, NamedNetwork] = {
            service: overlay_network(
                self,
                f"data-network-{service}",
                name=naming.data_network(service),
                swarm=swarm,
                internal=True,
                attachable=True,
            )
            for service in DATA_SERVICES
        }
        """One overlay per data service (``redis``, ``rabbitmq``, ``influx``, ``neo4j``): an app joins those
        of the dependencies it uses, so it reaches no other data service's ports (ADR 17)."""
        self.monitoring_network = overlay_network(
            self,
            "monitoring-network",
            name=naming.MONITORING_NETWORK,
            swarm=swarm,
            internal=True,
            attachable=True,
        )
        """Overlay of the observability services; apps that push metrics or logs may join it."""
        context = ServiceContext(
            environment=environment,
            routing=layer1.routing,
            data=self.data_networks["redis"],  # each data service gets its own (_on_data)
            monitoring=self.monitoring_network,
            secrets=secrets,
        )

        postgres = None
        if settings.postgres.kind != "none":
            postgres = ManagedPostgres(
                self,
                "postgres",
                ManagedPostgresProps(
                    environment=environment,
                    config=settings.postgres,
                    consumers=tuple(settings.database_consumers),
                    secrets=secrets,
                ),
            )
        if postgres is not None and postgres.admin is not None and settings.vault.database_engine:
            platform_login = postgres.logins["platform"]
            VaultDatabaseEngine(
                self,
                "vault-database-engine",
                VaultDatabaseEngineProps(
                    endpoint=postgres.endpoint,
                    database=platform_login.database,
                    admin_user=postgres.admin[0],
                    admin_password=postgres.admin[1],
                ),
            )
        self.database_logins: Mapping[str, DatabaseLogin] = postgres.logins if postgres else {}
        """Consumer -> its own database and login; key ``platform`` for the apps. Empty when the
        environment has no PostgreSQL (``layer2.postgres.kind: none``, e.g. ``local``). Each login carries
        the server's CA certificate where clients need one to verify TLS (a DigitalOcean cluster)."""

        storage = PlatformBuckets(
            self,
            "buckets",
            PlatformBucketsProps(
                environment=environment,
                buckets=settings.buckets,
                cors_origins=(context.url(None),),
                secrets=secrets,
            ),
        )
        self.buckets: Mapping[str, Bucket] = storage.buckets
        """Kind (``general``, ``image-generation``, ``replays``) -> bucket; empty where none is configured."""
        self.bucket_login: Login | None = storage.login
        """S3 access key id and secret (Vault keys) for the buckets; None when there are none."""

        DiscordForwardAuth(
            self,
            "forward-auth",
            DiscordForwardAuthProps(context=context, client_secret=manual["forward-auth-client-secret"]),
        )
        redis = Redis(
            self,
            "redis",
            RedisProps(context=self._on_data("redis", context), clients=redis_clients(catalog, environment)),
        )
        self.redis: ServiceEndpoint = redis.endpoint
        """Redis on the data network (``redis:6379``)."""
        self.redis_logins: Mapping[str, Login] = redis.logins
        """Catalog key -> that app's own Redis user (Vault keys the platform policy reads)."""

        rabbitmq = RabbitMq(
            self,
            "rabbitmq",
            RabbitMqProps(
                context=self._on_data("rabbitmq", context), clients=rabbitmq_clients(catalog, environment)
            ),
        )
        self.rabbitmq: ServiceEndpoint = rabbitmq.endpoint
        """AMQP on the data network (``rabbitmq:5672``)."""
        self.rabbitmq_vhost: str = rabbitmq.vhost
        """The environment's vhost, the only one the apps' users have permissions in."""
        self.rabbitmq_logins: Mapping[str, Login] = rabbitmq.logins
        """Catalog key -> that app's own broker user (Vault keys); the administrator is for operators."""

        influx = InfluxDb(self, "influxdb", InfluxDbProps(context=self._on_data("influx", context)))
        self.influx: ServiceEndpoint = influx.endpoint
        """InfluxDB 2 on the data and monitoring networks (``influxdb:8086``)."""
        self.influx_org: str = influx.org
        """The organization InfluxDB is set up with; the apps' clients name it on every write and query."""
        self.influx_platform_bucket: str = influx.platform_bucket
        """The platform's bucket, ``sprocket_<env>`` (also a 1.x database of the same name)."""
        self.influx_platform_token: VaultKey = influx.platform_token
        """``platform:<password>``: scoped to the platform bucket, for InfluxDB's 1.x-compatible API
        (``Authorization: Token <value>`` on ``/write`` and ``/query``)."""

        neo4j = Neo4j(self, "neo4j", Neo4jProps(context=self._on_data("neo4j", context)))
        self.neo4j: ServiceEndpoint = neo4j.bolt
        """Bolt on the data network (``neo4j:7687``)."""
        self.neo4j_password: VaultKey = neo4j.password
        """Vault key of the ``neo4j`` user's password."""

        loki = Loki(self, "loki", LokiProps(context=context))
        proxies = {
            agent: self._agent_socket_proxy(agent, sections)
            for agent, sections in AGENT_PROXY_SECTIONS.items()
        }
        Alloy(
            self,
            "alloy",
            AlloyProps(
                context=context,
                socket_proxy=proxies["alloy"],
                push_url=loki.push_url,
            ),
        )
        Telegraf(
            self,
            "telegraf",
            TelegrafProps(
                context=self._on_data("redis", context),  # RabbitMQ and InfluxDB: over monitoring
                socket_proxy=proxies["telegraf"],
                influx=influx.endpoint,
                influx_bucket=METRICS_BUCKET,
                influx_password=influx.telegraf_password,
                redis=redis.endpoint,
                redis_user=redis.monitoring_user,
                redis_password=redis.monitoring.password,
                rabbitmq_metrics=f"http://{rabbitmq.endpoint.host}:{PROMETHEUS_PORT}/metrics",
            ),
        )
        Grafana(
            self,
            "grafana",
            GrafanaProps(
                context=context,
                loki=loki.endpoint,
                influx=influx.endpoint,
                influx_buckets=(METRICS_BUCKET, influx.platform_bucket),
                influx_password=influx.grafana_password,
                alert_webhook=manual["grafana-alert-webhook"],
                database=self.database_logins.get("grafana"),
            ),
        )
        N8n(self, "n8n", N8nProps(context=context, database=self.database_logins.get("n8n")))

    def _on_data(self, service: str, context: ServiceContext) -> ServiceContext:
        """``context`` with ``service``'s own data network as ``data``."""
        return replace(context, data=self.data_networks[service])

    def _agent_socket_proxy(self, agent: str, sections: tuple[str, ...]) -> DockerSocketProxy:
        """``agent``'s own read-only proxy to the Docker API, on a private overlay only the two share."""
        name = naming.agent_socket_proxy(agent)
        network = overlay_network(
            self, f"{agent}-socket-proxy-network", name=name, swarm=self.environment.swarm, internal=True
        )
        return DockerSocketProxy(
            self,
            f"{agent}-socket-proxy",
            DockerSocketProxyProps(
                environment=self.environment, network=network, name=name, allowed_sections=sections
            ),
        )
