"""Generated service catalogs of any size, for measuring how synth grows with the catalog.

Test data only, written to a temporary file and never committed: the real catalog's entries are copied
round-robin under new keys (``<key>-c<n>``) until the catalog holds the wanted number of services. A copy
keeps its entry's shape (dependencies, queues, secrets, settings sections, probes, volumes) and differs
only where the catalog checks demand one owner: its public hosts get their own subdomain, and a copy of
the apex route answers on a subdomain instead (one apex per environment, and only it answers on IPs).
References to other entries (``{services[elo-dgraph-zero]}``) still name the originals.
"""

from __future__ import annotations

import copy
from itertools import cycle
from pathlib import Path
from typing import Any

import yaml

from sprocket_infra.catalog import CATALOG_FILE
from sprocket_infra.config.strict_yaml import load_yaml

_KEY_LENGTH = 31
"""Longest catalog key (``ServiceKey`` in sprocket_infra/catalog/model.py)."""


def real_catalog() -> dict[str, Any]:
    """The committed catalog as parsed YAML (anchors expanded), without its ``x-`` anchor blocks."""
    data: dict[str, Any] = load_yaml(CATALOG_FILE, shown=str(CATALOG_FILE))
    return {key: value for key, value in data.items() if not str(key).startswith("x-")}


def _copy_of(key: str, entry: dict[str, Any], number: int) -> tuple[str, dict[str, Any]]:
    suffix = f"-c{number}"
    new_key = key[: _KEY_LENGTH - len(suffix)].rstrip("-") + suffix
    clone = copy.deepcopy(entry)
    routes = []
    for route in clone.get("routes", ()):
        route = dict(route)
        subdomain = new_key if route.pop("apex", False) else f"{route['subdomain']}{suffix}"
        route.pop("answers_on_ips", None)
        if "name" in route:
            route["name"] = f"{route['name'][: _KEY_LENGTH - len(suffix)]}{suffix}"
        routes.append({**route, "subdomain": subdomain})
    if routes:
        clone["routes"] = routes
    return new_key, clone


def generated_catalog(services: int) -> dict[str, Any]:
    """The real catalog grown (never shrunk) to ``services`` entries by copies of its entries."""
    data = real_catalog()
    originals: dict[str, Any] = data["services"]
    grown = dict(originals)
    sources = cycle(originals.items())
    number = 0
    while len(grown) < services:
        key, entry = next(sources)
        number += 1
        new_key, clone = _copy_of(key, entry, number)
        grown[new_key] = clone
    return {**data, "services": grown}


def write_catalog(services: int, directory: Path) -> Path:
    """A generated catalog of ``services`` entries as a block-style YAML file in ``directory``."""
    path = directory / f"services-{services}.yaml"
    path.write_text(yaml.safe_dump(generated_catalog(services), sort_keys=False, width=200))
    return path


def real_size() -> int:
    """Entries in the committed catalog."""
    return len(real_catalog()["services"])
