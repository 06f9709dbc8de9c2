"""``digitalocean`` and ``state``: the cloud region and where Terraform state is kept."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sprocket_infra.config.fields import BucketName, DigitalOceanRegion, S3Endpoint, Strict


class DigitalOceanConfig(Strict):
    region: DigitalOceanRegion = Field(
        "nyc3",
        description="Region of managed PostgreSQL and of Spaces buckets that name none. Left out: nyc3.",
    )


StateEncryption = Literal["off", "on", "migrate"]


class _State(Strict):
    opentofu_encryption: StateEncryption = Field(
        "off",
        description=(
            "OpenTofu's client-side state and plan encryption (AES-GCM, key derived by PBKDF2 from the "
            "passphrase in TF_VAR_state_passphrase). 'on': every state and plan must be encrypted; "
            "'migrate': read unencrypted state once and write it back encrypted, then switch to 'on'. "
            "Terraform has no such block: leave 'off' for environments deployed with Terraform."
        ),
    )


class LocalState(_State):
    kind: Literal["local"] = "local"
    directory: str = Field("state", description="Directory, relative to the project root, for tfstate files.")


class S3State(_State):
    """An S3-compatible bucket (Spaces in prod), with a lock file and server-side encryption always on.

    The backend reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``: give it a key limited to this
    bucket, not the key that manages the other buckets (``SPACES_*``)."""

    kind: Literal["s3"] = "s3"
    bucket: BucketName
    endpoint: S3Endpoint = "https://nyc3.digitaloceanspaces.com"
    region: str = "us-east-1"
    key_prefix: str = Field("sprocket", description="State keys are '<key_prefix>/<env>/<stack>.tfstate'.")
