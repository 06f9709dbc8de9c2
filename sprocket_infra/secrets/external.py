"""Secrets that come from outside (OAuth apps, API tokens, webhooks): where each lives in Vault.

Nothing generates these; an operator puts them into Doppler (or a ``.env``) and
``sprocket-infra secrets bootstrap`` copies them into Vault. Everything goes under ``<env>/manual/`` of the
mount whose policy reads it: the platform mount for the app services, the infrastructure mount for
Traefik's forward-auth and Gatus.

Deliberate fixes to the original layout (inventory 4.4): the Ballchasing token was not per environment
(``platform/ballchasing``), the Chatwoot key sat outside ``manual/``, and the Discord OAuth keys were
``client_id``/``client_secret`` while Google's and Epic's were ``clientId``/``clientSecret``; all OAuth
clients now use the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_infra.secrets.manifest import SecretManifest, SecretRef
from sprocket_infra.vault.access import INFRASTRUCTURE, MANUAL, PLATFORM, KvMount, secret_path


@dataclass(frozen=True)
class _Entry:
    name: str
    mount: KvMount
    folder: str
    key: str
    env_var: str
    description: str


def _oauth(provider: str, label: str, reader: str) -> tuple[_Entry, _Entry]:
    folder = f"oauth/{provider}"
    upper = provider.upper()
    return (
        _Entry(
            f"{provider}-client-id",
            PLATFORM,
            folder,
            "clientId",
            f"{upper}_CLIENT_ID",
            f"{label} OAuth client ID; {reader}",
        ),
        _Entry(
            f"{provider}-client-secret",
            PLATFORM,
            folder,
            "clientSecret",
            f"{upper}_CLIENT_SECRET",
            f"{label} OAuth client secret; {reader}",
        ),
    )


_ENTRIES: tuple[_Entry, ...] = (
    *_oauth("google", "Google", "core reads it (googleClientId.txt / googleSecret.txt)"),
    *_oauth("discord", "Discord", "core reads it (discord-client.txt / discord-secret.txt)"),
    *_oauth("epic", "Epic Games", "core reads it (epic-client.txt / epic-secret.txt)"),
    _Entry(
        "steam-api-key",
        PLATFORM,
        "oauth/steam",
        "apiKey",
        "STEAM_API_KEY",
        "Steam Web API key; core reads it (steam-key.txt)",
    ),
    _Entry(
        "ballchasing-token",
        PLATFORM,
        "ballchasing",
        "token",
        "BALLCHASING_TOKEN",
        "ballchasing.com API token; replay-parse reads it (ballchasing-token)",
    ),
    _Entry(
        "chatwoot-hmac-key",
        PLATFORM,
        "chatwoot",
        "hmacKey",
        "CHATWOOT_HMAC_KEY",
        "Chatwoot identity-validation HMAC key; web reads it (chatwoot-hmac-key.txt)",
    ),
    _Entry(
        "discord-bot-token",
        PLATFORM,
        "discord-bot",
        "token",
        "DISCORD_BOT_TOKEN",
        "Discord bot token; discord-bot reads it (bot-token.txt)",
    ),
    _Entry(
        "spaces-access-key-id",
        PLATFORM,
        "spaces",
        "accessKeyId",
        "SPACES_ACCESS_KEY_ID",
        "Spaces (S3) app key ID; the platform's buckets and services using S3 (minio-access.txt)",
    ),
    _Entry(
        "spaces-secret-access-key",
        PLATFORM,
        "spaces",
        "secretAccessKey",
        "SPACES_SECRET_ACCESS_KEY",
        "Spaces (S3) app secret key; the platform's buckets and services using S3 (minio-secret.txt)",
    ),
    _Entry(
        "forward-auth-client-secret",
        INFRASTRUCTURE,
        "forward-auth",
        "clientSecret",
        "FORWARD_AUTH_DISCORD_CLIENT_SECRET",
        "Discord OAuth client secret of Traefik's forward-auth (fa.<domain>)",
    ),
    _Entry(
        "gatus-alert-webhook",
        INFRASTRUCTURE,
        "gatus",
        "discordWebhookUrl",
        "GATUS_DISCORD_WEBHOOK_URL",
        "Discord webhook URL Gatus posts status alerts to",
    ),
)


def external_secrets(env: str) -> SecretManifest:
    """The externally provided secrets of environment ``env``, by stable name.

    Example: ``external_secrets("prod")["google-client-secret"].path == "prod/manual/oauth/google"``.
    """
    return SecretManifest(
        SecretRef(
            name=entry.name,
            mount=entry.mount,
            path=secret_path(env, MANUAL, entry.folder),
            key=entry.key,
            description=entry.description,
            env_var=entry.env_var,
        )
        for entry in _ENTRIES
    )
