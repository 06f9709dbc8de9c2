"""``VaultDatabaseEngine``: short-lived, read-only PostgreSQL logins issued by Vault (opt-in).

Only mounted when ``layer2.vault.database_engine`` is on. Vault connects to the platform's database with
the cluster's admin login (the one place that login goes: Vault needs role-creation rights to make and
drop users) and issues ``readonly`` logins that expire after an hour. Its password goes in through the
write-only ``password_wo`` argument. No policy in ``vault/access.py`` grants ``database/creds/*`` yet, so
until one does only a root or sudo token can read credentials here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_vault.database_secret_backend_role import DatabaseSecretBackendRole
from cdktf_cdktf_provider_vault.database_secrets_mount import (
    DatabaseSecretsMount,
    DatabaseSecretsMountPostgresql,
)
from constructs import Construct

from sprocket_infra.endpoints import ServiceEndpoint

MOUNT_PATH = "database"
READONLY_ROLE = "readonly"
_READONLY_GRANTS = (
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
    'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
)


@dataclass(frozen=True, kw_only=True)
class VaultDatabaseEngineProps:
    endpoint: ServiceEndpoint
    database: str
    """The database the issued logins may read (the platform's)."""
    admin_user: str
    admin_password: str
    """A reference to the cluster's admin password (never a literal)."""
    ttl_s: int = 3600
    max_ttl_s: int = 4 * 3600


class VaultDatabaseEngine(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: VaultDatabaseEngineProps) -> None:
        super().__init__(scope, construct_id)
        url = (
            "postgresql://{{username}}:{{password}}@"
            f"{props.endpoint.host}:{props.endpoint.port}/{props.database}?sslmode=require"
        )
        mount = DatabaseSecretsMount(
            self,
            "mount",
            path=MOUNT_PATH,
            description="Short-lived PostgreSQL logins",
            postgresql=[
                DatabaseSecretsMountPostgresql(
                    name=props.database,
                    connection_url=url,
                    username=props.admin_user,
                    password_wo=props.admin_password,
                    password_wo_version=1,
                    allowed_roles=[READONLY_ROLE],
                )
            ],
        )
        DatabaseSecretBackendRole(
            self,
            "readonly",
            backend=mount.path,
            name=READONLY_ROLE,
            db_name=props.database,
            creation_statements=list(_READONLY_GRANTS),
            default_ttl=props.ttl_s,
            max_ttl=props.max_ttl_s,
        )
