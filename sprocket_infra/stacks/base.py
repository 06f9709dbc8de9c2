"""What every stack shares: its fixed name and where its state lives, locked and encrypted."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack, TerraformVariable
from constructs import Construct

from sprocket_infra.config import Environment, S3State
from sprocket_infra.stacks.state_encryption import PASSPHRASE_VARIABLE, encryption_block

STACK_NAMES = ("layer1", "layer2", "platform")


class SprocketStack(TerraformStack):
    """A stack named exactly ``layer1``, ``layer2`` or ``platform`` with per-environment state.

    ``local`` state sits in ``state/<env>/<stack>.tfstate`` under the project root. Terraform runs inside
    ``cdktf.out/stacks/<stack>``, so the path is written relative to that directory: absolute paths would
    leak the synthesizing machine's layout into the JSON and break on every other machine.

    S3 state is always locked by a lock object next to it (``use_lockfile``: conditional writes, no
    DynamoDB) and written with server-side encryption (``encrypt``). With ``opentofu_encryption`` the
    state and plan files are also encrypted client-side (``state_encryption``).
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
                encrypt=True,
                skip_credentials_validation=True,
                skip_region_validation=True,
                skip_requesting_account_id=True,
                skip_s3_checksum=True,
                skip_metadata_api_check=True,
            )
            # Not in the cdktf 0.21 bindings; both OpenTofu (1.10+) and Terraform (1.10+) read it.
            self.add_override("terraform.backend.s3.use_lockfile", True)
        else:
            LocalBackend(self, path=f"../../../{state.directory}/{environment.name}/{name}.tfstate")
        encryption = encryption_block(state.opentofu_encryption)
        if encryption is not None:
            TerraformVariable(
                self,
                PASSPHRASE_VARIABLE,
                type="string",
                sensitive=True,
                nullable=False,
                description="State encryption passphrase (16+ characters); set TF_VAR_state_passphrase.",
            )
            self.add_override("terraform.encryption", encryption)
