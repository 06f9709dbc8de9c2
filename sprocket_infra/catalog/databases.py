"""Which catalog entries share a PostgreSQL database (each entry that ``uses: [postgres]`` names its
``database``); reviews, the docs and the tests read it from here rather than from the YAML."""

from __future__ import annotations

from sprocket_infra.catalog.model import Catalog


def database_sharers(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Database key -> the entries that work in it, sorted; only entries that use PostgreSQL."""
    sharers: dict[str, list[str]] = {}
    for key, entry in sorted(catalog.services.items()):
        if "postgres" in entry.uses:
            sharers.setdefault(entry.database, []).append(key)
    return {database: tuple(keys) for database, keys in sharers.items()}
