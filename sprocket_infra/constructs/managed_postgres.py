"""``ManagedPostgres``: the services' PostgreSQL, one database and one login per consumer.

The original connected everything (app, Grafana, Telegraf) as ``doadmin``. Here each consumer gets its own
database and its own user, and the cluster's admin login is never handed to a service:

* ``managed``: a DigitalOcean cluster created here (deletion-protected);
* ``existing``: a DigitalOcean cluster made by hand, looked up by name; layer2 adds databases, users and
  the firewall to it;
* ``external``: a server layer2 does not manage at all (a LAN box); databases and users must exist. Their
  passwords are entries of the environment's secrets manifest (``postgres-<consumer>-password``), at the
  paths a managed cluster's would be kept at, so ``sprocket-infra secrets bootstrap`` writes and checks them.

In both DigitalOcean modes the firewall admits only the configured trusted sources (the Swarm nodes), the
cluster's CA certificate is read once and handed out with every login (clients verify TLS against it), and
each user's generated password goes straight into Vault (``<env>/for-platform/postgres/platform`` for the
platform, ``<env>/postgres/<consumer>`` for layer2's own consumers). DigitalOcean users are created without
superuser or role-creation rights, and DigitalOcean leaves every database open to every login
(``CONNECT`` belongs to ``PUBLIC``): :class:`PostgresGrants` closes each one to its own login, as the
cluster's admin (which keeps owning them). The admin login is kept in Vault for operators
(``<env>/postgres-admin``) and mounted into that one task; no app or consumer gets it.

An ``external`` server gets no grants from here (layer2 has no admin login for it): run the same
script there by hand (``docs/shared-service-identities.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformResource, TerraformResourceLifecycle
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import (
    Environment,
    ExistingPostgresConfig,
    ExternalPostgresConfig,
    ManagedPostgresConfig,
)
from sprocket_infra.constructs.postgres_grants import PostgresGrants, PostgresGrantsProps
from sprocket_infra.constructs.vault_secrets import Layer2Secrets
from sprocket_infra.endpoints import DatabaseLogin, Login, ServiceEndpoint
from sprocket_infra.postgres_grants import DIGITALOCEAN_MAINTENANCE_DATABASE, consumer_grants
from sprocket_infra.secrets.external import external_secrets

MANAGED_PORT = 25060
"""DigitalOcean managed PostgreSQL always listens here (the pooler uses 25061)."""
PLATFORM = "platform"
ADMIN_FOLDER = "postgres-admin"
"""Vault folder of the cluster's admin login (operators and the grants task only)."""


def password_folder(consumer: str) -> str:
    """Folder of ``consumer``'s password under the infrastructure mount (below ``for-platform`` for the
    platform, whose policy reads nothing else there). The manifest places an ``external`` server's
    passwords at the same paths; a test keeps both agreeing."""
    return f"postgres/{consumer}"


@dataclass(frozen=True, kw_only=True)
class ManagedPostgresProps:
    environment: Environment
    config: ManagedPostgresConfig | ExistingPostgresConfig | ExternalPostgresConfig
    consumers: Sequence[str]
    """Who gets a database and a login, e.g. ``("platform", "grafana", "n8n")``."""
    secrets: Layer2Secrets
    """Where generated passwords are kept."""

    def __post_init__(self) -> None:
        if len(set(self.consumers)) != len(self.consumers):
            raise ValueError(f"postgres consumers must be unique (got {list(self.consumers)})")


class ManagedPostgres(Construct):
    """Public attributes: ``logins`` (consumer -> :class:`DatabaseLogin`), ``cluster_id``,
    ``ca_certificate`` and ``grants`` (all None when external), ``endpoint``."""

    def __init__(self, scope: Construct, construct_id: str, props: ManagedPostgresProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        config = props.config
        if isinstance(config, ExternalPostgresConfig):
            self.cluster_id: str | None = None
            self.ca_certificate: str | None = None
            self.endpoint = ServiceEndpoint(host=config.host, port=config.port)
            self.admin: tuple[str, str] | None = None
            self.grants: PostgresGrants | None = None
            self.logins = {consumer: self._external_login(consumer, config) for consumer in props.consumers}
            return
        cluster_id, host, self.admin, made_by = self._cluster(config)
        self.cluster_id = cluster_id
        self.ca_certificate = self._ca_certificate(cluster_id)
        self.endpoint = ServiceEndpoint(host=host, port=MANAGED_PORT)
        self._firewall(cluster_id, config)
        made = {consumer: self._managed_login(cluster_id, consumer) for consumer in props.consumers}
        self.logins = {consumer: login for consumer, (login, _) in made.items()}
        self.grants = self._grants(self.ca_certificate, made_by, [r for _, rs in made.values() for r in rs])

    def _grants(
        self, ca_certificate: str, made_by: Sequence[TerraformResource], after: Sequence[TerraformResource]
    ) -> PostgresGrants:
        """The task that closes each database to its own login, as the admin (kept in Vault first)."""
        assert self.admin is not None
        environment = self.props.environment
        admin = self.props.secrets.keep(
            ADMIN_FOLDER, {"username": self.admin[0], "password": self.admin[1]}, made_by=made_by
        )
        return PostgresGrants(
            self,
            "grants",
            PostgresGrantsProps(
                environment=environment,
                endpoint=self.endpoint,
                ca_certificate=ca_certificate,
                # Plain names (the logins carry the resources' references): the script is literal text
                # in the JSON, and its config is named by a hash taken at synth.
                grants=consumer_grants(environment, self.props.consumers),
                maintenance_database=DIGITALOCEAN_MAINTENANCE_DATABASE,
                admin=Login(username=admin["username"], password=admin["password"]),
                secrets=self.props.secrets,
                after=after,
            ),
        )

    def _cluster(
        self, config: ManagedPostgresConfig | ExistingPostgresConfig
    ) -> tuple[str, str, tuple[str, str], list[TerraformResource]]:
        """(cluster id, host, (admin user, admin password), the resource whose replacement changes the
        admin pair: the cluster, or none for a looked-up one). The pair reaches Vault (for operators and
        the grants task) and Vault's optional database engine, never an app."""
        if isinstance(config, ManagedPostgresConfig):
            from cdktf_cdktf_provider_digitalocean.database_cluster import DatabaseCluster

            cluster = DatabaseCluster(
                self,
                "cluster",
                name=config.name,
                engine="pg",
                version=config.version,
                size=config.size,
                node_count=config.node_count,
                region=self.props.environment.digitalocean.region,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
            )
            return cluster.id, cluster.host, (cluster.user, cluster.password), [cluster]
        from cdktf_cdktf_provider_digitalocean.data_digitalocean_database_cluster import (
            DataDigitaloceanDatabaseCluster,
        )

        found = DataDigitaloceanDatabaseCluster(self, "cluster", name=config.name)
        # Nothing here makes a looked-up cluster's admin pair, so its Vault copy follows the cluster
        # behind the name: a plain ``terraform_data`` (cdktf's class runs ``terraform version`` at synth)
        # replaced when the cluster's id or admin user changes. A password reset in DigitalOcean needs
        # ``-replace`` of the write (docs/shared-service-identities.md).
        identity = TerraformResource(self, "admin-identity", terraform_resource_type="terraform_data")
        identity.add_override("triggers_replace", [found.id, found.user])
        return found.id, found.host, (found.user, found.password), [identity]

    def _ca_certificate(self, cluster_id: str) -> str:
        """The cluster's CA (PEM, a reference): DigitalOcean signs each cluster's certificate with a CA of
        its own, so clients that verify TLS need this rather than their system trust store."""
        from cdktf_cdktf_provider_digitalocean.data_digitalocean_database_ca import DataDigitaloceanDatabaseCa

        return DataDigitaloceanDatabaseCa(self, "ca", cluster_id=cluster_id).certificate

    def _firewall(self, cluster_id: str, config: ManagedPostgresConfig | ExistingPostgresConfig) -> None:
        from cdktf_cdktf_provider_digitalocean.database_firewall import (
            DatabaseFirewall,
            DatabaseFirewallRule,
        )

        DatabaseFirewall(
            self,
            "firewall",
            cluster_id=cluster_id,
            rule=[
                DatabaseFirewallRule(type=source.type, value=source.value)
                for source in config.trusted_sources
            ],
        )

    def _managed_login(
        self, cluster_id: str, consumer: str
    ) -> tuple[DatabaseLogin, tuple[TerraformResource, ...]]:
        """The consumer's login, and its database and user (the grants task runs after both)."""
        from cdktf_cdktf_provider_digitalocean.database_db import DatabaseDb
        from cdktf_cdktf_provider_digitalocean.database_user import DatabaseUser

        environment = self.props.environment
        database = DatabaseDb(
            self,
            f"db-{consumer}",
            cluster_id=cluster_id,
            name=naming.database_name(environment, consumer),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        user = DatabaseUser(
            self,
            f"user-{consumer}",
            cluster_id=cluster_id,
            name=naming.database_user(environment, consumer),
        )
        password = self.props.secrets.keep(
            password_folder(consumer),
            {"password": user.password},
            made_by=[user],
            for_platform=consumer == PLATFORM,
        )["password"]
        login = DatabaseLogin(
            endpoint=self.endpoint,
            database=database.name,
            username=user.name,
            password=password,
            ca_certificate=self.ca_certificate,
        )
        return login, (database, user)

    def _external_login(self, consumer: str, config: ExternalPostgresConfig) -> DatabaseLogin:
        environment = self.props.environment
        password = external_secrets(environment)[f"postgres-{consumer}-password"]
        return DatabaseLogin(
            endpoint=self.endpoint,
            database=naming.database_name(environment, consumer),
            username=naming.database_user(environment, consumer),
            password=password,
            sslmode=config.sslmode,
        )
