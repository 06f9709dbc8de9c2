"""An in-memory KV v2 store with versions and check-and-set, standing in for Vault in unit tests."""

from __future__ import annotations

from collections.abc import Mapping

from sprocket_infra.secrets.bootstrap import CasConflict, StoredSecret


class FakeKv:
    """Behaves like KV v2 for the bootstrap: every write is a new version, ``cas`` must match."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.writes: list[tuple[str, str]] = []

    def seed(self, mount: str, path: str, data: Mapping[str, str]) -> None:
        self.versions.setdefault((mount, path), []).append(dict(data))

    def current(self, mount: str, path: str) -> dict[str, str]:
        return self.versions.get((mount, path), [{}])[-1]

    def read(self, mount: str, path: str) -> StoredSecret:
        history = self.versions.get((mount, path), [])
        return StoredSecret(version=len(history), data=dict(history[-1]) if history else {})

    def write(self, mount: str, path: str, data: Mapping[str, str], *, cas: int) -> int:
        history = self.versions.setdefault((mount, path), [])
        if cas != len(history):
            raise CasConflict(f"{mount}/{path}")
        history.append(dict(data))
        self.writes.append((mount, path))
        return len(history)
