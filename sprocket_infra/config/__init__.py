"""One environment's settings, loaded from ``config/defaults.yaml`` and ``config/<name>.yaml`` and checked
before anything is built.

Every field says what happens when it is left out. Unknown keys are errors (a typo must not silently
fall back to a default), and every problem in a file is reported at once, each as
``<file>: <key.path>: <what was expected> (got <value>)``.

One module per section of the file (``routing``, ``swarm``, ``vault``, ``cloud``, ``images``, ``layer2``,
``postgres``, ``forward_auth``, ``platform``), shared value types in ``fields``, reading and merging in
``load``, message formatting in ``errors``. Everything is re-exported here.
"""

from sprocket_infra.config.cloud import DigitalOceanConfig, LocalState, S3State
from sprocket_infra.config.environment import Environment
from sprocket_infra.config.errors import ConfigError, describe_validation_error, short_repr
from sprocket_infra.config.fields import (
    DomainName,
    Email,
    ImageRef,
    ImageRegistry,
    ImageTag,
    ServiceKey,
    Strict,
    TailscaleIp,
)
from sprocket_infra.config.forward_auth import ForwardAuthConfig, ForwardAuthRule
from sprocket_infra.config.images import ImagesConfig, Layer2Images
from sprocket_infra.config.layer2 import (
    BucketConfig,
    BucketKind,
    DatabaseConsumer,
    Layer2Config,
    Layer2VaultConfig,
    RetentionConfig,
)
from sprocket_infra.config.load import (
    CONFIG_DIR,
    DEFAULT_ENVIRONMENT,
    load_environment,
    parse_environment,
)
from sprocket_infra.config.platform import ChatwootConfig, LogLevel, PlatformConfig
from sprocket_infra.config.postgres import (
    ExistingPostgresConfig,
    ExternalPostgresConfig,
    ManagedPostgresConfig,
    NoPostgresConfig,
    PostgresConfig,
    TrustedSource,
)
from sprocket_infra.config.routing import AcmeConfig, RoutingConfig
from sprocket_infra.config.swarm import PlacementConfig, SwarmConfig
from sprocket_infra.config.vault import RaftStorage, S3Storage, ShamirFileUnseal, VaultConfig

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_ENVIRONMENT",
    "AcmeConfig",
    "BucketConfig",
    "BucketKind",
    "ChatwootConfig",
    "ConfigError",
    "DatabaseConsumer",
    "DigitalOceanConfig",
    "DomainName",
    "Email",
    "Environment",
    "ExistingPostgresConfig",
    "ExternalPostgresConfig",
    "ForwardAuthConfig",
    "ForwardAuthRule",
    "ImageRef",
    "ImageRegistry",
    "ImageTag",
    "ImagesConfig",
    "Layer2Config",
    "Layer2Images",
    "Layer2VaultConfig",
    "LocalState",
    "LogLevel",
    "ManagedPostgresConfig",
    "NoPostgresConfig",
    "PlacementConfig",
    "PlatformConfig",
    "PostgresConfig",
    "RaftStorage",
    "RetentionConfig",
    "RoutingConfig",
    "S3State",
    "S3Storage",
    "ServiceKey",
    "ShamirFileUnseal",
    "Strict",
    "SwarmConfig",
    "TailscaleIp",
    "TrustedSource",
    "VaultConfig",
    "describe_validation_error",
    "load_environment",
    "parse_environment",
    "short_repr",
]
