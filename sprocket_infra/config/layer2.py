"""``layer2``: data and observability services, buckets, retention and Vault's configuration."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import Count, Flag, Strict
from sprocket_infra.config.forward_auth import ForwardAuthConfig
from sprocket_infra.config.images import Layer2Images
from sprocket_infra.config.postgres import NoPostgresConfig, PostgresConfig

BucketKind = Literal["general", "image-generation", "replays"]
DatabaseConsumer = Literal["platform", "grafana", "n8n"]
"""The services that can hold a database login: the platform's apps and layer2's two stateful UIs."""


class BucketConfig(Strict):
    """One of the platform's object storage buckets."""

    provider: Literal["spaces", "aws"] = Field(
        "spaces", description="DigitalOcean Spaces or AWS S3. Left out: Spaces."
    )
    region: str | None = Field(
        None, description="Bucket region. Left out: digitalocean.region for Spaces, us-east-1 for AWS."
    )
    browser_uploads: Flag = Field(
        False, description="Browsers upload straight to the bucket, so it needs CORS. Left out: no CORS."
    )
    noncurrent_days: Count = Field(
        30, ge=1, le=3650, description="Days an overwritten or deleted object version is kept."
    )


class RetentionConfig(Strict):
    """How long observability data is kept."""

    logs_days: Count = Field(31, ge=1, le=400, description="Loki log retention.")
    metrics_days: Count = Field(7, ge=1, le=400, description="InfluxDB 'metrics' bucket (Telegraf).")
    platform_metrics_days: Count = Field(90, ge=1, le=3650, description="The platform's InfluxDB bucket.")


class Layer2VaultConfig(Strict):
    """How layer2 configures Vault beyond the mounts and policies of ``sprocket_infra/vault/access.py``."""

    github_token_ttl_s: Count = Field(8 * 3600, ge=300, description="TTL of tokens from a GitHub login.")
    github_token_max_ttl_s: Count = Field(24 * 3600, ge=300, description="Longest a GitHub token renews to.")
    deploy_token_ttl_s: Count = Field(3600, ge=300, description="TTL of deploy tokens (token roles).")
    deploy_token_max_ttl_s: Count = Field(4 * 3600, ge=300, description="Longest a deploy token renews to.")
    login_rate_limit: Count = Field(
        10,
        ge=1,
        description="Logins one client address may attempt per login_rate_interval_s on each login path "
        "(AppRole, GitHub); more get 429. Left out: 10.",
    )
    login_rate_interval_s: Count = Field(60, ge=1, description="Window of login_rate_limit. Left out: 60.")
    database_engine: Flag = Field(
        False,
        description="Mount the 'database' secrets engine on the managed PostgreSQL cluster (short-lived "
        "read-only logins). Left out: not mounted.",
    )
    contributors_read_secrets: Flag = Field(
        True,
        description="Let the GitHub 'contributor' team log in with readonly-team (read the environment's "
        "platform secrets, e.g. to run a service locally). Left out: allowed. Turn it off where the "
        "secrets are production credentials.",
    )
    protect_mounts: Flag = Field(
        True,
        description="Refuse to destroy the KV mounts (Terraform prevent_destroy): destroying one deletes "
        "every secret in it. Left out: protected. To tear an environment down, set false, deploy, destroy.",
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

    images: Layer2Images
    postgres: PostgresConfig = Field(
        default_factory=NoPostgresConfig,
        description="Where the services' databases live. Left out: none (SQLite for Grafana and n8n).",
    )
    database_consumers: dict[DatabaseConsumer, Annotated[str, Field(min_length=1)]] = Field(
        min_length=1,
        description="Who gets a PostgreSQL database and login of its own -> who reads it (for the secrets "
        "manifest). layer2 creates them; for an 'external' server the manifest asks for their passwords. "
        "Left out: config/defaults.yaml's list.",
    )
    buckets: dict[BucketKind, BucketConfig] = Field(
        default_factory=dict, description="The platform's buckets by kind. Left out: no buckets."
    )
    forward_auth: ForwardAuthConfig
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
