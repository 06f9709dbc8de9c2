"""What the platform reads from layer2, and which of it an environment actually offers.

:class:`Layer2Outputs` is the contract: the attributes of ``Layer2Stack`` the platform uses, spelled as a
protocol so unit tests can hand in a small stand-in. Managed PostgreSQL and object storage may be absent
(``local`` has neither); a service that uses one then starts without that section and its credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from sprocket_infra.catalog.dependencies import CREDENTIALS, Dependency
from sprocket_infra.constructs.swarm_service import NamedNetwork
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.endpoints import Bucket, DatabaseLogin, Login, ServiceEndpoint

PLATFORM_DATABASE = "platform"
"""Key of the platform's login in ``Layer2Outputs.database_logins``."""

BUCKET_KINDS = ("general", "image-generation", "replays")
"""Keys of ``Layer2Outputs.buckets`` the apps are configured with."""


class Layer2Outputs(Protocol):
    """The attributes of layer2 the platform reads (see ``sprocket_infra/stacks/layer2.py``)."""

    @property
    def data_networks(self) -> Mapping[str, NamedNetwork]: ...
    @property
    def redis(self) -> ServiceEndpoint: ...
    @property
    def redis_logins(self) -> Mapping[str, Login]: ...
    @property
    def rabbitmq(self) -> ServiceEndpoint: ...
    @property
    def rabbitmq_vhost(self) -> str: ...
    @property
    def rabbitmq_logins(self) -> Mapping[str, Login]: ...
    @property
    def influx(self) -> ServiceEndpoint: ...
    @property
    def influx_org(self) -> str: ...
    @property
    def influx_platform_bucket(self) -> str: ...
    @property
    def influx_platform_token(self) -> VaultKey: ...
    @property
    def database_logins(self) -> Mapping[str, DatabaseLogin]: ...
    @property
    def buckets(self) -> Mapping[str, Bucket]: ...
    @property
    def bucket_login(self) -> Login | None: ...
    @property
    def admin_tokens(self) -> Mapping[str, VaultKey]: ...


def database_login(layer2: Layer2Outputs) -> DatabaseLogin | None:
    """The platform's own database login, or None where layer2 runs no PostgreSQL."""
    return layer2.database_logins.get(PLATFORM_DATABASE)


def buckets(layer2: Layer2Outputs) -> Mapping[str, Bucket] | None:
    """The platform's buckets by kind, or None unless layer2 offers all of them and a login."""
    if layer2.bucket_login is None or any(kind not in layer2.buckets for kind in BUCKET_KINDS):
        return None
    return layer2.buckets


def available(layer2: Layer2Outputs) -> frozenset[Dependency]:
    """The dependencies this environment's layer2 provides."""
    offered: set[Dependency] = {"redis", "rabbitmq", "influx"}
    if database_login(layer2) is not None:
        offered.add("postgres")
    if buckets(layer2) is not None:
        offered.add("s3")
    return frozenset(offered)


def dependency_networks(layer2: Layer2Outputs) -> dict[Dependency, NamedNetwork]:
    """The overlay a service joins to reach each dependency layer2 runs as a Swarm service. PostgreSQL
    and S3 are managed services reached over the internet with TLS, so they have none."""
    return {dependency: layer2.data_networks[dependency] for dependency in ("redis", "rabbitmq", "influx")}


CredentialLookup = Callable[[Layer2Outputs, str], VaultKey | None]
"""(layer2, catalog key of the app) -> the Vault key of one credential, or None where it is not offered."""


def _bucket_key(pick: Callable[[Login], VaultKey]) -> CredentialLookup:
    return lambda layer2, _app: None if layer2.bucket_login is None else pick(layer2.bucket_login)


def _own_login(
    logins: Callable[[Layer2Outputs], Mapping[str, Login]], pick: Callable[[Login], VaultKey]
) -> CredentialLookup:
    """The app's own login on a shared service: layer2 makes one per app that uses the service."""

    def lookup(layer2: Layer2Outputs, app: str) -> VaultKey | None:
        login = logins(layer2).get(app)
        return None if login is None else pick(login)

    return lookup


def _database_password(layer2: Layer2Outputs, _app: str) -> VaultKey | None:
    login = database_login(layer2)
    return None if login is None else login.password


CREDENTIAL_KEYS: Mapping[str, CredentialLookup] = {
    "redis-username": _own_login(lambda layer2: layer2.redis_logins, lambda login: login.username),
    "redis-password": _own_login(lambda layer2: layer2.redis_logins, lambda login: login.password),
    "rabbitmq-username": _own_login(lambda layer2: layer2.rabbitmq_logins, lambda login: login.username),
    "rabbitmq-password": _own_login(lambda layer2: layer2.rabbitmq_logins, lambda login: login.password),
    "database-password": _database_password,
    "s3-access-key-id": _bucket_key(lambda login: login.username),
    "s3-secret-access-key": _bucket_key(lambda login: login.password),
    "influx-token": lambda layer2, _app: layer2.influx_platform_token,
}
"""Stable credential name (see ``catalog.dependencies.CREDENTIALS``) -> where layer2 keeps it in Vault."""


def credential_key(layer2: Layer2Outputs, secret: str, *, app: str) -> VaultKey | None:
    """The Vault key of layer2 credential ``secret`` for catalog entry ``app``, or None where the
    dependency is not offered."""
    return CREDENTIAL_KEYS[secret](layer2, app)


def credential_names() -> frozenset[str]:
    """Every credential a dependency implies (for the test that keeps both tables in step)."""
    return frozenset(item.name for items in CREDENTIALS.values() for item in items)
