"""``ObjectBucket``: one private, versioned S3 bucket on DigitalOcean Spaces or AWS S3.

Both providers get the same policy: private ACL (and, on AWS, every public-access block on), versioning on
so an overwrite or delete can be undone, old versions expiring after ``noncurrent_days`` so versioning
does not grow the bill forever, CORS only when browsers upload straight into the bucket, and deletion
protection because the objects are user data. Provider packages are imported only for the provider a
bucket actually uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf import TerraformResource, TerraformResourceLifecycle
from constructs import Construct

from sprocket_infra.config import BucketConfig
from sprocket_infra.endpoints import Bucket

AWS_DEFAULT_REGION = "us-east-1"
_UPLOAD_METHODS = ("GET", "HEAD", "PUT", "POST")


@dataclass(frozen=True, kw_only=True)
class ObjectBucketProps:
    name: str
    """Bucket name from :func:`sprocket_infra.naming.bucket_name`."""
    config: BucketConfig
    spaces_region: str
    """Region for Spaces buckets that name none (the environment's DigitalOcean region)."""
    cors_origins: Sequence[str] = ()
    """Origins allowed to upload when ``config.browser_uploads``. Left out: none (then no CORS either)."""

    def __post_init__(self) -> None:
        if self.config.browser_uploads and not self.cors_origins:
            raise ValueError(f"bucket {self.name}: browser_uploads needs at least one CORS origin")


class ObjectBucket(Construct):
    """Public attributes: ``bucket`` (the typed :class:`Bucket`), ``resource`` (the provider resource)."""

    def __init__(self, scope: Construct, construct_id: str, props: ObjectBucketProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        if props.config.provider == "spaces":
            region = props.config.region or props.spaces_region
            self.resource = self._spaces(region)
            endpoint = f"{region}.digitaloceanspaces.com"
        else:
            region = props.config.region or AWS_DEFAULT_REGION
            self.resource = self._aws(region)
            endpoint = f"s3.{region}.amazonaws.com"
        self.bucket = Bucket(name=props.name, endpoint=endpoint, region=region)

    @property
    def _cors(self) -> bool:
        return self.props.config.browser_uploads

    def _cors_rule(self) -> dict[str, Any]:
        """The one CORS rule both providers get: uploads from the web app's origins."""
        return {
            "allowed_methods": list(_UPLOAD_METHODS),
            "allowed_origins": list(self.props.cors_origins),
            "allowed_headers": ["*"],
            "max_age_seconds": 3600,
        }

    def _spaces(self, region: str) -> TerraformResource:
        from cdktf_cdktf_provider_digitalocean.spaces_bucket import (
            SpacesBucket,
            SpacesBucketLifecycleRule,
            SpacesBucketLifecycleRuleNoncurrentVersionExpiration,
            SpacesBucketVersioning,
        )

        bucket = SpacesBucket(
            self,
            "bucket",
            name=self.props.name,
            region=region,
            acl="private",
            versioning=SpacesBucketVersioning(enabled=True),
            lifecycle_rule=[
                SpacesBucketLifecycleRule(
                    id="expire-noncurrent-versions",
                    enabled=True,
                    noncurrent_version_expiration=SpacesBucketLifecycleRuleNoncurrentVersionExpiration(
                        days=self.props.config.noncurrent_days
                    ),
                )
            ],
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        if self._cors:
            from cdktf_cdktf_provider_digitalocean.spaces_bucket_cors_configuration import (
                SpacesBucketCorsConfiguration,
                SpacesBucketCorsConfigurationCorsRule,
            )

            SpacesBucketCorsConfiguration(
                self,
                "cors",
                bucket=bucket.name,
                region=region,
                cors_rule=[SpacesBucketCorsConfigurationCorsRule(**self._cors_rule())],
            )
        return bucket

    def _aws(self, region: str) -> TerraformResource:
        from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
        from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
            S3BucketLifecycleConfiguration,
            S3BucketLifecycleConfigurationRule,
            S3BucketLifecycleConfigurationRuleFilter,
            S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
        )
        from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
        from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA

        bucket = S3Bucket(
            self,
            "bucket",
            bucket=self.props.name,
            region=region,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        S3BucketPublicAccessBlock(
            self,
            "private",
            bucket=bucket.id,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket.id,
            region=region,
            versioning_configuration={"status": "Enabled"},
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket.id,
            region=region,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=self.props.config.noncurrent_days
                        )
                    ],
                )
            ],
        )
        if self._cors:
            from cdktf_cdktf_provider_aws.s3_bucket_cors_configuration import (
                S3BucketCorsConfiguration,
                S3BucketCorsConfigurationCorsRule,
            )

            S3BucketCorsConfiguration(
                self,
                "cors",
                bucket=bucket.id,
                region=region,
                cors_rule=[S3BucketCorsConfigurationCorsRule(**self._cors_rule())],
            )
        return bucket
