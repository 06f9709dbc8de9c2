"""Reading environment files: ``config/defaults.yaml`` first, then ``config/<name>.yaml`` merged over it.

The defaults file holds what every environment shares and may override: image pins and production data
such as the Discord guild and role ids. It is not an environment; each environment file extends it.
A problem is reported against the file its value came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sprocket_infra.config.environment import SECTION_SCHEMAS, Environment
from sprocket_infra.config.errors import ConfigError, describe_validation_error, short_repr
from sprocket_infra.config.strict_yaml import load_yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_ENVIRONMENT = "local"
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
"""Environment names as ``Environment.name`` allows them; anything else never names a file we read."""
DEFAULTS_NAME = "defaults"
"""``<config dir>/defaults.yaml``; a config dir without one (a test's, an operator's) uses the shipped one."""


def shown_path(path: Path) -> str:
    """``path`` as messages show it: relative to the repository when inside it, else as read."""
    root = CONFIG_DIR.parent
    return str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else str(path)


def read_yaml(path: Path) -> Any:
    """The parsed document at ``path`` (strict YAML); any problem with the file is one ConfigError line."""
    return load_yaml(path, shown=shown_path(path))


def defaults_file(config_dir: Path) -> Path:
    candidate = config_dir / f"{DEFAULTS_NAME}.yaml"
    return candidate if candidate.is_file() else CONFIG_DIR / f"{DEFAULTS_NAME}.yaml"


def merged(base: Any, override: Any) -> Any:
    """``override`` deep-merged over ``base``: mappings merge key by key, an empty value keeps the base
    mapping, anything else replaces."""
    if isinstance(base, dict) and override is None:
        return base  # an emptied section ('layer2:' with nothing under it) keeps the defaults
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for key, value in override.items():
            result[key] = merged(base[key], value) if key in base else value
        return result
    return override


def _holds(data: Any, loc: Sequence[int | str]) -> bool:
    """Whether ``data`` spells out the value at pydantic location ``loc`` (union tags are skipped)."""
    node = data
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
        elif not (isinstance(node, dict) and (node.get("kind") == part or str(part).startswith("function-"))):
            return False
    return True


def _schema(loc: Sequence[int | str]) -> str:
    return SECTION_SCHEMAS.get(str(loc[0]) if loc else "", "sprocket_infra/config/environment.py")


def parse_environment(
    data: Any, *, source: str, defaults: Mapping[str, Any] | None = None, defaults_source: str = ""
) -> Environment:
    """Validate already-parsed YAML over ``defaults`` (the shipped ``config/defaults.yaml`` when None);
    ``source`` and ``defaults_source`` name the files in error messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    if defaults is None:
        path = CONFIG_DIR / f"{DEFAULTS_NAME}.yaml"
        defaults, defaults_source = load_defaults(path), shown_path(path)
    try:
        return Environment.model_validate(merged(dict(defaults), data))
    except ValidationError as exc:
        raise ConfigError("\n".join(_lines(exc, data, defaults, source, defaults_source))) from None


def _lines(
    exc: ValidationError, data: Any, defaults: Mapping[str, Any], source: str, defaults_source: str
) -> Iterator[str]:
    errors = exc.errors()
    for error in errors:
        loc = error["loc"]
        if error["type"] == "too_short" and any(
            other["loc"][: len(loc)] == loc and len(other["loc"]) > len(loc) for other in errors
        ):
            continue  # the items that failed already say why; "at least 1 item" would only repeat it
        origin = defaults_source if not _holds(data, loc) and _holds(defaults, loc) and loc else source
        yield f"{origin}: {describe_validation_error(error, schema=_schema(loc))}"


def load_defaults(path: Path) -> Mapping[str, Any]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{shown_path(path)}: expected a mapping of settings at the top level")
    if "name" in data:
        raise ConfigError(f"{shown_path(path)}: name: the defaults file is no environment; remove 'name'")
    return data


def environment_file(name: str | None = None, *, config_dir: Path = CONFIG_DIR) -> Path:
    """``<config_dir>/<name>.yaml``; the name defaults to ``$SPROCKET_ENV`` and then ``local``."""
    name = name or os.environ.get("SPROCKET_ENV") or DEFAULT_ENVIRONMENT
    if not _NAME_RE.match(name):
        raise ConfigError(
            f"SPROCKET_ENV: expected an environment name such as 'local' or 'prod' (got {short_repr(name)})"
        )
    return config_dir / f"{name}.yaml"


def load_environment(name: str | None = None, *, config_dir: Path = CONFIG_DIR) -> Environment:
    """Load ``<config_dir>/<name>.yaml`` over the defaults; the name defaults to ``$SPROCKET_ENV`` and
    then ``local``."""
    path = environment_file(name, config_dir=config_dir)
    name, shown = path.stem, shown_path(path)
    if name == DEFAULTS_NAME or not (path.exists() or path.is_symlink()):
        known = sorted(p.stem for p in config_dir.glob("*.yaml") if p.stem != DEFAULTS_NAME)
        raise ConfigError(f"{shown}: no such environment file (known environments: {', '.join(known)})")
    base = defaults_file(config_dir)
    environment = parse_environment(
        read_yaml(path), source=shown, defaults=load_defaults(base), defaults_source=shown_path(base)
    )
    if environment.name != name:
        raise ConfigError(
            f"{shown}: name: expected '{name}' to match the file name (got {environment.name!r})"
        )
    return environment
