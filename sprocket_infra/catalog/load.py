"""Read ``services.yaml`` into a checked :class:`Catalog`, or fail with every problem at once.

Errors read ``<file>: <key.path>: <what is wrong>``, one per line, the same form as environment files. Each
entry is validated on its own and the cross-entry rules run over the entries that are valid, so one broken
entry does not hide a dangling queue in another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sprocket_infra.catalog.checks import CatalogView, catalog_problems
from sprocket_infra.catalog.model import Catalog, CatalogDocument, ServiceEntry, Vocabulary
from sprocket_infra.config import ConfigError, describe_validation_error
from sprocket_infra.config.strict_yaml import load_yaml

CATALOG_FILE = Path(__file__).resolve().parent / "services.yaml"
_SCHEMA = "sprocket_infra/catalog/model.py"


class CatalogError(ConfigError):
    """The catalog is invalid; the message names the file and every bad key path.

    A kind of :class:`ConfigError`: to an operator both are "an input file is wrong", caught in one place."""


def parse_catalog(data: Any, *, source: str, vocabulary: Vocabulary) -> Catalog:
    """Validate already-parsed YAML. Top-level keys starting with ``x-`` are YAML anchors, not data."""
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: expected a mapping with 'queues' and 'services' at the top level")
    problems: list[str] = []
    document = None
    try:
        document = CatalogDocument.model_validate(
            {k: v for k, v in data.items() if not str(k).startswith("x-")}
        )
    except ValidationError as exc:
        problems += [_describe(error) for error in exc.errors()]
    services = data.get("services")
    raw_entries: dict[str, Any] = services if isinstance(services, dict) else {}
    entries: dict[str, ServiceEntry] = {}
    for key, raw in raw_entries.items():
        try:
            entries[key] = ServiceEntry.model_validate(raw, context=vocabulary)
        except ValidationError as exc:
            problems += [_describe(error, prefix=("services", key)) for error in exc.errors()]
    if document is not None:
        unchecked = {key: raw for key, raw in raw_entries.items() if key not in entries}
        view = CatalogView(queues=document.queues, entries=entries, unchecked=unchecked)
        problems += [f"{path}: {message}" for path, message in catalog_problems(view, vocabulary)]
    if problems:
        raise CatalogError("\n".join(f"{source}: {problem}" for problem in problems))
    assert document is not None  # no problems means the document validated
    return Catalog(source=source, queues=document.queues, services=entries)


def load_catalog(path: Path = CATALOG_FILE, *, vocabulary: Vocabulary | None = None) -> Catalog:
    """Load and check the catalog; ``vocabulary`` defaults to the project's secrets and config sections."""
    if vocabulary is None:
        from sprocket_infra.catalog.vocabulary import default_vocabulary

        vocabulary = default_vocabulary()
    shown = _shown(path)
    try:
        data = load_yaml(path, shown=shown)
    except ConfigError as exc:
        raise CatalogError(str(exc)) from None
    return parse_catalog(data, source=shown, vocabulary=vocabulary)


def _describe(error: Any, prefix: tuple[str, ...] = ()) -> str:
    located = {**error, "loc": (*prefix, *error["loc"])}
    return describe_validation_error(located, schema=_SCHEMA)


def _shown(path: Path) -> str:
    root = CATALOG_FILE.parents[2]
    return str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else str(path)
