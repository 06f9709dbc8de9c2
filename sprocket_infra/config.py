"""One environment's settings, loaded from ``config/<name>.yaml`` and checked before anything is built.

Every field says what happens when it is left out. Unknown keys are errors (a typo must not silently
fall back to a default), and every problem in a file is reported at once, each as
``<file>: <key.path>: <what was expected> (got <value>)``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_ENVIRONMENT = "local"

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}$")
_FLOATING_TAGS = frozenset({"latest", "main", "master", "edge", "stable", "dev", "nightly"})
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_TAILSCALE_NET = ipaddress.IPv4Network("100.64.0.0/10")


class ConfigError(Exception):
    """A configuration file is missing or invalid; the message names the file and every bad key."""


def _domain(value: str) -> str:
    if not _DOMAIN_RE.match(value) or len(value) > 253:
        raise ValueError("expected a lower-case DNS name such as 'sprocket.example.com' or 'localhost'")
    return value


def _image_tag(value: str) -> str:
    if value in _FLOATING_TAGS or not _TAG_RE.match(value):
        raise ValueError(
            "expected a pinned image tag such as 'v1.4.2' or 'sha-3f2a1bc' "
            f"(floating tags {sorted(_FLOATING_TAGS)} would roll services on every deploy)"
        )
    return value


def _image(value: str) -> str:
    """``repo[:tag]`` with a pinned tag, or ``repo@sha256:<digest>``."""
    if "@sha256:" in value:
        if not re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", value):
            raise ValueError("expected 'repository@sha256:<64 hex digits>'")
        return value
    repository, sep, tag = value.rpartition(":")
    if not sep or "/" in tag:
        raise ValueError(f"expected 'repository:tag' with a pinned tag, got no tag in {value!r}")
    _image_tag(tag)
    if not repository:
        raise ValueError("expected 'repository:tag'")
    _not_docker_hub_prefixed(value)
    return value


def _tailscale_ip(value: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    if value not in _TAILSCALE_NET:
        raise ValueError(f"expected a Tailscale address inside {_TAILSCALE_NET}")
    return value


DomainName = Annotated[str, AfterValidator(_domain)]
ImageRef = Annotated[str, AfterValidator(_image)]
ImageTag = Annotated[str, AfterValidator(_image_tag)]
TailscaleIp = Annotated[ipaddress.IPv4Address, AfterValidator(_tailscale_ip)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors and loaded settings are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- routing ---------------------------------------------------------------------------------------


class AcmeConfig(Strict):
    ca: Literal["none", "staging", "production"] = Field(
        "none",
        description="Let's Encrypt CA. 'none' serves plain HTTP (local); 'staging' for tests; "
        "'production' for real certificates. Left out: 'none'.",
    )
    email: Email | None = Field(None, description="ACME account contact; required unless ca is 'none'.")

    @model_validator(mode="after")
    def _email_when_issuing(self) -> AcmeConfig:
        if self.ca != "none" and self.email is None:
            raise ValueError(f"acme.email is required when acme.ca is '{self.ca}'")
        return self

    @property
    def tls(self) -> bool:
        return self.ca != "none"


class RoutingConfig(Strict):
    domain: DomainName = Field(
        description="Base domain; services answer on '<sub>.<domain>', the web app on it."
    )
    server_ip: ipaddress.IPv4Address | None = Field(
        None, description="LAN address the web app also answers on. Left out: no IP routing."
    )
    tailscale_ip: TailscaleIp | None = Field(
        None, description="Tailscale address the web app also answers on. Left out: none."
    )
    acme: AcmeConfig = Field(default_factory=AcmeConfig)


# --- swarm -----------------------------------------------------------------------------------------


class PlacementConfig(Strict):
    manager: tuple[str, ...] = Field(
        ("node.role==manager",), description="Where services that need the Swarm API run (socket proxy)."
    )
    ingress: tuple[str, ...] = Field(
        ("node.role==manager",),
        description="Where Traefik runs; its ACME volume lives there, so keep it to one node.",
    )
    storage: tuple[str, ...] = Field(
        ("node.role==manager",),
        description="Where stateful services (Vault keys, databases' volumes) run.",
    )


class SwarmConfig(Strict):
    encrypt_overlays: bool = Field(True, description="IPsec-encrypt internal overlay networks.")
    placement: PlacementConfig = Field(default_factory=PlacementConfig)


# --- vault -----------------------------------------------------------------------------------------


class RaftStorage(Strict):
    kind: Literal["raft"] = "raft"
    node_id: str = Field("vault-1", description="Raft node id of the single Vault node.")


class S3Storage(Strict):
    kind: Literal["s3"] = "s3"
    bucket: DomainName = Field(description="Spaces bucket holding Vault's encrypted storage (created).")
    endpoint: str = Field(
        "https://nyc3.digitaloceanspaces.com", pattern=r"^https://", description="S3 API endpoint."
    )
    region: str = Field("us-east-1", description="Signing region; Spaces accepts us-east-1.")
    path: str = Field("vault_storage", description="Key prefix inside the bucket.")


class ShamirFileUnseal(Strict):
    kind: Literal["shamir-file"] = "shamir-file"
    key_shares: int = Field(5, ge=1, le=10)
    key_threshold: int = Field(3, ge=1, le=10)
    keys_dir: str = Field(
        "/var/lib/sprocket/vault-keys",
        pattern=r"^/",
        description="Host directory (on the storage node) bind-mounted for the unseal keys, mode 0700.",
    )

    @model_validator(mode="after")
    def _threshold_fits(self) -> ShamirFileUnseal:
        if self.key_threshold > self.key_shares:
            raise ValueError(
                f"key_threshold ({self.key_threshold}) must not exceed key_shares ({self.key_shares})"
            )
        return self


class VaultConfig(Strict):
    image: ImageRef = Field("openbao/openbao:2.7.2", description="Vault-API server image.")
    binary: Literal["vault", "bao"] = Field("bao", description="CLI name inside the image.")
    subdomain: str = Field("vault", description="Vault answers on '<subdomain>.<domain>'.")
    storage: RaftStorage | S3Storage = Field(default_factory=RaftStorage, discriminator="kind")
    unseal: ShamirFileUnseal = Field(default_factory=ShamirFileUnseal)

    @property
    def is_openbao(self) -> bool:
        """OpenBao differs where it matters to layer2: audit devices are declared in its config file only
        (its API refuses them) and it ships no GitHub auth method."""
        return self.binary == "bao"

    @model_validator(mode="after")
    def _storage_supported(self) -> VaultConfig:
        if self.storage.kind == "s3" and self.binary == "bao":
            raise ValueError(
                "storage kind 's3' needs HashiCorp Vault (binary: vault): OpenBao has no s3 storage"
            )
        return self


# --- cloud and state -------------------------------------------------------------------------------


class DigitalOceanConfig(Strict):
    region: str = Field("nyc3", pattern=r"^[a-z]{3}[0-9]$", description="Region for Spaces and managed PG.")


class LocalState(Strict):
    kind: Literal["local"] = "local"
    directory: str = Field("state", description="Directory, relative to the project root, for tfstate files.")


class S3State(Strict):
    kind: Literal["s3"] = "s3"
    bucket: DomainName
    endpoint: str = Field("https://nyc3.digitaloceanspaces.com", pattern=r"^https://")
    region: str = "us-east-1"
    key_prefix: str = Field("sprocket", description="State keys are '<key_prefix>/<env>/<stack>.tfstate'.")


class ImagesConfig(Strict):
    traefik: ImageRef = "traefik:v3.7.15"
    socket_proxy: ImageRef = "tecnativa/docker-socket-proxy:0.3.0"


# --- platform (the Sprocket applications) ---------------------------------------------------------

_REGISTRY_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_SERVICE_KEY_RE = r"^[a-z][a-z0-9-]*$"


_DOCKER_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


def _not_docker_hub_prefixed(value: str) -> None:
    """Swarm keeps Docker Hub references in their short form (``org/app:tag``) and the provider reads
    them back that way, so a ``docker.io/`` prefix would show as a change of every service on every plan."""
    if value.startswith(_DOCKER_HUB_PREFIXES):
        short = value.split("/", 1)[1].removeprefix("library/")
        raise ValueError(f"write Docker Hub references without the registry host: {short!r}")


def _registry(value: str) -> str:
    if not _REGISTRY_RE.match(value):
        raise ValueError(
            "expected a lower-case registry and namespace such as 'asaxplayinghorse' (Docker Hub) or "
            "'ghcr.io/sprocketbot' (no scheme, no trailing '/')"
        )
    _not_docker_hub_prefixed(value)
    return value


ImageRegistry = Annotated[str, AfterValidator(_registry)]
ServiceKey = Annotated[str, Field(pattern=_SERVICE_KEY_RE)]
LogLevel = Literal["error", "warn", "log", "debug", "verbose"]


class ChatwootConfig(Strict):
    """The support chat widget the web app embeds; both values are public (they ship to browsers)."""

    url: str = Field(pattern=r"^https?://[^/\s]+$", description="Chatwoot base URL, no trailing '/'.")
    website_token: str = Field(
        pattern=r"^[A-Za-z0-9]+$", description="The inbox's public website token shown in Chatwoot."
    )


class PlatformConfig(Strict):
    """How this environment runs the catalog's applications (``sprocket_infra/catalog/services.yaml``).

    Service keys in ``image_tags`` and ``replicas`` are checked against the catalog when the platform
    stack is built, so a typo fails there with this file's name and the key path.
    """

    registry: ImageRegistry = Field(
        "asaxplayinghorse",
        description="Registry and namespace of the app images, e.g. 'ghcr.io/sprocketbot'. "
        "Left out: Docker Hub 'asaxplayinghorse', where the original images live.",
    )
    image_tag: ImageTag = Field(
        "v1.0.0",
        description="Pinned tag every app image runs. Left out: 'v1.0.0'; set the release you deploy.",
    )
    image_tags: dict[ServiceKey, ImageTag] = Field(
        default_factory=dict,
        description="Per-service tag overrides by catalog key (e.g. roll one service forward). "
        "Left out: every service runs image_tag.",
    )
    replicas: dict[ServiceKey, Annotated[int, Field(ge=0, le=20)]] = Field(
        default_factory=dict,
        description="Per-service replica counts by catalog key. Left out: the catalog's count.",
    )
    alpha_restrictions: bool = Field(
        False, description="Put the web app behind the AlphaTesters forward-auth rule. Left out: open."
    )
    log_levels: tuple[LogLevel, ...] = Field(
        ("error", "warn", "log"),
        min_length=1,
        description="Logger levels the apps print. Left out: no debug output.",
    )
    bot_prefix: str = Field(
        "s.", pattern=r"^\S{1,5}$", description="Discord command prefix of the bot. Left out: 's.'."
    )
    parsed_object_prefix: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Key prefix of parsed replays in the replays bucket. Left out: the environment name.",
    )
    chatwoot: ChatwootConfig | None = Field(
        None, description="Support chat widget in the web app. Left out: the widget is disabled."
    )


# --- layer2 (data and observability) ---------------------------------------------------------------


class Layer2Images(Strict):
    """Pinned images of layer2's services; each tag was current when it was written down here."""

    redis: ImageRef = "redis:8.2.1"
    rabbitmq: ImageRef = "rabbitmq:4.2.3-management-alpine"
    influxdb: ImageRef = "influxdb:2.7.12-alpine"
    grafana: ImageRef = "grafana/grafana:12.1.1"
    loki: ImageRef = "grafana/loki:3.7.6"
    alloy: ImageRef = "grafana/alloy:v1.16.0"
    telegraf: ImageRef = "telegraf:1.40.1-alpine"
    gatus: ImageRef = "twinproduction/gatus:v5.20.0"
    n8n: ImageRef = "n8nio/n8n:2.20.6"
    neo4j: ImageRef = "neo4j:5.26.8-community"
    forward_auth: ImageRef = Field(
        "asaxplayinghorse/discord-forward-auth:1.0.0",
        description="Discord forward-auth image. Left out: tag 1.0.0; pin the digest you actually run.",
    )


class TrustedSource(Strict):
    """One entry of the managed database's firewall: who may open a connection."""

    type: Literal["tag", "droplet", "ip_addr"] = Field(
        description="'tag' (every droplet with that tag), 'droplet' (a droplet id) or 'ip_addr'."
    )
    value: str = Field(min_length=1, description="The tag, droplet id or IP address/CIDR.")


DATABASE_CONSUMERS = {"platform": "the platform's apps", "grafana": "Grafana", "n8n": "n8n"}
"""Who gets a PostgreSQL database and login of its own (-> who uses it): the platform and layer2's two
stateful UIs. layer2 creates them; the secrets manifest asks for their passwords on an external server."""


class ManagedPostgresConfig(Strict):
    """A DigitalOcean managed PostgreSQL cluster created and owned by layer2."""

    kind: Literal["managed"] = "managed"
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,62}$", description="Cluster name in DigitalOcean.")
    size: str = Field("db-s-1vcpu-1gb", description="Node size slug. Left out: the smallest (1 vCPU/1 GB).")
    version: str = Field("17", pattern=r"^[0-9]{2}$", description="PostgreSQL major version.")
    node_count: int = Field(1, ge=1, le=3, description="Nodes (1 primary + standbys). Left out: 1.")
    trusted_sources: tuple[TrustedSource, ...] = Field(
        min_length=1, description="Who may connect: the Swarm node(s). Required, never 'anyone'."
    )


class ExistingPostgresConfig(Strict):
    """A DigitalOcean managed cluster made outside this code, looked up by name; layer2 adds to it."""

    kind: Literal["existing"] = "existing"
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,62}$", description="Name of the existing cluster.")
    trusted_sources: tuple[TrustedSource, ...] = Field(
        min_length=1,
        description="Who may connect; this list replaces the cluster's firewall rules, so list every node.",
    )


class ExternalPostgresConfig(Strict):
    """A PostgreSQL server layer2 does not manage: databases, users and Vault passwords exist already."""

    kind: Literal["external"] = "external"
    host: str = Field(min_length=1, description="Host name or IP the services connect to.")
    port: int = Field(5432, ge=1, le=65535)
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"


class NoPostgresConfig(Strict):
    """No PostgreSQL: no database logins; Grafana and n8n keep their state in SQLite on a volume."""

    kind: Literal["none"] = "none"


PostgresConfig = Annotated[
    ManagedPostgresConfig | ExistingPostgresConfig | ExternalPostgresConfig | NoPostgresConfig,
    Field(discriminator="kind"),
]

BucketKind = Literal["general", "image-generation", "replays"]


class BucketConfig(Strict):
    """One of the platform's object storage buckets."""

    provider: Literal["spaces", "aws"] = Field(
        "spaces", description="DigitalOcean Spaces or AWS S3. Left out: Spaces."
    )
    region: str | None = Field(
        None, description="Bucket region. Left out: digitalocean.region for Spaces, us-east-1 for AWS."
    )
    browser_uploads: bool = Field(
        False, description="Browsers upload straight to the bucket, so it needs CORS. Left out: no CORS."
    )
    noncurrent_days: int = Field(
        30, ge=1, le=3650, description="Days an overwritten or deleted object version is kept."
    )


class ForwardAuthRule(Strict):
    """A Discord forward-auth rule: members holding any of ``role_ids`` in the guild pass."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$", description="Rule key, e.g. 'SprocketAdmin'.")
    role_ids: tuple[str, ...] = Field(min_length=1, description="Discord role ids (snowflakes).")

    @model_validator(mode="after")
    def _snowflakes(self) -> ForwardAuthRule:
        bad = [role for role in self.role_ids if not role.isdigit()]
        if bad:
            raise ValueError(f"role ids must be Discord snowflakes (digits only), got {bad}")
        return self


_MAINTAINER, _ADMINISTRATOR, _MODERATOR = "856290331292991490", "856290331292991489", "856290331292991488"
_CONTRIBUTOR, _SUPPORT, _DATA, _DESIGN = (
    "856291576014569502", "856290331279884297", "923396697600704532", "895054913212665898"
)  # fmt: skip
_STAFF = (_MAINTAINER, _ADMINISTRATOR, _MODERATOR, _CONTRIBUTOR, _SUPPORT, _DATA, _DESIGN)
_DEFAULT_RULES = (
    ForwardAuthRule(name="SprocketAdmin", role_ids=(_MAINTAINER, _ADMINISTRATOR)),
    ForwardAuthRule(name="SprocketStaff", role_ids=_STAFF),
    ForwardAuthRule(name="SprocketDeveloper", role_ids=(_MAINTAINER, _ADMINISTRATOR, _CONTRIBUTOR)),
    ForwardAuthRule(name="AlphaTesters", role_ids=(*_STAFF, "957813905005117470")),
    ForwardAuthRule(name="EloTeam", role_ids=(_MAINTAINER, _ADMINISTRATOR, "930203170636976178")),
)


class ForwardAuthConfig(Strict):
    """Discord OAuth forward-auth in front of admin UIs (inventory 3.5); its client secret is in Vault."""

    client_id: str = Field("846086564479631372", pattern=r"^[0-9]+$", description="Discord OAuth client id.")
    guild_id: str = Field("856290331279884288", pattern=r"^[0-9]+$", description="Guild whose roles count.")
    subdomain: str = Field("fa", description="The login callback answers on '<subdomain>.<domain>'.")
    rules: tuple[ForwardAuthRule, ...] = Field(_DEFAULT_RULES, min_length=1)
    command: tuple[str, ...] = Field(
        ("node", "dist/main.js"),
        min_length=1,
        description="The image's own start command, run after the client secret is read from its file "
        "(the image only reads CLIENT_SECRET from the environment).",
    )


class RetentionConfig(Strict):
    """How long observability data is kept."""

    logs_days: int = Field(31, ge=1, le=400, description="Loki log retention.")
    metrics_days: int = Field(7, ge=1, le=400, description="InfluxDB 'metrics' bucket (Telegraf).")
    platform_metrics_days: int = Field(90, ge=1, le=3650, description="The platform's InfluxDB bucket.")


class Layer2VaultConfig(Strict):
    """How layer2 configures Vault beyond the mounts and policies of ``sprocket_infra/vault/access.py``."""

    github_token_ttl_s: int = Field(8 * 3600, ge=300, description="TTL of tokens from a GitHub login.")
    github_token_max_ttl_s: int = Field(24 * 3600, ge=300, description="Longest a GitHub token renews to.")
    deploy_token_ttl_s: int = Field(3600, ge=300, description="TTL of deploy tokens (token roles).")
    deploy_token_max_ttl_s: int = Field(4 * 3600, ge=300, description="Longest a deploy token renews to.")
    database_engine: bool = Field(
        False,
        description="Mount the 'database' secrets engine on the managed PostgreSQL cluster (short-lived "
        "read-only logins). Left out: not mounted.",
    )
    contributors_read_secrets: bool = Field(
        True,
        description="Let the GitHub 'contributor' team log in with readonly-team (read the environment's "
        "platform secrets, e.g. to run a service locally). Left out: allowed. Turn it off where the "
        "secrets are production credentials.",
    )

    @model_validator(mode="after")
    def _ttls_ordered(self) -> Layer2VaultConfig:
        for ttl, cap in (
            ("github_token_ttl_s", "github_token_max_ttl_s"),
            ("deploy_token_ttl_s", "deploy_token_max_ttl_s"),
        ):
            if getattr(self, ttl) > getattr(self, cap):
                raise ValueError(f"{ttl} ({getattr(self, ttl)}) must not exceed {cap} ({getattr(self, cap)})")
        return self


class Layer2Config(Strict):
    """Data and observability services, managed PostgreSQL, object storage and Vault configuration."""

    images: Layer2Images = Field(default_factory=Layer2Images)
    postgres: PostgresConfig = Field(
        default_factory=NoPostgresConfig,
        description="Where the services' databases live. Left out: none (SQLite for Grafana and n8n).",
    )
    buckets: dict[BucketKind, BucketConfig] = Field(
        default_factory=dict, description="The platform's buckets by kind. Left out: no buckets."
    )
    forward_auth: ForwardAuthConfig = Field(default_factory=ForwardAuthConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    vault: Layer2VaultConfig = Field(default_factory=Layer2VaultConfig)

    @model_validator(mode="after")
    def _database_engine_needs_a_cluster(self) -> Layer2Config:
        if self.vault.database_engine and self.postgres.kind not in ("managed", "existing"):
            raise ValueError(
                "vault.database_engine needs postgres.kind 'managed' or 'existing' "
                f"(got '{self.postgres.kind}')"
            )
        return self

    @property
    def uses_digitalocean(self) -> bool:
        """Whether layer2 creates or reads DigitalOcean resources (managed PostgreSQL, Spaces buckets)."""
        managed = self.postgres.kind in ("managed", "existing")
        return managed or any(bucket.provider == "spaces" for bucket in self.buckets.values())

    @property
    def uses_aws(self) -> bool:
        return any(bucket.provider == "aws" for bucket in self.buckets.values())


# --- the environment -------------------------------------------------------------------------------


class Environment(Strict):
    """Everything that differs between local, lan and prod."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,20}$", description="Environment name; prefixes queues.")
    routing: RoutingConfig
    swarm: SwarmConfig = Field(default_factory=SwarmConfig)
    vault: VaultConfig = Field(default_factory=VaultConfig)
    digitalocean: DigitalOceanConfig = Field(default_factory=DigitalOceanConfig)
    state: LocalState | S3State = Field(default_factory=LocalState, discriminator="kind")
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    layer2: Layer2Config = Field(default_factory=Layer2Config)
    platform: PlatformConfig = Field(default_factory=PlatformConfig)

    @property
    def uses_digitalocean(self) -> bool:
        """Whether any resource of this environment lives in DigitalOcean (so its provider is needed)."""
        return self.vault.storage.kind == "s3"


def describe_validation_error(error: Mapping[str, Any], *, schema: str = "sprocket_infra/config.py") -> str:
    """One pydantic error as ``<key.path>: <what is wrong> (got <value>)``; ``schema`` is where keys are
    defined, named when a key is unknown. The value is left out when it is a whole mapping."""
    location = (
        ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-")) or "(top)"
    )
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key (check spelling against {schema})"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif not isinstance(error.get("input"), Mapping):
        message = f"{message} (got {error['input']!r:.80})"
    return f"{location}: {message}"


def parse_environment(data: Any, *, source: str) -> Environment:
    """Validate already-parsed YAML; ``source`` names the file in error messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    try:
        return Environment.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {describe_validation_error(error)}" for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def load_environment(name: str | None = None, *, config_dir: Path = CONFIG_DIR) -> Environment:
    """Load ``<config_dir>/<name>.yaml``; the name defaults to ``$SPROCKET_ENV`` and then ``local``."""
    name = name or os.environ.get("SPROCKET_ENV") or DEFAULT_ENVIRONMENT
    path = config_dir / f"{name}.yaml"
    shown = path.relative_to(CONFIG_DIR.parent) if path.is_relative_to(CONFIG_DIR.parent) else path
    if not path.is_file():
        known = sorted(p.stem for p in config_dir.glob("*.yaml"))
        raise ConfigError(f"{shown}: no such environment file (known environments: {', '.join(known)})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: not valid YAML: {exc}") from None
    environment = parse_environment(data, source=str(shown))
    if environment.name != name:
        raise ConfigError(
            f"{shown}: name: expected '{name}' to match the file name (got {environment.name!r})"
        )
    return environment
