"""``VaultConfiguration``: Vault's mounts, policies, logins and audit log, from one description.

Everything here is read off :func:`sprocket_infra.vault.access.vault_access`, the same description that
``sprocket-infra vault apply`` writes to a development Vault and that the integration tests check. This
construct adds no grant of its own; it only turns the description into Terraform resources:

* one KV v2 ``vault_mount`` per described mount;
* one ``vault_policy`` per policy, its text rendered by :func:`policy_hcl`;
* the GitHub auth method (organization members may log in) with each team's policies, and bounded token
  TTLs so a leaked GitHub-issued token dies within a working day. HashiCorp Vault only: OpenBao ships no
  GitHub auth method, so on OpenBao maintainers get tokens for the same policies from an operator;
* a token role per service policy (``infrastructure``, ``platform-<env>``): deploy tokens are made with
  ``vault token create -role=<policy>``, are orphans (revoking the operator's login does not break a
  running deploy) and expire within hours, unlike the never-expiring tokens of the original;
* a rate-limit quota on every login path (``auth/approle/login``, and ``auth/github/login`` on HashiCorp
  Vault): each client address (the one Traefik forwards) gets ``login_rate_limit`` attempts per
  ``login_rate_interval_s``, then 429, so a guessed or leaked secret-id cannot be tried at speed. The
  AppRole mount is made by ``sprocket-infra vault bootstrap`` before layer2's first deploy;
* a ``file`` audit device writing to stdout, so every request (with secret values HMAC'd) lands in the
  container log and from there in Loki. On OpenBao, whose API refuses audit devices, layer1 declares the
  same device in ``vault.hcl`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_vault.audit import Audit
from cdktf_cdktf_provider_vault.github_auth_backend import GithubAuthBackend
from cdktf_cdktf_provider_vault.github_team import GithubTeam
from cdktf_cdktf_provider_vault.mount import Mount
from cdktf_cdktf_provider_vault.policy import Policy as VaultPolicy
from cdktf_cdktf_provider_vault.quota_rate_limit import QuotaRateLimit
from cdktf_cdktf_provider_vault.token_auth_backend_role import TokenAuthBackendRole
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config import Layer2VaultConfig
from sprocket_infra.constructs.vault_with_s3_backend import AUDIT_DEVICE_PATH
from sprocket_infra.vault.access import VaultAccess, policy_hcl
from sprocket_infra.vault.admin import login_quotas


@dataclass(frozen=True, kw_only=True)
class VaultConfigurationProps:
    access: VaultAccess
    """The environment's mounts, policies and GitHub teams (``vault_access(env)``)."""
    settings: Layer2VaultConfig
    """Token TTLs."""
    openbao: bool
    """The server is OpenBao (``VaultConfig.is_openbao``): no GitHub login, audit device from its config."""


class VaultConfiguration(Construct):
    """Public attributes: ``mount_paths`` (mount path -> the ``vault_mount`` resource's ``path``)
    and ``policies`` (policy name -> ``vault_policy``)."""

    def __init__(self, scope: Construct, construct_id: str, props: VaultConfigurationProps) -> None:
        super().__init__(scope, construct_id)
        access, settings = props.access, props.settings
        mounts = {
            mount.path: Mount(
                self,
                f"mount-{mount.path}",
                path=mount.path,
                type=mount.engine_type,
                options=mount.options,
                description=mount.description,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=settings.protect_mounts),
            )
            for mount in access.mounts
        }
        self.mount_paths: dict[str, str] = {path: resource.path for path, resource in mounts.items()}
        self.policies = {
            policy.name: VaultPolicy(
                self,
                f"policy-{naming.environment_free_id(policy.name, access.env)}",
                name=policy.name,
                policy=policy_hcl(policy),
            )
            for policy in access.policies
        }
        if not props.openbao:
            self._github_login(access, settings)
        for policy in (access.infrastructure_policy, access.platform_policy):
            # OpenBao's token roles have no token_ttl/token_max_ttl (it drops them silently); an explicit
            # max TTL is a hard cap on both servers, so a deploy token dies in hours even if renewed.
            TokenAuthBackendRole(
                self,
                f"deploy-role-{naming.environment_free_id(policy.name, access.env)}",
                role_name=policy.name,
                allowed_policies=[self.policies[policy.name].name],
                orphan=True,
                renewable=True,
                token_explicit_max_ttl=settings.deploy_token_max_ttl_s,
                token_ttl=None if props.openbao else settings.deploy_token_ttl_s,
                token_max_ttl=None if props.openbao else settings.deploy_token_max_ttl_s,
            )
        for quota in login_quotas(
            access,
            openbao=props.openbao,
            rate=settings.login_rate_limit,
            interval_s=settings.login_rate_interval_s,
        ):
            QuotaRateLimit(
                self,
                f"quota-{quota.name}",
                name=quota.name,
                path=quota.path,
                rate=quota.rate,
                interval=quota.interval_s,
            )
        if not props.openbao:
            Audit(
                self,
                "audit-stdout",
                type="file",
                path=AUDIT_DEVICE_PATH,
                options={"file_path": "stdout", "format": "json"},
                description="Every request, secret values HMAC'd, to the container log (and so to Loki)",
            )

    def _github_login(self, access: VaultAccess, settings: Layer2VaultConfig) -> None:
        github = GithubAuthBackend(
            self,
            "github",
            organization=access.github.organization,
            path=access.github.path,
            description=f"GitHub organization {access.github.organization}: members log in with a token",
            token_ttl=settings.github_token_ttl_s,
            token_max_ttl=settings.github_token_max_ttl_s,
        )
        for team in access.github.teams:
            GithubTeam(
                self,
                f"github-team-{team.slug}",
                backend=github.id,
                team=team.slug,
                policies=[self.policies[policy.name].name for policy in team.policies],
            )
