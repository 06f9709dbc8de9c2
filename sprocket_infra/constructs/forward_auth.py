"""``DiscordForwardAuth``: Discord login in front of admin UIs, and the shared middlewares that use it.

The service answers Traefik's forward-auth checks (``/login?rule=<Rule>``) and the OAuth callback on
``fa.<domain>``. Its labels define one middleware per rule, ``auth-<rule>``; any router in any stack
refers to it as ``auth-<rule>@swarm`` (layer1's dashboard already does). Traefik calls the service over
the ingress overlay, not through public DNS as the original did, passes on the client's forwarded headers
(so the login redirect points at the real host) and hands ``X-Forwarded-User`` to the backend.

The image reads its Discord client secret only from the ``CLIENT_SECRET`` environment variable, and a
secret must never be an env value in the service spec. So a two-line ``sh`` wrapper reads the Docker
secret file into the variable inside the container and then ``exec``\\s the image's own command; the spec
holds only the file's path. Callback URL and cookie domain follow the environment instead of being
hard-coded to production.

Both halves are rate limited per client IP: the login host (``LOGIN_RATE_LIMIT``) and every router
behind a rule (each ``auth-<rule>`` is a chain of a rate limit and the check, ``GUARDED_RATE_LIMIT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs.service_context import SECRETS_DIR, ServiceContext
from sprocket_infra.constructs.swarm_service import ConfigFile, Healthcheck, Resources, SwarmServiceProps
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.routing import GUARDED_RATE_LIMIT, LOGIN_RATE_LIMIT, ForwardAuthMiddleware, HttpRoute

CONFIG_PATH = "/app/config.yaml"
SECRET_PATH = f"{SECRETS_DIR}/forward-auth-client-secret"
WRAPPER = 'CLIENT_SECRET="$(cat "$CLIENT_SECRET_FILE")" && export CLIENT_SECRET && exec "$@"'
"""Reads the secret file into the environment of the real process; the value never enters the spec."""
PROBE = (
    "require('http').get('http://127.0.0.1:"
    f"{naming.FORWARD_AUTH_PORT}/', r => process.exit(r.statusCode < 500 ? 0 : 1))"
    ".on('error', () => process.exit(1))"
)


def auth_config(context: ServiceContext) -> dict[str, Any]:
    """The service's config file: OAuth client, callback and cookie domain, and the role rules."""
    settings = context.environment.layer2.forward_auth
    return {
        "provider": "discord",
        "oauth": {"clientId": settings.client_id, "callbackUrl": f"{context.url(settings.subdomain)}/login"},
        "cookieDomain": context.environment.routing.domain,
        "defaultRule": {"key": "DefaultRule", "type": "guild", "guild": settings.guild_id},
        "rules": {
            rule.name: {"type": "roles", "guild": settings.guild_id, "roles": list(rule.role_ids)}
            for rule in settings.rules
        },
    }


def middlewares(context: ServiceContext) -> tuple[ForwardAuthMiddleware, ...]:
    """One shared middleware per configured rule, named by :func:`naming.forward_auth_middleware`."""
    return tuple(
        ForwardAuthMiddleware(
            name=naming.forward_auth_middleware(rule.name),
            address=naming.forward_auth_address(rule.name),
            rate_limit=GUARDED_RATE_LIMIT,
        )
        for rule in context.environment.layer2.forward_auth.rules
    )


@dataclass(frozen=True, kw_only=True)
class DiscordForwardAuthProps:
    context: ServiceContext
    client_secret: VaultKey
    """The Discord OAuth client secret an operator put into Vault (``forward-auth-client-secret``)."""


class DiscordForwardAuth(Construct):
    """Public attribute: ``service``."""

    def __init__(self, scope: Construct, construct_id: str, props: DiscordForwardAuthProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        settings = context.environment.layer2.forward_auth
        self.service = context.routing.route(
            self,
            "forward-auth",
            SwarmServiceProps(
                name=naming.FORWARD_AUTH_SERVICE,
                image=context.environment.layer2.images.forward_auth,
                command=["/bin/sh", "-c", WRAPPER, "forward-auth", *settings.command],
                env={"CONFIG_FILE": CONFIG_PATH, "CLIENT_SECRET_FILE": SECRET_PATH},
                healthcheck=Healthcheck(test=("CMD", "node", "-e", PROBE), interval_s=15),
                resources=Resources(cpus=0.25, memory_mib=128),
                networks=[],
                configs=[
                    ConfigFile(
                        target=CONFIG_PATH, content=yaml.safe_dump(auth_config(context), sort_keys=True)
                    )
                ],
                secrets=[
                    context.secret(
                        props.client_secret, owner="forward-auth", file_name="forward-auth-client-secret"
                    )
                ],
                replicas=1,
            ),
            routes=[
                HttpRoute(
                    name="forward-auth",
                    hosts=(context.host(settings.subdomain),),
                    port=naming.FORWARD_AUTH_PORT,
                    rate_limit=LOGIN_RATE_LIMIT,
                )
            ],
            middlewares=middlewares(context),
        )
