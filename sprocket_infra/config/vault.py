"""``vault``: the Vault-API server, its storage and how it is unsealed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import DomainName, ImageRef, Strict


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
    image: ImageRef = Field(description="Vault-API server image. Left out: config/defaults.yaml's pin.")
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
