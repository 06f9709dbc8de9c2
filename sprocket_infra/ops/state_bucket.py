"""The S3 state bucket, created private with versioning on, and checked on every run.

The state backend cannot create its own bucket, so before this the bucket (and its versioning) was a step
by hand that nothing checked. :func:`ensure_state_bucket` creates it when it is missing, turns versioning
on (idempotent) and reads the setting back: an overwritten or deleted state object can then always be
restored from an older version. Credentials are the backend's own (``AWS_*``: the state-only key).
"""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_infra.config import S3State
from sprocket_infra.ops.object_store import Bucket, ObjectStoreError, _errors


@dataclass(frozen=True, kw_only=True)
class StateBucketReport:
    bucket: str
    created: bool
    versioning: str


def state_bucket(state: S3State) -> Bucket:
    """The bucket ``state`` names, at its endpoint (Spaces in prod)."""
    return Bucket(name=state.bucket, endpoint_url=state.endpoint, region=state.region)


def ensure_state_bucket(bucket: Bucket) -> StateBucketReport:
    """Create ``bucket`` if missing (private), enable versioning, and confirm it reads back ``Enabled``."""
    from botocore.exceptions import ClientError

    client = bucket.client()
    created = False
    try:
        client.head_bucket(Bucket=bucket.name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise ObjectStoreError(
                f"checking s3://{bucket.name}: {error.response.get('Error', {}).get('Code')}"
            ) from None
        with _errors("creating", bucket, ""):
            client.create_bucket(Bucket=bucket.name, ACL="private")
        created = True
    with _errors("enabling versioning on", bucket, ""):
        client.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
        status = str(client.get_bucket_versioning(Bucket=bucket.name).get("Status", "never enabled"))
    if status != "Enabled":
        raise ObjectStoreError(f"s3://{bucket.name}: versioning reads back {status!r}, expected 'Enabled'")
    return StateBucketReport(bucket=bucket.name, created=created, versioning=status)
