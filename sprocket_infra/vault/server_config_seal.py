"""What an auto seal needs next to ``vault.hcl``: the transit token or the KMS key and its credentials.

Nothing secret is ever part of the rendered config or the synthesized JSON:

- ``transit``: the token for the transit server is a sensitive deploy-time variable
  (``TF_VAR_vault_transit_token``); it becomes a Docker secret the entrypoint hands to the server process
  alone (``VAULT_SEAL_TOKEN_FILE``).
- ``awskms`` with ``create_key``: layer1 creates the KMS key (rotation on, deletion protected), an IAM
  user allowed to use only that key, and its access key, which reaches Vault as a Docker secret holding
  an AWS credentials file. The AWS provider's own credentials come from ``AWS_*`` at deploy time.
- ``awskms`` with ``kms_key_id``: nothing is created; Vault reads the node's AWS credential chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, TerraformResourceLifecycle, TerraformStack, TerraformVariable
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.config.vault import AwsKmsUnseal, TransitUnseal
from sprocket_infra.constructs.swarm_service import DockerObject

TRANSIT_TOKEN_PATH = "/run/secrets/vault-transit-token"  # noqa: S105 - a path, not a token
KMS_CREDENTIALS_PATH = "/run/secrets/vault-kms-credentials"
TRANSIT_TOKEN_VARIABLE = "vault_transit_token"  # noqa: S105 - a variable name
"""Set as ``TF_VAR_vault_transit_token`` when deploying layer1 with a transit seal."""


@dataclass(frozen=True, kw_only=True)
class SealWiring:
    """What the Vault services mount and where their seal stanza points."""

    secret: DockerObject | None = None
    """A Docker secret every node mounts at ``target``. Left out: the seal needs none."""
    target: str | None = None
    kms_key_id: str | None = None
    """How vault.hcl names the KMS key created here (its alias, a literal). Left out: no key created."""


def seal_wiring(scope: Construct, environment: Environment) -> SealWiring:
    """Create what ``environment``'s seal needs (under ``scope``) and say how the nodes use it."""
    unseal = environment.vault.unseal
    if isinstance(unseal, TransitUnseal):
        return _transit(scope)
    if isinstance(unseal, AwsKmsUnseal) and unseal.create_key:
        return _kms_key(scope, environment, unseal)
    return SealWiring()


def _transit(scope: Construct) -> SealWiring:
    from cdktf_cdktf_provider_docker.secret import Secret

    token = TerraformVariable(
        scope,
        TRANSIT_TOKEN_VARIABLE,
        type="string",
        sensitive=True,
        nullable=False,
        description="Token of the transit server that seals Vault (a periodic token allowed only "
        "encrypt/decrypt on its key); from TF_VAR_vault_transit_token at deploy time.",
    )
    # The operator sets TF_VAR_<name>: the name is a contract, not a construct-path hash.
    token.override_logical_id(TRANSIT_TOKEN_VARIABLE)
    secret = Secret(
        scope,
        "transit-token",
        # A rotated token is a new secret (a digest of it in the name), created before the old one goes.
        name=naming.swarm_object_name(
            "vault-transit-token", Fn.substr(Fn.sha256(token.string_value), 0, naming.TAG_LENGTH)
        ),
        data=Fn.base64encode(token.string_value),
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
    )
    return SealWiring(secret=secret, target=TRANSIT_TOKEN_PATH)


def _kms_key(scope: Construct, environment: Environment, unseal: AwsKmsUnseal) -> SealWiring:
    from cdktf_cdktf_provider_aws.iam_access_key import IamAccessKey
    from cdktf_cdktf_provider_aws.iam_user import IamUser
    from cdktf_cdktf_provider_aws.iam_user_policy import IamUserPolicy
    from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
    from cdktf_cdktf_provider_aws.kms_key import KmsKey
    from cdktf_cdktf_provider_docker.secret import Secret

    from sprocket_infra import providers

    providers.aws_kms_provider(TerraformStack.of(scope), region=unseal.region)
    stem = f"sprocket-{environment.name}-vault-unseal"
    key = KmsKey(
        scope,
        "unseal-key",
        description=f"Seals the {environment.name} Vault (auto-unseal); losing it loses Vault's data",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
    )
    # vault.hcl names the key by this alias: a literal, so the config's content (and its name, a hash
    # of it) is known at synth; the secret below depends on the alias so no node starts before it exists.
    alias_name = f"alias/{stem}"
    alias = KmsAlias(scope, "unseal-key-alias", name=alias_name, target_key_id=key.key_id)
    user = IamUser(scope, "unseal-user", name=stem)
    IamUserPolicy(
        scope,
        "unseal-user-policy",
        name="use-vault-unseal-key",
        user=user.name,
        policy=Fn.jsonencode(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                        "Resource": key.arn,
                    }
                ],
            }
        ),
    )
    access_key = IamAccessKey(scope, "unseal-access-key", user=user.name)
    credentials = Fn.format(
        "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
        [access_key.id, access_key.secret],
    )
    secret = Secret(
        scope,
        "kms-credentials",
        # The key id (not secret) in the name: a rotated key is a new secret, created before the old goes.
        name=naming.swarm_object_name(
            "vault-kms-credentials", Fn.substr(access_key.id, 4, naming.TAG_LENGTH)
        ),
        data=Fn.base64encode(credentials),
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        depends_on=[alias],
    )
    return SealWiring(secret=secret, target=KMS_CREDENTIALS_PATH, kms_key_id=alias_name)
