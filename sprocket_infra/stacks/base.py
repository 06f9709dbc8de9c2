"""What every stack shares: its fixed name and where its state lives."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack
from constructs import Construct

from sprocket_infra.config import Environment, S3State

STACK_NAMES = ("layer1", "layer2", "platform")


class SprocketStack(TerraformStack):
    """A stack named exactly ``layer1``, ``layer2`` or ``platform`` with per-environment state.

    ``local`` state sits in ``state/<env>/<stack>.tfstate`` under the project root. Terraform runs inside
    ``cdktf.out/stacks/<stack>``, so the path is written relative to that directory: absolute paths would
    leak the synthesizing machine's layout into the JSON and break on every other machine.
    """

    def __init__(self, scope: Construct, name: str, environment: Environment) -> None:
        if name not in STACK_NAMES:
            raise ValueError(f"stack name must be one of {STACK_NAMES} (got {name!r})")
        super().__init__(scope, name)
        self.environment = environment
        state = environment.state
        if isinstance(state, S3State):
            S3Backend(
                self,
                bucket=state.bucket,
                key=f"{state.key_prefix}/{environment.name}/{name}.tfstate",
                region=state.region,
                endpoints={"s3": state.endpoint},
                skip_credentials_validation=True,
                skip_region_validation=True,
                skip_requesting_account_id=True,
                skip_s3_checksum=True,
                skip_metadata_api_check=True,
            )
        else:
            LocalBackend(self, path=f"../../../{state.directory}/{environment.name}/{name}.tfstate")
