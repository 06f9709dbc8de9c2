"""``digitalocean`` and ``state``: the cloud region and where Terraform state is kept."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sprocket_infra.config.fields import DomainName, Strict


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
