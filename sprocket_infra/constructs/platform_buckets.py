"""``PlatformBuckets``: the platform's buckets and the one key its services use to reach them.

The original shared one account-wide Spaces key between every app service. When every bucket is on
Spaces, a ``digitalocean_spaces_key`` with a read-write grant on exactly these buckets is made here and
kept in Vault for the platform. AWS buckets (or a mix) use the operator-provided key pair from the secrets
manifest instead (``aws-s3-access-key-id`` / ``aws-s3-secret-access-key``, which the manifest lists only for
such environments), because an IAM user per environment is an account decision this code should not make
silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import BucketConfig, BucketKind, Environment
from sprocket_infra.constructs.object_bucket import ObjectBucket, ObjectBucketProps
from sprocket_infra.constructs.vault_secrets import Layer2Secrets
from sprocket_infra.endpoints import Bucket, Login
from sprocket_infra.secrets.external import external_secrets


@dataclass(frozen=True, kw_only=True)
class PlatformBucketsProps:
    environment: Environment
    buckets: Mapping[BucketKind, BucketConfig]
    """Bucket kind -> its settings (``layer2.buckets`` of the environment)."""
    cors_origins: Sequence[str]
    """Origins browsers upload from (the web app's URLs)."""
    secrets: Layer2Secrets


class PlatformBuckets(Construct):
    """Public attributes: ``buckets`` (kind -> :class:`Bucket`), ``login`` (S3 key pair in Vault, or
    None when there are no buckets)."""

    def __init__(self, scope: Construct, construct_id: str, props: PlatformBucketsProps) -> None:
        super().__init__(scope, construct_id)
        environment = props.environment
        made = {
            kind: ObjectBucket(
                self,
                kind,
                ObjectBucketProps(
                    name=naming.bucket_name(environment, kind),
                    config=config,
                    spaces_region=environment.digitalocean.region,
                    cors_origins=props.cors_origins if config.browser_uploads else (),
                ),
            )
            for kind, config in sorted(props.buckets.items())
        }
        self.buckets: dict[str, Bucket] = {kind: bucket.bucket for kind, bucket in made.items()}
        self.login: Login | None = None
        if not made:
            return
        if all(config.provider == "spaces" for config in props.buckets.values()):
            self.login = self._spaces_key(environment, made, props.secrets)
        else:
            manual = external_secrets(environment)
            self.login = Login(
                username=manual["aws-s3-access-key-id"], password=manual["aws-s3-secret-access-key"]
            )

    def _spaces_key(
        self, environment: Environment, made: Mapping[BucketKind, ObjectBucket], secrets: Layer2Secrets
    ) -> Login:
        from cdktf_cdktf_provider_digitalocean.spaces_key import SpacesKey, SpacesKeyGrant

        key = SpacesKey(
            self,
            "access-key",
            name=f"{environment.name}-platform-buckets",
            grant=[
                SpacesKeyGrant(bucket=bucket.bucket.name, permission="readwrite")
                for _, bucket in sorted(made.items())
            ],
            depends_on=[bucket.resource for bucket in made.values()],
        )
        kept = secrets.keep(
            "buckets",
            {"accessKeyId": key.access_key, "secretAccessKey": key.secret_key},
            made_by=[key],
            for_platform=True,
        )
        return Login(username=kept["accessKeyId"], password=kept["secretAccessKey"])
