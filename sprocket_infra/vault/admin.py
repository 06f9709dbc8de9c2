"""``vault-admin``: the one policy layer2 and platform deploy with, once the root token is gone.

The root token can do anything, including what no deploy ever needs: seal the server, read raw storage,
turn the audit log off, rotate the barrier key, or replace the logins that keep an operator in. So the
root token is used once (``sprocket-infra vault bootstrap`` writes this policy and the AppRole that hands
it out, then revokes the root token), and every later deploy holds ``vault-admin`` instead.

The rules are derived from the same :class:`~sprocket_infra.vault.access.VaultAccess` the stacks build
from, path by path, each with the reason a deploy needs it, so a new mount or policy in the description
gets its admin rule with it and nothing else does. Everything not listed is refused by Vault's default
deny; :data:`REFUSED` lists the dangerous requests the integration tests make to prove it.

Two rules of thumb keep the policy from granting itself more:

* it may write only the policies the description names, never ``vault-admin`` or ``default`` (every
  token holds ``default``, and Vault re-reads policies on every request, so writing either would widen
  the writer's own token at once);
* it may not touch the AppRole mount or role that issues it, and may not create tokens from roles, so it
  cannot mint a token for a policy it has just rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.vault.access import VaultAccess
from sprocket_infra.vault.server_config import AUDIT_DEVICE_PATH

VAULT_ADMIN = "vault-admin"
"""Name of the policy and of the AppRole role that issues it."""

APPROLE_PATH = "approle"
"""Mount path of the AppRole auth method the bootstrap enables for the deploy identity."""

_CAPABILITY_ORDER = ("create", "read", "update", "patch", "delete", "list", "sudo")
_MANAGE = frozenset({"create", "read", "update", "delete"})


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One ``path`` stanza of the policy and why a deploy needs it."""

    path: str
    capabilities: frozenset[str]
    why: str


@dataclass(frozen=True, kw_only=True)
class LoginQuota:
    """A rate-limit quota on one login endpoint (``auth/<mount>/login``): Vault counts the requests of
    each client address (the forwarded one behind Traefik) and answers 429 past ``rate`` per
    ``interval_s``."""

    mount: str
    rate: int
    interval_s: int

    @property
    def name(self) -> str:
        return naming.vault_login_quota(self.mount)

    @property
    def path(self) -> str:
        return f"auth/{self.mount}/login"


def login_mounts(access: VaultAccess, *, openbao: bool) -> tuple[str, ...]:
    """The auth methods people and deploys log in with: the deploy AppRole everywhere, GitHub on
    HashiCorp Vault (OpenBao ships no GitHub method)."""
    return (APPROLE_PATH,) if openbao else (APPROLE_PATH, access.github.path)


def login_quotas(access: VaultAccess, *, openbao: bool, rate: int, interval_s: int) -> tuple[LoginQuota, ...]:
    return tuple(
        LoginQuota(mount=mount, rate=rate, interval_s=interval_s)
        for mount in login_mounts(access, openbao=openbao)
    )


def admin_rules(access: VaultAccess, *, openbao: bool, quotas: Iterable[LoginQuota]) -> tuple[Rule, ...]:
    """Every path the layer2 and platform deploys (and the secrets bootstrap) use, nothing more."""
    env = access.env
    rules: list[Rule] = [
        Rule(path="sys/mounts", capabilities=frozenset({"read"}), why="list mounts (`vault apply`)"),
        Rule(
            path="auth/token/create",
            capabilities=frozenset({"update"}),
            why="the Vault provider's short-lived child token (never more than its parent)",
        ),
    ]
    for mount in access.mounts:
        rules += [
            Rule(path=f"sys/mounts/{mount.path}", capabilities=_MANAGE, why="layer2's vault_mount"),
            Rule(
                path=f"sys/mounts/{mount.path}/tune",
                capabilities=frozenset({"read", "update"}),
                why="vault_mount reads and sets its tuning",
            ),
            Rule(
                path=f"{mount.path}/data/{env}/*",
                capabilities=_MANAGE,
                why="KV secrets of this environment: layer2 and the bootstrap write them, both stacks read",
            ),
            Rule(
                path=f"{mount.path}/metadata/{env}/*",
                capabilities=frozenset({"read", "delete", "list"}),
                why="KV versions (the bootstrap's check-and-set) and deleting a secret with all versions",
            ),
        ]
    for policy in access.policies:
        for prefix in ("sys/policies/acl", "sys/policy"):
            rules.append(
                Rule(path=f"{prefix}/{policy.name}", capabilities=_MANAGE, why="layer2's vault_policy")
            )
    for policy in (access.infrastructure_policy, access.platform_policy):
        rules.append(
            Rule(
                path=f"auth/token/roles/{policy.name}",
                capabilities=_MANAGE,
                why="layer2's deploy token role",
            )
        )
    for quota in quotas:
        rules.append(
            Rule(
                path=f"sys/quotas/rate-limit/{quota.name}",
                capabilities=_MANAGE,
                why=f"layer2's rate limit on {quota.path}",
            )
        )
    if not openbao:
        rules += _vault_only_rules(access)
    return tuple(rules)


def _vault_only_rules(access: VaultAccess) -> list[Rule]:
    """HashiCorp Vault: the GitHub login and the audit device, which OpenBao takes from its config."""
    github = access.github.path
    return [
        Rule(
            path=f"sys/audit/{AUDIT_DEVICE_PATH}",
            capabilities=frozenset({"create", "update", "sudo"}),
            why="layer2 enables the stdout audit device; disabling it (delete) stays with root",
        ),
        Rule(path="sys/audit", capabilities=frozenset({"read", "sudo"}), why="vault_audit reads the list"),
        Rule(
            path=f"sys/auth/{github}",
            capabilities=frozenset({"create", "read", "update", "delete", "sudo"}),
            why="layer2's GitHub auth method (enabling an auth method needs sudo)",
        ),
        Rule(
            path=f"sys/mounts/auth/{github}/tune",
            capabilities=frozenset({"read", "update"}),
            why="the GitHub method's token TTLs",
        ),
        Rule(path=f"auth/{github}/config", capabilities=_MANAGE, why="the GitHub organization"),
        Rule(
            path=f"auth/{github}/map/teams/*",
            capabilities=_MANAGE,
            why="GitHub teams mapped to the described team policies",
        ),
    ]


def admin_policy_hcl(rules: Iterable[Rule]) -> str:
    """The policy text, one stanza per path (sorted), each preceded by its reason."""
    merged: dict[str, tuple[set[str], list[str]]] = {}
    for rule in rules:
        capabilities, reasons = merged.setdefault(rule.path, (set(), []))
        capabilities.update(rule.capabilities)
        if rule.why not in reasons:
            reasons.append(rule.why)
    stanzas = []
    for path in sorted(merged):
        capabilities, reasons = merged[path]
        listed = ", ".join(f'"{item}"' for item in sorted(capabilities, key=_CAPABILITY_ORDER.index))
        comment = "".join(f"# {reason}\n" for reason in reasons)
        stanzas.append(f'{comment}path "{path}" {{\n  capabilities = [{listed}]\n}}\n')
    return "\n".join(stanzas)


@dataclass(frozen=True, kw_only=True)
class Refused:
    """A request ``vault-admin`` must not be able to make: the method, the path and what it would do."""

    method: str
    path: str
    harm: str


DENIED_WITHOUT_REQUEST = ("sys/raw/core/keyring", "sys/generate-root/attempt", "sys/rekey/init")
"""Paths the policy grants nothing on but a request cannot show it: ``sys/raw`` is off in our config (the
server fails such requests before asking the policy), and generate-root and rekey take no token at all:
the unseal (or recovery) key shares are what guards them. The tests check these with
``sys/capabilities-self``."""


def refused_requests(access: VaultAccess) -> tuple[Refused, ...]:
    """The dangerous requests the tests send with a ``vault-admin`` token; each must get 403."""
    env = access.env
    other = "other-env" if env != "other-env" else "another-env"
    return (
        Refused(method="PUT", path="sys/seal", harm="seal the server (an outage until unsealed)"),
        Refused(method="PUT", path="sys/step-down", harm="force a leader election"),
        Refused(method="PUT", path="sys/rotate", harm="rotate the barrier key"),
        Refused(method="DELETE", path=f"sys/audit/{AUDIT_DEVICE_PATH}", harm="turn the audit log off"),
        Refused(method="PUT", path="sys/audit/quiet", harm="add an audit device"),
        Refused(method="POST", path="sys/mounts/transit", harm="mount another secrets engine"),
        Refused(method="DELETE", path="sys/mounts/cubbyhole", harm="unmount another engine"),
        Refused(method="PUT", path=f"sys/policies/acl/{VAULT_ADMIN}", harm="widen its own policy"),
        Refused(method="PUT", path="sys/policy/default", harm="widen every token's default policy"),
        Refused(method="PUT", path="sys/policies/acl/unlisted", harm="write a policy nobody described"),
        Refused(method="DELETE", path=f"sys/auth/{APPROLE_PATH}", harm="remove the deploy identity's login"),
        Refused(method="PUT", path="sys/auth/userpass", harm="enable another login"),
        Refused(
            method="PUT",
            path=f"auth/{APPROLE_PATH}/role/{VAULT_ADMIN}/secret-id",
            harm="mint credentials of the deploy identity",
        ),
        Refused(
            method="PUT",
            path=f"auth/token/create/{access.infrastructure_policy.name}",
            harm="create a token from a role whose policy it can rewrite",
        ),
        Refused(method="PUT", path="auth/token/create-orphan", harm="create an orphan token"),
        Refused(method="PUT", path=f"auth/token/roles/{VAULT_ADMIN}", harm="make a token role of its own"),
        Refused(method="GET", path="sys/storage/raft/snapshot", harm="download all of storage"),
        Refused(method="PUT", path="sys/quotas/config", harm="change the quota settings"),
        Refused(method="PUT", path="sys/quotas/rate-limit/unlisted", harm="add a quota nobody described"),
        Refused(method="PUT", path="sys/leases/revoke-prefix/auth", harm="revoke every login at once"),
        Refused(method="GET", path=f"infrastructure/data/{other}/manual/x", harm="read another environment"),
    )
