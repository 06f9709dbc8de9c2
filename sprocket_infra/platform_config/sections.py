"""The named sections a catalog entry's settings file is assembled from (inventory 6.2 shapes).

Each section is a pure function of the :class:`RenderContext` returning top-level keys. Shared shapes
(``transport``, ``redis``, ``db`` ...) are written once; the Sprocket-specific ones say which other entries
they name, so the catalog check can prove those exist. Deliberate changes from the original templates:

* no credential is ever a value: every secret is a ``*File`` path under ``/app/secret`` (the Celery
  backend URL used to carry the Redis password, the S3 key ID sat in plain config);
* TLS to PostgreSQL is verified (``rejectUnauthorized: true``; the original turned verification off),
  against the server's own CA where layer2 hands one out (``ssl.caFile``, a DigitalOcean cluster's);
* ``bucketNames.replays`` is the replays bucket everywhere (image generation pointed it at the general one);
* ``parsed_object_prefix`` and the Celery queue follow the environment (they were ``dev`` and
  ``main-celery``), and queue names use the same environment name;
* each app logs in to RabbitMQ (in the environment's vhost) and Redis as itself, and its Redis prefix
  is its own (``<env>:<key>:``), the only keys its Redis user may touch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sprocket_infra import naming
from sprocket_infra.catalog.model import SectionNeeds
from sprocket_infra.catalog.sections import SECTION_NEEDS
from sprocket_infra.endpoints import DatabaseLogin, ServiceEndpoint
from sprocket_infra.platform_config.context import POSTGRES_CA_FILE, RenderContext
from sprocket_infra.platform_config.document import text

Settings = dict[str, Any]

S3_PORT = 443
"""Object storage is always reached over HTTPS."""


@dataclass(frozen=True, kw_only=True)
class Section:
    build: Callable[[RenderContext], Settings]
    needs: SectionNeeds = field(default_factory=SectionNeeds)


# --- shared shapes -----------------------------------------------------------------------------------


def _logger(ctx: RenderContext) -> Settings:
    return {"logger": {"levels": list(ctx.environment.platform.log_levels)}}


def _amqp_url(endpoint: ServiceEndpoint, vhost: str) -> str:
    """The broker in the environment's vhost (a name of letters, digits and '-', so no escaping)."""
    return f"amqp://{endpoint.host}:{text(endpoint.port)}/{vhost}?heartbeat=60"


def _broker_files(ctx: RenderContext) -> Settings:
    return {
        "usernameFile": ctx.secret_path("rabbitmq-username"),
        "passwordFile": ctx.secret_path("rabbitmq-password"),
    }


def _transport(ctx: RenderContext) -> Settings:
    queues = {f"{key}_queue": ctx.queue(key) for key in ctx.catalog.queues}
    return {
        "transport": {
            "url": _amqp_url(ctx.layer2.rabbitmq, ctx.layer2.rabbitmq_vhost),
            "events_application_key": ctx.service_name(ctx.key),
            **_broker_files(ctx),
            **queues,
        }
    }


def _redis(ctx: RenderContext) -> Settings:
    redis = ctx.layer2.redis
    return {
        "redis": {
            "host": redis.host,
            "port": redis.port,
            "prefix": naming.redis_prefix(ctx.environment, ctx.key),
            "secure": False,
            "usernameFile": ctx.secret_path("redis-username"),
            "passwordFile": ctx.secret_path("redis-password"),
        }
    }


def _s3_files(ctx: RenderContext) -> Settings:
    return {
        "accessKeyFile": ctx.secret_path("s3-access-key-id"),
        "secretKeyFile": ctx.secret_path("s3-secret-access-key"),
    }


def _minio(ctx: RenderContext) -> Settings:
    buckets = ctx.buckets
    if buckets is None:
        return {}
    general = buckets["general"]
    return {
        "minio": {
            "endPoint": general.endpoint,
            "port": S3_PORT,
            "useSSL": True,
            "bucket": general.name,
            "bucketNames": {
                "replays": buckets["replays"].name,
                "image_generation": buckets["image-generation"].name,
            },
            **_s3_files(ctx),
        }
    }


def _connection(ctx: RenderContext, login: DatabaseLogin) -> Settings:
    """PostgreSQL connection settings; TLS is verified whenever the login asks for TLS at all, against the
    server's CA file when the login brings one (the app reads the file, as with ``passwordFile``)."""
    ssl: Settings | bool = False
    if login.sslmode != "disable":
        ssl = {"rejectUnauthorized": True}
        if login.ca_certificate is not None:
            ssl["caFile"] = POSTGRES_CA_FILE
    return {
        "host": login.endpoint.host,
        "port": login.endpoint.port,
        "database": login.database,
        "passwordFile": ctx.secret_path("database-password"),
        "sslmode": login.sslmode,
        "ssl": ssl,
    }


def _db(ctx: RenderContext) -> Settings:
    login = ctx.database
    if login is None:
        return {}
    return {"db": {**_connection(ctx, login), "username": login.username, "enable_logs": False}}


def _influx(ctx: RenderContext) -> Settings:
    influx = ctx.layer2.influx
    return {
        "influx": {
            "address": f"http://{influx.host}:{text(influx.port)}",
            "org": ctx.layer2.influx_org,
            "bucket": ctx.layer2.influx_platform_bucket,
            "tokenFile": ctx.secret_path("influx-token"),
        }
    }


def _bot(ctx: RenderContext) -> Settings:
    return {"bot": {"prefix": ctx.environment.platform.bot_prefix}}


def _gql_client(ctx: RenderContext) -> Settings:
    return {"gql": {"url": f"http://{ctx.internal_address('core')}/graphql"}}


def _web_url(ctx: RenderContext) -> Settings:
    return {"web": {"url": ctx.public_url("web")}}


# --- one app's shape ---------------------------------------------------------------------------------


def _core(ctx: RenderContext) -> Settings:
    api, web = ctx.public_url("core"), ctx.public_url("web")
    social = {
        provider: {"callbackUrl": f"{api}/authentication/{provider}/login"}
        for provider in ("google", "epic", "steam")
    }
    social["steam"]["realm"] = api
    return {
        "gql": {"playground": False},
        "web": {"url": web, "api_root": api},
        "defaultOrganizationId": 2,
        "auth": {
            "discord": {"callbackUrl": f"{api}/login"},
            **social,
            "jwt_expiry": 12000,
            "access_expiry": "6h",
            "refresh_expiry": "7d",
            "frontend_callback": f"{web}/auth/callback",
        },
    }


def _web_client(ctx: RenderContext) -> Settings:
    chatwoot = ctx.environment.platform.chatwoot
    widget = (
        {"enabled": False}
        if chatwoot is None
        else {"enabled": True, "url": chatwoot.url, "websiteToken": chatwoot.website_token}
    )
    return {
        "client": {
            "gqlUrl": ctx.public_host("core"),
            "secure": ctx.environment.routing.acme.tls,
            "chatwoot": widget,
        },
        "server": {},
        "stack": ctx.environment.name,
    }


def _image_generation_frontend(ctx: RenderContext) -> Settings:
    settings: Settings = {}
    if (buckets := ctx.buckets) is not None:
        bucket = buckets["image-generation"]
        settings["minio"] = {
            "endpoint": bucket.endpoint,
            "port": S3_PORT,
            "ssl": True,
            "bucket": bucket.name,
            **_s3_files(ctx),
        }
    if (login := ctx.database) is not None:
        settings["knex"] = {**_connection(ctx, login), "user": login.username, "enable_logs": True}
    return settings


def _replay_parse(ctx: RenderContext) -> Settings:
    redis = ctx.layer2.redis
    settings: Settings = {
        "celery": {
            "broker": _amqp_url(ctx.layer2.rabbitmq, ctx.layer2.rabbitmq_vhost),
            "brokerUsernameFile": ctx.secret_path("rabbitmq-username"),
            "brokerPasswordFile": ctx.secret_path("rabbitmq-password"),
            "backend": f"redis://{redis.host}:{text(redis.port)}/0",
            "backendUsernameFile": ctx.secret_path("redis-username"),
            "backendPasswordFile": ctx.secret_path("redis-password"),
            "queue": ctx.queue("celery"),
        },
        "ballchasing": {"maxRetries": 7, "backoffFactor": 4},
        "tempDir": "/tmp",  # noqa: S108 - the container's own scratch space
        "parser": "ballchasing",
    }
    if (buckets := ctx.buckets) is not None:
        replays = buckets["replays"]
        settings["minio"] = {
            "hostname": replays.endpoint,
            "bucket": replays.name,
            "parsed_object_prefix": naming.parsed_object_prefix(ctx.environment),
            "secure": True,
            "accessKeyFile": ctx.secret_path("s3-access-key-id"),
            # The app reads the secret key from the file named here (inventory 6.2).
            "secretKey": ctx.secret_path("s3-secret-access-key"),
        }
    return settings


_BUILDERS: Mapping[str, Callable[[RenderContext], Settings]] = {
    "logger": _logger,
    "transport": _transport,
    "redis": _redis,
    "minio": _minio,
    "db": _db,
    "influx": _influx,
    "bot": _bot,
    "gql-client": _gql_client,
    "web-url": _web_url,
    "core": _core,
    "web-client": _web_client,
    "image-generation-frontend": _image_generation_frontend,
    "replay-parse": _replay_parse,
}

SECTIONS: Mapping[str, Section] = {
    name: Section(build=build, needs=SECTION_NEEDS[name]) for name, build in _BUILDERS.items()
}
"""Every section a catalog entry may list under ``config.sections``."""
