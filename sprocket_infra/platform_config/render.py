"""One service's settings for one environment: its JSON settings file, env values and command.

The file is the entry's sections merged in order; two sections writing the same top-level key is an error
rather than a silent overwrite. ``{placeholders}`` in ``env`` and ``command`` are filled from the same
context, so an address is spelled the same way in a settings file and in an environment variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sprocket_infra import naming
from sprocket_infra.catalog.placeholders import ENDPOINT_DEPENDENCIES, PLACEHOLDER
from sprocket_infra.constructs.swarm_service import ConfigFile
from sprocket_infra.edge_networks import platform_subnets
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.platform_config.context import POSTGRES_CA_FILE, RenderContext
from sprocket_infra.platform_config.document import json_document, text
from sprocket_infra.platform_config.sections import SECTIONS, Settings


def app_settings(ctx: RenderContext) -> Settings:
    """The merged settings of the entry's sections (empty when it has no settings file)."""
    config = ctx.entry.config
    if config is None:
        return {}
    merged: Settings = {}
    writer: dict[str, str] = {}
    for name in config.sections:
        for key, value in SECTIONS[name].build(ctx).items():
            if key in merged:
                raise ValueError(
                    f"{ctx.catalog.source}: services.{ctx.key}.config.sections: {writer[key]!r} and "
                    f"{name!r} both write {key!r}; drop one of them"
                )
            merged[key], writer[key] = value, name
    return merged


def app_config_file(ctx: RenderContext) -> ConfigFile | None:
    """The settings file as a Docker config at the entry's path, or None if the entry has none."""
    config = ctx.entry.config
    if config is None:
        return None
    return ConfigFile(target=config.path, content=json_document(app_settings(ctx)))


def database_ca_file(ctx: RenderContext) -> ConfigFile | None:
    """The PostgreSQL server's CA at :data:`POSTGRES_CA_FILE`, for an entry that uses PostgreSQL where its
    login brings a CA (the settings' ``ssl.caFile`` points there); None otherwise."""
    login = ctx.database
    if "postgres" not in ctx.entry.uses or login is None or login.ca_certificate is None:
        return None
    return ConfigFile(target=POSTGRES_CA_FILE, content=login.ca_certificate)


def placeholder_values(ctx: RenderContext) -> Mapping[str, str]:
    """What every ``{placeholder}`` stands for in this environment."""
    layer2 = ctx.layer2
    values = {
        "self": ctx.service_name(ctx.key),
        "redis.prefix": naming.redis_prefix(ctx.environment, ctx.key),
    }
    for name in ENDPOINT_DEPENDENCIES:
        endpoint: ServiceEndpoint = getattr(layer2, name)
        values |= {f"{name}.host": endpoint.host, f"{name}.port": text(endpoint.port)}
    values |= {
        f"networks[{purpose}].subnet": str(subnet)
        for purpose, subnet in platform_subnets(ctx.environment, ctx.catalog).items()
    }
    return values | {f"services[{key}]": ctx.service_name(key) for key in ctx.catalog.services}


def filled(ctx: RenderContext, texts: Sequence[str]) -> list[str]:
    """``texts`` with their placeholders filled in (the catalog check guarantees each is known)."""
    values = placeholder_values(ctx)
    return [PLACEHOLDER.sub(lambda match: values[match[1]], item) for item in texts]


def filled_env(ctx: RenderContext) -> dict[str, str]:
    """The entry's ``env`` with placeholders filled in."""
    names = list(ctx.entry.env)
    return dict(zip(names, filled(ctx, [ctx.entry.env[name] for name in names]), strict=True))
