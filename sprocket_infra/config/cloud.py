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


class LocalState(Strict):
    kind: Literal["local"] = "local"
    directory: str = Field("state", description="Directory, relative to the project root, for tfstate files.")


class S3State(Strict):
    kind: Literal["s3"] = "s3"
    bucket: BucketName
    endpoint: S3Endpoint = "https://nyc3.digitaloceanspaces.com"
    region: str = "us-east-1"
    key_prefix: str = Field("sprocket", description="State keys are '<key_prefix>/<env>/<stack>.tfstate'.")
