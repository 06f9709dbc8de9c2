"""Entries that share a PostgreSQL database say so (``database``), and only entries that use one may."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from sprocket_infra.catalog import CATALOG_FILE, load_catalog
from sprocket_infra.catalog.databases import database_sharers
from sprocket_infra.catalog.load import CatalogError, parse_catalog
from sprocket_infra.catalog.vocabulary import default_vocabulary


def test_the_apps_share_the_platform_database() -> None:
    assert database_sharers(load_catalog()) == {
        "platform": ("core", "image-generation-frontend", "image-generation-service")
    }


def test_every_entry_using_postgres_names_its_database_in_the_yaml() -> None:
    """Left out it would default to 'platform'; the catalog says it, so a reader sees who shares."""
    raw: dict[str, Any] = yaml.safe_load(CATALOG_FILE.read_text())
    users = {key: entry for key, entry in raw["services"].items() if "postgres" in entry.get("uses", ())}
    assert users
    assert {key: entry.get("database") for key, entry in users.items()} == dict.fromkeys(users, "platform")


def test_fails_when_an_entry_names_a_database_it_does_not_use() -> None:
    raw: dict[str, Any] = copy.deepcopy(yaml.safe_load(CATALOG_FILE.read_text()))
    raw["services"]["matchmaking"]["database"] = "platform"
    with pytest.raises(CatalogError, match="names a PostgreSQL database, so 'uses' must include postgres"):
        parse_catalog(raw, source=str(CATALOG_FILE), vocabulary=default_vocabulary())
