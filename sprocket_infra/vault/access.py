"""Who may read and write which secrets in Vault, described once as data.

The same description drives three consumers, so it must not depend on any of them:

* the layer2 cdktf stack turns it into ``vault_mount``, ``vault_policy`` (with :func:`policy_hcl` as the
  policy text), ``vault_github_auth_backend`` and ``vault_github_team`` resources;
* ``sprocket-infra vault apply`` writes it to a live Vault/OpenBao for local development and tests;
* the integration tests derive their allow/deny expectations from it through :meth:`Policy.allows`.

Grants speak in intents (read, write, list, delete) on *logical* KV paths such as ``platform/<env>/...``.
Only :func:`policy_hcl` knows that KV v2 serves those paths under ``<mount>/data/...`` and
``<mount>/metadata/...``. The original system wrote logical paths into its policies: ``platform/dev/*``
matches none of KV v2's API paths, so those grants did nothing, while ``platform/*`` matched every
environment's secrets at once.

Layout inside each mount, for environment ``<env>``:

* ``platform/<env>/manual/...``: externally provided secrets (OAuth clients, API tokens), written by
  ``sprocket-infra secrets bootstrap``; read by the platform.
* ``platform/<env>/elo/...``, ``platform/<env>/data-science/...``: what those teams work with.
* ``infrastructure/<env>/...``: credentials layer2 generates for itself (Redis, Influx, Postgres users).
* ``infrastructure/<env>/manual/...``: externally provided secrets the infrastructure layers need.
* ``infrastructure/<env>/for-platform/...``: credentials layer2 hands to the platform; the only part of
  the infrastructure mount the platform policy can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

ENV_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
"""Environment names as ``config/<name>.yaml`` allows them; they become a path segment and policy suffix."""

MANUAL = "manual"
"""Folder for secrets a human or Doppler provides (the bootstrap writes them; stacks only read them)."""

FOR_PLATFORM = "for-platform"
"""Folder in the infrastructure mount whose entries the platform policy may read."""

GITHUB_ORGANIZATION = "SprocketBot"

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_env_name(env: str) -> str:
    """Return ``env`` if it is a usable environment name, else raise ``ValueError`` saying why."""
    if not ENV_NAME_PATTERN.fullmatch(env):
        raise ValueError(
            f"environment name {env!r} is not valid: use lower-case letters, digits and '-', "
            "starting with a letter, at most 21 characters (e.g. 'local', 'prod')"
        )
    return env


def secret_path(env: str, *parts: str) -> str:
    """The logical path ``<env>/<parts...>`` inside a mount, with every segment checked.

    Building paths in one place keeps the grants, the secrets manifest and the stacks agreeing on them.
    """
    segments = [check_env_name(env)]
    for part in parts:
        segments.extend(part.split("/"))
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(f"path segment {segment!r} in {'/'.join(segments)!r} is not valid")
    return "/".join(segments)


class Access(StrEnum):
    """What a grant lets its holder do, independent of how KV v2 spells it in a policy."""

    READ = "read"
    """Read the current (or an older) version of a secret's keys."""
    WRITE = "write"
    """Create a secret or add a version to it."""
    LIST = "list"
    """List the secret names below a folder (no values)."""
    DELETE = "delete"
    """Soft-delete the latest version, or remove a secret with all its versions."""


@dataclass(frozen=True, kw_only=True)
class KvMount:
    """A KV version 2 secrets engine; version 1 is never used (no versions, no check-and-set)."""

    path: str
    """Mount path without slashes, e.g. ``platform``."""
    description: str
    """Shown by ``vault secrets list``; says what lives here."""

    @property
    def engine_type(self) -> str:
        """Secrets engine type for ``vault_mount.type`` / ``sys/mounts``."""
        return "kv"

    @property
    def options(self) -> dict[str, str]:
        """Engine options for ``vault_mount.options``: KV version 2."""
        return {"version": "2"}

    def __post_init__(self) -> None:
        if not _SEGMENT.fullmatch(self.path):
            raise ValueError(f"mount path {self.path!r} must be one segment without slashes")


INFRASTRUCTURE = KvMount(
    path="infrastructure",
    description="Credentials the infrastructure layers generate or need (written by layer2)",
)
PLATFORM = KvMount(
    path="platform",
    description="Secrets of the platform services, one folder per environment",
)


@dataclass(frozen=True, kw_only=True)
class Grant:
    """Permission to do ``access`` on ``path`` (exact, or a prefix when it ends in ``*``) in ``mount``."""

    mount: KvMount
    path: str
    """Logical path inside the mount, e.g. ``local/manual/*``; ``*`` is only allowed as the last character."""
    access: frozenset[Access]

    def __post_init__(self) -> None:
        object.__setattr__(self, "access", frozenset(Access(item) for item in self.access))
        if not self.access:
            raise ValueError(f"grant on {self.mount.path}/{self.path} gives no access")
        stem = self.path.removesuffix("*")
        if not self.path:
            raise ValueError(f"grant on mount {self.mount.path!r} needs a path ('*' for the whole mount)")
        if "*" in stem or "+" in self.path:
            raise ValueError(f"grant path {self.path!r}: '*' may only end the path and '+' is not supported")
        trailing_slash = not self.is_prefix and stem.endswith("/")
        if self.path.startswith("/") or "//" in self.path or trailing_slash:
            raise ValueError(f"grant path {self.path!r} must be relative, without empty segments")

    @property
    def is_prefix(self) -> bool:
        return self.path.endswith("*")

    def covers(self, mount: KvMount | str, path: str) -> bool:
        """True if ``path`` in ``mount`` falls under this grant (glob semantics of Vault policies)."""
        mount_path = mount.path if isinstance(mount, KvMount) else mount
        if mount_path != self.mount.path:
            return False
        if self.is_prefix:
            return path.startswith(self.path[:-1])
        return path == self.path


def grant(mount: KvMount, path: str, *access: Access) -> Grant:
    """Shorthand used by the description below: ``grant(PLATFORM, "local/*", Access.READ, Access.LIST)``."""
    return Grant(mount=mount, path=path, access=frozenset(access))


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A named Vault policy as a list of grants; render it with :func:`policy_hcl`."""

    name: str
    description: str
    """Why this policy exists and who holds it."""
    grants: tuple[Grant, ...]
    create_child_tokens: bool = False
    """Allow ``auth/token/create``. Terraform's Vault provider makes a short-lived child token of the token
    it is given; set this for policies whose tokens run ``cdktf deploy`` so the provider needs no
    ``skip_child_token``. A child token can never hold more than its parent."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.name):
            raise ValueError(f"policy name {self.name!r} must be lower-case letters, digits and '-'")
        if not self.grants:
            raise ValueError(f"policy {self.name!r} has no grants")

    def allows(self, mount: KvMount | str, path: str, access: Access) -> bool:
        """Whether a token with this policy may do ``access`` on the logical ``path`` in ``mount``.

        Grants add up. Vault itself applies only the most specific matching rule of a policy, which is why
        :func:`policy_hcl` copies broader capabilities into narrower rules: rendered and described agree.
        """
        return any(access in item.access and item.covers(mount, path) for item in self.grants)


@dataclass(frozen=True, kw_only=True)
class GithubTeam:
    """Members of the GitHub team ``slug`` get ``policies`` when they log in with the GitHub method."""

    slug: str
    policies: tuple[Policy, ...]


@dataclass(frozen=True, kw_only=True)
class GithubAuth:
    """The GitHub auth method: who may log in (organization members) and what each team gets."""

    organization: str
    teams: tuple[GithubTeam, ...]
    path: str = "github"
    """Mount path of the auth method (``auth/<path>``)."""


@dataclass(frozen=True, kw_only=True)
class VaultAccess:
    """Everything Vault needs to know about one environment: mounts, policies, GitHub login."""

    env: str
    mounts: tuple[KvMount, ...]
    infrastructure_policy: Policy
    """Held by layer2 (and its generated services): manages ``infrastructure/<env>/*``."""
    platform_policy: Policy
    """Held by the platform stack: reads ``platform/<env>/*`` and ``infrastructure/<env>/for-platform/*``."""
    team_policies: tuple[Policy, ...]
    github: GithubAuth

    @property
    def policies(self) -> tuple[Policy, ...]:
        """All policies, service ones first; the order ``vault apply`` writes them in."""
        return (self.infrastructure_policy, self.platform_policy, *self.team_policies)

    def policy(self, name: str) -> Policy:
        for candidate in self.policies:
            if candidate.name == name:
                return candidate
        known = ", ".join(item.name for item in self.policies)
        raise KeyError(f"no policy named {name!r} for environment {self.env!r}; known: {known}")


READ_ONLY = (Access.READ, Access.LIST)
READ_WRITE = (Access.READ, Access.WRITE, Access.LIST)
MANAGE = (Access.READ, Access.WRITE, Access.LIST, Access.DELETE)


def _team_policies(env: str) -> tuple[Policy, Policy, Policy, Policy]:
    """The four GitHub team policies of the original system, restated for KV v2 and one environment.

    Changes from the original (inventory 4.3), on purpose:
    * the kv v1 ``misc`` mount and the ``database`` engine are gone, so are their grants;
    * ``readonly-team`` no longer writes ``manual/*``: those values come from Doppler through the bootstrap,
      which would silently overwrite hand edits;
    * maintainers may manage ``infrastructure/<env>/manual/*`` so they can run the bootstrap with their
      GitHub login instead of a root token.
    """
    admin = Policy(
        name="admin-team",
        description="Maintainers: manage the environment's platform secrets and run the secrets bootstrap.",
        grants=(
            grant(PLATFORM, f"{secret_path(env)}/*", *MANAGE),
            grant(INFRASTRUCTURE, f"{secret_path(env, MANUAL)}/*", *READ_WRITE),
        ),
    )
    readonly = Policy(
        name="readonly-team",
        description="Contributors: read the environment's platform secrets to run services locally.",
        grants=(grant(PLATFORM, f"{secret_path(env)}/*", *READ_ONLY),),
    )
    data_science = Policy(
        name="data-science-team",
        description="Data science: read their credentials and keep their own hand-made ones.",
        grants=(
            grant(PLATFORM, f"{secret_path(env, 'data-science')}/*", *READ_ONLY),
            grant(PLATFORM, f"{secret_path(env, 'data-science', MANUAL)}/*", *MANAGE),
        ),
    )
    elo = Policy(
        name="elo-team",
        description="Elo team: read the ELO service's database credentials.",
        grants=(grant(PLATFORM, f"{secret_path(env, 'elo')}/*", *READ_ONLY),),
    )
    return admin, readonly, data_science, elo


def vault_access(env: str, *, contributors_read_secrets: bool = True) -> VaultAccess:
    """The full Vault description for environment ``env`` (e.g. ``local``, ``prod``).

    ``contributors_read_secrets=False`` leaves the GitHub ``contributor`` team unmapped, so contributors
    can't log in to that environment's Vault at all (production: they never need its OAuth secrets).
    """
    check_env_name(env)
    infrastructure = Policy(
        name="infrastructure",
        description="layer2: keeps the credentials it generates and reads the manual infrastructure ones.",
        grants=(grant(INFRASTRUCTURE, f"{secret_path(env)}/*", *MANAGE),),
        create_child_tokens=True,
    )
    platform = Policy(
        name=f"platform-{env}",
        description="Platform stack: reads its secrets and what layer2 publishes for it; writes nothing.",
        grants=(
            grant(PLATFORM, f"{secret_path(env)}/*", *READ_ONLY),
            grant(INFRASTRUCTURE, f"{secret_path(env, FOR_PLATFORM)}/*", *READ_ONLY),
        ),
        create_child_tokens=True,
    )
    admin, readonly, data_science, elo = _team_policies(env)
    github = GithubAuth(
        organization=GITHUB_ORGANIZATION,
        teams=(
            *((GithubTeam(slug="contributor", policies=(readonly,)),) if contributors_read_secrets else ()),
            GithubTeam(slug="maintainers", policies=(admin,)),
            GithubTeam(slug="data-science", policies=(data_science,)),
            GithubTeam(slug="elo", policies=(elo,)),
        ),
    )
    return VaultAccess(
        env=env,
        mounts=(INFRASTRUCTURE, PLATFORM),
        infrastructure_policy=infrastructure,
        platform_policy=platform,
        team_policies=(admin, readonly, data_science, elo),
        github=github,
    )


# --- rendering -----------------------------------------------------------------------------------------

_CAPABILITY_ORDER = ("create", "read", "update", "patch", "delete", "list", "sudo", "deny")


def kv_rules(item: Grant) -> Iterator[tuple[str, frozenset[str]]]:
    """The KV v2 API paths and capabilities one grant stands for.

    read  -> ``<mount>/data/<path>``: read
    write -> ``<mount>/data/<path>``: create, update
    list  -> ``<mount>/metadata/<path>``: list
    delete-> ``<mount>/data/<path>``: delete (latest version) and ``<mount>/metadata/<path>``: delete (all)
    """
    data = f"{item.mount.path}/data/{item.path}"
    metadata = f"{item.mount.path}/metadata/{item.path}"
    if Access.READ in item.access:
        yield data, frozenset({"read"})
    if Access.WRITE in item.access:
        yield data, frozenset({"create", "update"})
    if Access.LIST in item.access:
        yield metadata, frozenset({"list"})
    if Access.DELETE in item.access:
        yield data, frozenset({"delete"})
        yield metadata, frozenset({"delete"})


def _glob_covers(broad: str, narrow: str) -> bool:
    """True if every request path matched by rule ``narrow`` is also matched by rule ``broad``."""
    if broad == narrow:
        return True
    if not broad.endswith("*"):
        return False
    return narrow.removesuffix("*").startswith(broad[:-1])


def _merged_rules(grants: Iterable[Grant]) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for item in grants:
        for path, capabilities in kv_rules(item):
            rules.setdefault(path, set()).update(capabilities)
    # Vault uses only the most specific matching rule, so a narrow rule must repeat what broader ones give.
    for narrow in rules:
        for broad, inherited in list(rules.items()):
            if broad != narrow and _glob_covers(broad, narrow):
                rules[narrow].update(inherited)
    return rules


def _stanza(path: str, capabilities: Iterable[str]) -> str:
    ordered = sorted(set(capabilities), key=_CAPABILITY_ORDER.index)
    listed = ", ".join(f'"{capability}"' for capability in ordered)
    return f'path "{path}" {{\n  capabilities = [{listed}]\n}}\n'


def policy_hcl(policy: Policy) -> str:
    """Render ``policy`` as Vault policy HCL: KV v2 API paths, one stanza per path, sorted by path."""
    rules = _merged_rules(policy.grants)
    stanzas = [_stanza(path, rules[path]) for path in sorted(rules)]
    if policy.create_child_tokens:
        stanzas.append(_stanza("auth/token/create", ["update"]))
    return "\n".join(stanzas)
