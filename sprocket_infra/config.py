"""One environment's settings, loaded from ``config/<name>.yaml`` and checked before anything is built.

Every field says what happens when it is left out. Unknown keys are errors (a typo must not silently
fall back to a default), and every problem in a file is reported at once, each as
``<file>: <key.path>: <what was expected> (got <value>)``.
"""

from __future__ import annotations

import ipaddress
import os
import re
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


def _registry(value: str) -> str:
    if not _REGISTRY_RE.match(value):
        raise ValueError(
            "expected a lower-case registry and namespace such as 'docker.io/asaxplayinghorse' or "
            "'ghcr.io/sprocketbot' (no scheme, no trailing '/')"
        )
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
        "docker.io/asaxplayinghorse",
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
    platform: PlatformConfig = Field(default_factory=PlatformConfig)

    @property
    def uses_digitalocean(self) -> bool:
        """Whether any resource of this environment lives in DigitalOcean (so its provider is needed)."""
        return self.vault.storage.kind == "s3"


def _describe(error: dict[str, Any]) -> str:
    location = (
        ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-")) or "(top)"
    )
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check spelling against sprocket_infra/config.py)"
    elif error["type"] == "missing":
        message = "required key is missing"
    else:
        message = f"{message} (got {error['input']!r:.80})"
    return f"{location}: {message}"


def parse_environment(data: Any, *, source: str) -> Environment:
    """Validate already-parsed YAML; ``source`` names the file in error messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    try:
        return Environment.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_describe(error)}" for error in exc.errors()]
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
