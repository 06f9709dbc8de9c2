"""``vault``: the Vault-API server, its storage, how it is unsealed, and whether it runs as a cluster.

Combinations that cannot work are refused here, before anything is built: HA needs raft storage (the S3
storage has no HA locking) and an auto seal (Shamir would need the unseal keys on every node's disk);
``awskms`` needs a key (created or named) and raft storage (its AWS credentials and the S3 storage's
Spaces key would both come from the one process's AWS credential chain); OpenBao has no S3 storage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import (
    BucketName,
    Count,
    DomainName,
    Flag,
    ImageRef,
    KeysDir,
    S3Endpoint,
    Strict,
)


class RaftStorage(Strict):
    kind: Literal["raft"] = "raft"
    node_id: str = Field("vault-1", description="Raft node id of the single Vault node.")


class S3Storage(Strict):
    kind: Literal["s3"] = "s3"
    bucket: BucketName = Field(description="Spaces bucket holding Vault's encrypted storage (created).")
    endpoint: S3Endpoint = Field("https://nyc3.digitaloceanspaces.com", description="S3 API endpoint.")
    region: str = Field("us-east-1", description="Signing region; Spaces accepts us-east-1.")
    path: str = Field("vault_storage", description="Key prefix inside the bucket.")


KEYS_DIR_DEFAULT = "/var/lib/sprocket/vault-keys"


class ShamirFileUnseal(Strict):
    kind: Literal["shamir-file"] = "shamir-file"
    key_shares: Count = Field(5, ge=1, le=10)
    key_threshold: Count = Field(3, ge=1, le=10)
    keys_dir: KeysDir = Field(
        KEYS_DIR_DEFAULT,
        description="Host directory (on the storage node) bind-mounted for the unseal keys, mode 0700.",
    )

    @model_validator(mode="after")
    def _threshold_fits(self) -> ShamirFileUnseal:
        _check_shares("key", self.key_shares, self.key_threshold)
        return self


def _check_shares(what: str, shares: int, threshold: int) -> None:
    """Vault's and OpenBao's init refuse a threshold above the shares, and a threshold of 1 with
    several shares ("threshold must be greater than one for multiple shares", vault/seal_config.go
    SealConfig.Validate): every share alone would open the vault, so splitting it gains nothing."""
    if threshold > shares:
        raise ValueError(f"{what}_threshold ({threshold}) must not exceed {what}_shares ({shares})")
    if shares > 1 and threshold < 2:
        raise ValueError(
            f"{what}_threshold must be at least 2 when {what}_shares is {shares} (or set both to 1)"
        )


class _AutoUnseal(Strict):
    """What every auto seal shares: the server unseals itself; initialization hands out recovery keys,
    which cannot unseal anything (they authorize root-token generation and seal migration)."""

    recovery_shares: Count = Field(
        5, ge=1, le=10, description="Recovery key shares made at init. Left out: 5."
    )
    recovery_threshold: Count = Field(3, ge=1, le=10, description="Shares needed to use them. Left out: 3.")
    keys_dir: KeysDir = Field(
        KEYS_DIR_DEFAULT,
        description="Host directory where the first node leaves the recovery keys and root token of the "
        "initialization (mode 0700); move them offline. Left out: the Shamir keys' directory.",
    )

    @model_validator(mode="after")
    def _recovery_threshold_fits(self) -> _AutoUnseal:
        _check_shares("recovery", self.recovery_shares, self.recovery_threshold)
        return self


class TransitUnseal(_AutoUnseal):
    """Another Vault/OpenBao's transit engine holds the key that unseals this one. Its token is a
    deploy-time variable (``TF_VAR_vault_transit_token``) that becomes a Docker secret: never in the
    synthesized JSON."""

    kind: Literal["transit"] = "transit"
    address: str = Field(
        pattern=r"^https?://[^\s/]+(:[0-9]+)?/?$",
        description="API address of the transit server, e.g. 'https://seal.example.net:8200'. Required.",
    )
    key_name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,128}$", description="Name of the transit key that seals us. Required."
    )
    mount_path: str = Field(
        "transit/", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", description="Transit mount path."
    )


class AwsKmsUnseal(_AutoUnseal):
    """An AWS KMS key unseals Vault: either created by layer1 (with an IAM user that may use only that
    key, whose access key reaches Vault as a Docker secret) or an existing one named by id. The AWS
    provider's own credentials come from ``AWS_*`` at deploy time."""

    kind: Literal["awskms"] = "awskms"
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$", description="AWS region of the key. Required.")
    create_key: Flag = Field(False, description="Create the key in layer1. Left out: use kms_key_id.")
    kms_key_id: str | None = Field(
        None,
        pattern=r"^(arn:aws[a-z-]*:kms:[^\s]+|alias/[A-Za-z0-9/_-]+|[0-9a-f-]{36})$",
        description="Id, ARN or alias of an existing key. Left out: create_key must be true.",
    )

    @model_validator(mode="after")
    def _one_key(self) -> AwsKmsUnseal:
        if self.create_key == (self.kms_key_id is not None):
            raise ValueError(
                "awskms needs exactly one key: set create_key: true or kms_key_id: <existing key> "
                f"(got create_key={self.create_key}, kms_key_id={self.kms_key_id!r})"
            )
        return self


Unseal = ShamirFileUnseal | TransitUnseal | AwsKmsUnseal


class VaultHaConfig(Strict):
    """Several Vault nodes on integrated raft storage, each a Swarm service pinned to its own node."""

    nodes: Literal[3, 5] = Field(3, description="Raft voters; odd, so a majority survives. Left out: 3.")
    node_label: str = Field(
        "sprocket.vault-node",
        pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$",
        description="Swarm node label pinning node N: 'node.labels.<label>==N' must match one node each.",
    )


class VaultConfig(Strict):
    image: ImageRef = Field(description="Vault-API server image. Left out: config/defaults.yaml's pin.")
    binary: Literal["vault", "bao"] = Field("bao", description="CLI name inside the image.")
    subdomain: DomainName = Field("vault", description="Vault answers on '<subdomain>.<domain>'.")
    storage: RaftStorage | S3Storage = Field(default_factory=RaftStorage, discriminator="kind")
    unseal: Unseal = Field(default_factory=ShamirFileUnseal, discriminator="kind")
    ha: VaultHaConfig | None = Field(None, description="Run a raft cluster. Left out: one node.")

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
        if self.ha is not None and self.storage.kind != "raft":
            raise ValueError(
                f"ha needs storage.kind 'raft' (got '{self.storage.kind}'): the s3 storage has no HA "
                "locking, so a second node would corrupt it; keep s3 for a single node or move to raft"
            )
        if self.ha is not None and self.unseal.kind == "shamir-file":
            raise ValueError(
                "ha needs unseal.kind 'transit' or 'awskms' (got 'shamir-file'): with Shamir every node "
                "would need the unseal keys on its disk, and a restarted node could not rejoin by itself"
            )
        if self.unseal.kind == "awskms" and self.storage.kind == "s3":
            raise ValueError(
                "unseal.kind 'awskms' needs storage.kind 'raft' (got 's3'): the KMS key's AWS credentials "
                "and the bucket's Spaces key would both be read from the one AWS credential chain"
            )
        return self

    @property
    def auto_unseal(self) -> bool:
        """Whether the server unseals itself (transit, awskms) rather than from key shares on disk."""
        return self.unseal.kind != "shamir-file"

    @property
    def keys_dir(self) -> str:
        """Host directory of the unseal (Shamir) or recovery (auto seal) keys and the root token."""
        return self.unseal.keys_dir
