"""The secrets manifest: typed references to single keys of KV v2 secrets in Vault.

A :class:`SecretRef` is the only way stack code names a secret. The platform stack builds its
``vault_kv_secret_v2`` data sources from refs (``mount=ref.mount.path``, ``name=ref.path``, then
``data[ref.key]``), and the bootstrap writes the same refs; so the manifest is the code, not a second list
that could drift from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sprocket_infra.vault.access import KvMount

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ENV_VAR = re.compile(r"^[A-Z][A-Z0-9_]*$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

RESERVED_ENV_VAR_PREFIXES = (
    "AWS_",
    "SPACES_",
    "DIGITALOCEAN_",
    "VAULT_",
    "BAO_",
    "DOCKER_",
    "TF_",
    "DOPPLER_",
    "GITHUB_",
    "PG",
)
"""Namespaces other tools read from the operator's shell: the deploy credentials of the providers (AWS,
Spaces, DigitalOcean, Vault/OpenBao, Docker, Terraform variables and registry tokens), Doppler's own
settings, GitHub's and libpq's. The bootstrap copies whatever a manifest variable holds into Vault, where
other teams may read it; a manifest entry named like one of these would quietly publish the operator's own
account-wide key there, so no entry may use them."""


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """One key of one KV v2 secret, with where its value comes from."""

    name: str
    """Stable lookup name for stack code, e.g. ``google-client-secret``; never changes with the path."""
    mount: KvMount
    path: str
    """Logical path inside the mount (no ``data/``), e.g. ``local/manual/oauth/google``."""
    key: str
    """Key inside the secret, e.g. ``clientSecret``."""
    description: str
    """What the value is and which service reads it (inventory 6.4), for operators and ``secrets list``."""
    env_var: str
    """Variable the bootstrap reads the value from (environment, ``.env`` or Doppler), e.g.
    ``GOOGLE_CLIENT_SECRET``."""

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.fullmatch(self.name):
            problems.append("name must be kebab-case")
        if not _ENV_VAR.fullmatch(self.env_var):
            problems.append("env_var must be UPPER_SNAKE_CASE")
        if self.env_var.startswith(RESERVED_ENV_VAR_PREFIXES):
            problems.append(
                f"env_var {self.env_var} is in a namespace other tools read credentials from "
                f"({', '.join(RESERVED_ENV_VAR_PREFIXES)}); the bootstrap would copy the operator's own "
                "credential into Vault"
            )
        if not _KEY.fullmatch(self.key):
            problems.append("key must be letters, digits and '_'")
        if not self.path or self.path.startswith("/") or self.path.endswith("/") or "*" in self.path:
            problems.append("path must be a relative secret path without wildcards")
        if problems:
            raise ValueError(f"secret ref {self.name!r}: " + "; ".join(problems))

    @property
    def address(self) -> str:
        """Human-readable ``<mount>/<path>#<key>``; safe to print (it holds no value)."""
        return f"{self.mount.path}/{self.path}#{self.key}"

    @property
    def secret_address(self) -> str:
        """``<mount>/<path>``: the secret this key belongs to."""
        return f"{self.mount.path}/{self.path}"


class SecretManifest(Mapping[str, SecretRef]):
    """Refs by stable name, in declaration order; lookups of unknown names list the known ones."""

    def __init__(self, refs: Iterable[SecretRef]) -> None:
        self._refs: dict[str, SecretRef] = {}
        seen_keys: dict[tuple[str, str, str], str] = {}
        seen_vars: dict[str, str] = {}
        for ref in refs:
            where = (ref.mount.path, ref.path, ref.key)
            clashes = [
                f"name {ref.name!r} is used twice" if ref.name in self._refs else "",
                f"{ref.address} is also {seen_keys[where]!r}" if where in seen_keys else "",
                f"{ref.env_var} is also read for {seen_vars[ref.env_var]!r}"
                if ref.env_var in seen_vars
                else "",
            ]
            if any(clashes):
                raise ValueError(f"secret ref {ref.name!r}: " + "; ".join(item for item in clashes if item))
            self._refs[ref.name] = ref
            seen_keys[where] = ref.name
            seen_vars[ref.env_var] = ref.name

    def __getitem__(self, name: str) -> SecretRef:
        try:
            return self._refs[name]
        except KeyError:
            known = ", ".join(self._refs)
            raise KeyError(f"no secret named {name!r}; known: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def by_secret(self) -> dict[tuple[str, str], tuple[SecretRef, ...]]:
        """Refs grouped by ``(mount, path)``: one KV v2 secret holds all of a group's keys."""
        groups: dict[tuple[str, str], list[SecretRef]] = {}
        for ref in self._refs.values():
            groups.setdefault((ref.mount.path, ref.path), []).append(ref)
        return {where: tuple(refs) for where, refs in groups.items()}

    @property
    def env_vars(self) -> tuple[str, ...]:
        return tuple(ref.env_var for ref in self._refs.values())
