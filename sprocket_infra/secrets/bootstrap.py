"""Copy externally provided secrets into Vault, idempotently, and report per key what happened.

The logic is pure apart from a :class:`KvStore` (a tiny read/write interface over KV v2), so it is tested
with an in-memory store and run against Vault through :class:`sprocket_infra.vault.client.VaultKvStore`.

Rules:

* Each secret (one KV v2 path) is read once. Keys whose source value equals the stored one are
  ``unchanged``; if every key of a path is unchanged or absent from the sources, nothing is written, so a
  second run creates no new versions.
* Otherwise all keys of the path are written in one call, with check-and-set on the version that was read:
  a concurrent change makes that path a ``conflict`` instead of being clobbered. Keys the manifest doesn't
  know, and keys absent from the sources, keep their stored values.
* A key absent from the sources but already in Vault is ``kept``; absent from both, it is ``missing``.
* Bootstrap writes whatever it can and reports ``missing``/``conflict`` afterwards (exit 1 in the CLI):
  every write is per secret and idempotent, so a partial run is safe and the re-run after filling the gap
  only writes what changed, while refusing everything because one value is missing would block rotating
  the others.

Nothing here formats a value; reports carry statuses and sources only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sprocket_infra.secrets.manifest import SecretManifest, SecretRef
from sprocket_infra.secrets.sources import SourcedValue


class Status(StrEnum):
    UNCHANGED = "unchanged"
    WOULD_WRITE = "would write"
    WRITTEN = "written"
    KEPT = "kept"
    """Not in any source; Vault already has a value, left as it is."""
    MISSING = "missing"
    """Neither in the sources nor in Vault."""
    CONFLICT = "conflict"
    """The secret changed between our read and our write; nothing written for it."""
    PRESENT = "present"
    """``check`` only: Vault has a non-empty value."""


FAILED = frozenset({Status.MISSING, Status.CONFLICT})


@dataclass(frozen=True)
class StoredSecret:
    """A KV v2 secret as read: its current version (0 if it never existed) and its keys."""

    version: int
    data: Mapping[str, object] = field(default_factory=dict, repr=False)


class CasConflict(Exception):  # noqa: N818 - it is the outcome, not a programming error
    """The secret's version is no longer the one the write was based on."""


class KvStore(Protocol):
    """The two KV v2 operations the bootstrap needs."""

    def read(self, mount: str, path: str) -> StoredSecret: ...

    def write(self, mount: str, path: str, data: Mapping[str, str], *, cas: int) -> int:
        """Write all keys as a new version if the current version is ``cas``; return the new version.

        Raises :class:`CasConflict` when the version moved on.
        """
        ...


@dataclass(frozen=True)
class EntryResult:
    ref: SecretRef
    status: Status
    source: str | None = None
    """Which source supplied the value (never the value itself)."""


@dataclass(frozen=True)
class Report:
    env: str
    entries: tuple[EntryResult, ...]
    dry_run: bool = False

    @property
    def failed(self) -> tuple[EntryResult, ...]:
        return tuple(entry for entry in self.entries if entry.status in FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: Status) -> int:
        return sum(1 for entry in self.entries if entry.status == status)


def _entry_status(ref: SecretRef, stored: StoredSecret, values: Mapping[str, SourcedValue]) -> EntryResult:
    sourced = values.get(ref.env_var)
    current = stored.data.get(ref.key)
    if sourced is None:
        return EntryResult(ref, Status.KEPT if current else Status.MISSING)
    if current == sourced.value:
        return EntryResult(ref, Status.UNCHANGED, sourced.source)
    return EntryResult(ref, Status.WOULD_WRITE, sourced.source)


def plan_secret(
    refs: tuple[SecretRef, ...], stored: StoredSecret, values: Mapping[str, SourcedValue]
) -> tuple[tuple[EntryResult, ...], dict[str, str] | None]:
    """Statuses for the keys of one secret, and the full payload to write (``None``: nothing to write)."""
    results = tuple(_entry_status(ref, stored, values) for ref in refs)
    if not any(result.status == Status.WOULD_WRITE for result in results):
        return results, None
    payload = {key: value for key, value in stored.data.items() if isinstance(value, str)}
    for ref in refs:
        if ref.env_var in values:
            payload[ref.key] = values[ref.env_var].value
    return results, payload


def bootstrap(
    store: KvStore, manifest: SecretManifest, values: Mapping[str, SourcedValue], *, env: str, dry_run: bool
) -> Report:
    """Bring Vault in line with ``values`` for every ref of ``manifest``; see the module doc for the rules."""
    entries: list[EntryResult] = []
    for (mount, path), refs in manifest.by_secret().items():
        stored = store.read(mount, path)
        results, payload = plan_secret(refs, stored, values)
        if payload is not None and not dry_run:
            try:
                store.write(mount, path, payload, cas=stored.version)
            except CasConflict:
                outcome = Status.CONFLICT
            else:
                outcome = Status.WRITTEN
            results = tuple(
                EntryResult(result.ref, outcome, result.source)
                if result.status == Status.WOULD_WRITE
                else result
                for result in results
            )
        entries.extend(results)
    return Report(env=env, entries=tuple(entries), dry_run=dry_run)


def check(store: KvStore, manifest: SecretManifest, *, env: str) -> Report:
    """Which refs Vault already has a non-empty value for (``present``) and which it lacks (``missing``)."""
    entries: list[EntryResult] = []
    for (mount, path), refs in manifest.by_secret().items():
        stored = store.read(mount, path)
        entries.extend(
            EntryResult(ref, Status.PRESENT if stored.data.get(ref.key) else Status.MISSING) for ref in refs
        )
    return Report(env=env, entries=tuple(entries))
