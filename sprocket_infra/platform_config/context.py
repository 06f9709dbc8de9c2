"""Everything a config section may read while rendering one service's settings, behind small accessors.

Sections ask the context for names and addresses instead of formatting them, so each fact still comes from
one place: hosts and queue names from :mod:`sprocket_infra.naming`, endpoints from layer2, file paths from
the catalog entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.catalog.model import Catalog, Route, ServiceEntry
from sprocket_infra.config import Environment
from sprocket_infra.endpoints import Bucket, DatabaseLogin
from sprocket_infra.platform_config import dependencies
from sprocket_infra.platform_config.dependencies import Layer2Outputs

POSTGRES_CA_FILE = "/app/config/postgres-ca.crt"
"""Where a service that uses PostgreSQL finds the CA to verify the server against, when its login brings
one (a Docker config: a CA certificate is public). One path for every app, so the settings name it once."""


@dataclass(frozen=True, kw_only=True)
class RenderContext:
    environment: Environment
    catalog: Catalog
    layer2: Layer2Outputs
    key: str
    """The catalog entry being rendered."""

    @property
    def entry(self) -> ServiceEntry:
        return self.catalog.services[self.key]

    # --- other services ---------------------------------------------------------------------------------

    def service_name(self, key: str) -> str:
        """Swarm DNS name of entry ``key`` on the overlays it joins."""
        return naming.platform_service_name(self.environment, key)

    def internal_address(self, key: str) -> str:
        """``<service>:<port>`` of entry ``key``, for calls over a shared overlay."""
        return f"{self.service_name(key)}:{self.catalog.services[key].port}"

    def public_host(self, key: str) -> str:
        """The name-based host of entry ``key``'s first route (never an IP)."""
        return naming.public_host(self.environment.routing, _subdomain(self.catalog.services[key].routes[0]))

    def public_url(self, key: str) -> str:
        """``https://`` (or ``http://`` without TLS) URL of entry ``key``'s first route."""
        return naming.public_url(self.environment, _subdomain(self.catalog.services[key].routes[0]))

    # --- this service -----------------------------------------------------------------------------------

    def secret_path(self, secret: str) -> str:
        """Where this service finds secret ``secret`` (by stable name) in its container."""
        return naming.secret_file(self.entry.secret_files[secret])

    def queue(self, key: str) -> str:
        """Environment-prefixed RabbitMQ name of catalog queue ``key``."""
        return naming.queue_name(self.environment, self.catalog.queue_name(key))

    # --- layer2 -----------------------------------------------------------------------------------------

    @property
    def database(self) -> DatabaseLogin | None:
        return dependencies.database_login(self.layer2)

    @property
    def buckets(self) -> Mapping[str, Bucket] | None:
        return dependencies.buckets(self.layer2)


def _subdomain(route: Route) -> str | None:
    return None if route.apex else route.subdomain
