"""Secrets that come from outside (OAuth apps, API tokens, webhooks, hand-made logins): where each lives.

Nothing generates these; an operator puts them into Doppler (or a ``.env``) and
``sprocket-infra secrets bootstrap`` copies them into Vault. What an environment needs follows from its
validated configuration, so :func:`external_secrets` takes the :class:`Environment`:

* every environment: the OAuth clients, API tokens and webhooks below, under ``<env>/manual/`` of the mount
  whose policy reads them (the platform mount for the app services, the infrastructure mount for Traefik's
  forward-auth and Gatus);
* with a bucket on AWS (``layer2.uses_aws``): the AWS key pair the apps reach those buckets with. All-Spaces
  environments get a key layer2 makes, so asking them for one would only invite copying some other key in;
* with an ``external`` PostgreSQL server: each consumer's hand-made password, at the path layer2 would
  write it to for a DigitalOcean cluster (``<env>/postgres/<consumer>``, the platform's below
  ``for-platform``), so the stacks read it from the same place in every mode.

Deliberate fixes to the original layout (inventory 4.4): the Ballchasing token was not per environment
(``platform/ballchasing``), the Chatwoot key sat outside ``manual/``, and the Discord OAuth keys were
``client_id``/``client_secret`` while Google's and Epic's were ``clientId``/``clientSecret``; all OAuth
clients now use the same keys. The original generated core's JWT signing key with ``random`` inside the
platform stack; a key that changes whenever state is rebuilt logs every user out, so it is provided here.

This is the only list: the bootstrap writes exactly these refs, the stacks look theirs up by name, the
platform's catalog may name the platform mount's share of :func:`common_secret_names`, and a test proves
that each environment's manifest is exactly what its synthesized stacks read from outside layer2. Variable
names never fall in a namespace a provider or deploy tool reads (see ``RESERVED_ENV_VAR_PREFIXES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.config import Environment, load_environment
from sprocket_infra.secrets.manifest import SecretManifest, SecretRef
from sprocket_infra.vault.access import (
    FOR_PLATFORM,
    INFRASTRUCTURE,
    MANUAL,
    PLATFORM,
    KvMount,
    check_env_name,
    secret_path,
)


@dataclass(frozen=True)
class _Entry:
    """A manifest entry before it is placed in an environment; ``where`` is its path below ``<env>/``."""

    name: str
    mount: KvMount
    where: tuple[str, ...]
    key: str
    env_var: str
    description: str

    def ref(self, env: str) -> SecretRef:
        return SecretRef(
            name=self.name,
            mount=self.mount,
            path=secret_path(env, *self.where),
            key=self.key,
            description=self.description,
            env_var=self.env_var,
        )


def _oauth(provider: str, label: str, reader: str) -> tuple[_Entry, _Entry]:
    where = (MANUAL, f"oauth/{provider}")
    upper = provider.upper()
    return (
        _Entry(
            f"{provider}-client-id",
            PLATFORM,
            where,
            "clientId",
            f"{upper}_CLIENT_ID",
            f"{label} OAuth client ID; {reader}",
        ),
        _Entry(
            f"{provider}-client-secret",
            PLATFORM,
            where,
            "clientSecret",
            f"{upper}_CLIENT_SECRET",
            f"{label} OAuth client secret; {reader}",
        ),
    )


_COMMON: tuple[_Entry, ...] = (
    *_oauth("google", "Google", "core reads it (googleClientId.txt / googleSecret.txt)"),
    *_oauth("discord", "Discord", "core reads it (discord-client.txt / discord-secret.txt)"),
    *_oauth("epic", "Epic Games", "core reads it (epic-client.txt / epic-secret.txt)"),
    _Entry(
        "jwt-secret",
        PLATFORM,
        (MANUAL, "core"),
        "jwtSecret",
        "CORE_JWT_SECRET",
        "Key core signs session JWTs with (jwtSecret.txt); 64+ random characters, kept across rebuilds",
    ),
    _Entry(
        "steam-api-key",
        PLATFORM,
        (MANUAL, "oauth/steam"),
        "apiKey",
        "STEAM_API_KEY",
        "Steam Web API key; core reads it (steam-key.txt)",
    ),
    _Entry(
        "ballchasing-token",
        PLATFORM,
        (MANUAL, "ballchasing"),
        "token",
        "BALLCHASING_TOKEN",
        "ballchasing.com API token; replay-parse reads it (ballchasing-token)",
    ),
    _Entry(
        "chatwoot-hmac-key",
        PLATFORM,
        (MANUAL, "chatwoot"),
        "hmacKey",
        "CHATWOOT_HMAC_KEY",
        "Chatwoot identity-validation HMAC key; web reads it (chatwoot-hmac-key.txt)",
    ),
    _Entry(
        "discord-bot-token",
        PLATFORM,
        (MANUAL, "discord-bot"),
        "token",
        "DISCORD_BOT_TOKEN",
        "Discord bot token; discord-bot reads it (bot-token.txt)",
    ),
    _Entry(
        "forward-auth-client-secret",
        INFRASTRUCTURE,
        (MANUAL, "forward-auth"),
        "clientSecret",
        "FORWARD_AUTH_DISCORD_CLIENT_SECRET",
        "Discord OAuth client secret of Traefik's forward-auth (fa.<domain>)",
    ),
    _Entry(
        "grafana-alert-webhook",
        INFRASTRUCTURE,
        (MANUAL, "grafana"),
        "discordWebhookUrl",
        "GRAFANA_DISCORD_WEBHOOK_URL",
        "Discord webhook URL Grafana posts node disk/memory alerts to (may be Gatus's one)",
    ),
    _Entry(
        "gatus-alert-webhook",
        PLATFORM,
        (MANUAL, "gatus"),
        "discordWebhookUrl",
        "GATUS_DISCORD_WEBHOOK_URL",
        "Discord webhook URL Gatus posts status alerts to",
    ),
)
"""What every environment needs, whatever its configuration."""

_AWS_S3_KEY = "the key of the AWS IAM user the platform's S3 clients use for buckets with provider: aws"
_AWS_S3: tuple[_Entry, ...] = (
    _Entry(
        "aws-s3-access-key-id",
        PLATFORM,
        (MANUAL, "aws-s3"),
        "accessKeyId",
        "PLATFORM_AWS_S3_ACCESS_KEY_ID",
        f"Access key ID of {_AWS_S3_KEY} (minio-access.txt); never a deploy key",
    ),
    _Entry(
        "aws-s3-secret-access-key",
        PLATFORM,
        (MANUAL, "aws-s3"),
        "secretAccessKey",
        "PLATFORM_AWS_S3_SECRET_ACCESS_KEY",
        f"Secret access key of {_AWS_S3_KEY} (minio-secret.txt); never a deploy key",
    ),
)
"""Only where a bucket is on AWS: this code does not make IAM users, so an operator provides one key
pair scoped to the buckets. Its variables are deliberately not ``AWS_*``, which the AWS provider and the
state backend read as the operator's own deploy credentials."""


def _external_postgres(environment: Environment) -> Iterator[_Entry]:
    """The hand-made logins of an ``external`` server, each at the path layer2 would keep it at."""
    for consumer, reader in environment.layer2.database_consumers.items():
        folder = f"postgres/{consumer}"
        yield _Entry(
            f"postgres-{consumer}-password",
            INFRASTRUCTURE,
            (FOR_PLATFORM, folder) if consumer == "platform" else (folder,),
            "password",
            f"POSTGRES_{consumer.upper()}_PASSWORD",
            f"Password of login {naming.database_user(environment, consumer)}, made by hand on the external "
            f"PostgreSQL server; read by {reader}",
        )


def _entries(environment: Environment) -> Iterator[_Entry]:
    yield from _COMMON
    if environment.layer2.uses_aws:
        yield from _AWS_S3
    if environment.layer2.postgres.kind == "external":
        yield from _external_postgres(environment)


def external_secrets(environment: Environment | str, *, mount: KvMount | None = None) -> SecretManifest:
    """The externally provided secrets ``environment`` needs, by stable name; only those kept in ``mount``
    when it is given (the platform's services may mount only the platform mount's share).

    A name stands for the shipped ``config/<name>.yaml``. Example:
    ``external_secrets("prod")["google-client-secret"].path == "prod/manual/oauth/google"``, while
    ``external_secrets("prod")["aws-s3-access-key-id"]`` is a ``KeyError``: prod keeps its buckets on Spaces.
    """
    if isinstance(environment, str):
        environment = load_environment(check_env_name(environment))
    return SecretManifest(
        entry.ref(environment.name)
        for entry in _entries(environment)
        if mount is None or entry.mount == mount
    )


def common_secret_names(*, mount: KvMount | None = None) -> frozenset[str]:
    """Names every environment's manifest has, whatever its configuration (only ``mount``'s, if given):
    the ones code that knows no environment, like the catalog, may refer to."""
    return frozenset(entry.name for entry in _COMMON if mount is None or entry.mount == mount)
