"""Secrets that come from outside (OAuth apps, API tokens, webhooks): where each lives in Vault.

Nothing generates these; an operator puts them into Doppler (or a ``.env``) and
``sprocket-infra secrets bootstrap`` copies them into Vault. Everything goes under ``<env>/manual/`` of the
mount whose policy reads it: the platform mount for the app services, the infrastructure mount for
Traefik's forward-auth and Gatus.

Deliberate fixes to the original layout (inventory 4.4): the Ballchasing token was not per environment
(``platform/ballchasing``), the Chatwoot key sat outside ``manual/``, and the Discord OAuth keys were
``client_id``/``client_secret`` while Google's and Epic's were ``clientId``/``clientSecret``; all OAuth
clients now use the same keys. The original generated core's JWT signing key with ``random`` inside the
platform stack; a key that changes whenever state is rebuilt logs every user out, so it is provided here.

This is the only list: the bootstrap writes exactly these refs, the platform's catalog may name the
platform mount's share of them, and a test proves each one is read by some stack.
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
        "jwt-secret",
        PLATFORM,
        "core",
        "jwtSecret",
        "CORE_JWT_SECRET",
        "Key core signs session JWTs with (jwtSecret.txt); 64+ random characters, kept across rebuilds",
    ),
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
        "S3 key ID for buckets on AWS (provider: aws); the platform's S3 users read it (minio-access.txt). "
        "Unused where every bucket is on Spaces: layer2 makes that key",
    ),
    _Entry(
        "spaces-secret-access-key",
        PLATFORM,
        "spaces",
        "secretAccessKey",
        "SPACES_SECRET_ACCESS_KEY",
        "S3 secret key for buckets on AWS (provider: aws); the platform's S3 users read it "
        "(minio-secret.txt). Unused where every bucket is on Spaces: layer2 makes that key",
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


def external_secrets(env: str, *, mount: KvMount | None = None) -> SecretManifest:
    """The externally provided secrets of environment ``env``, by stable name; only those kept in
    ``mount`` when it is given (the platform's services may mount only the platform mount's share).

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
        if mount is None or entry.mount == mount
    )
