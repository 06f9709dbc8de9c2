"""How a bad input is reported: one line per problem, ``<file>: <key.path>: <expected> (got <value>)``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REPR_LIMIT = 80
"""Characters of a bad value shown in a message; longer values are cut (a pasted certificate, a bomb)."""


class ConfigError(Exception):
    """A configuration file is missing or invalid; the message names the file and every bad key."""


def short_repr(value: Any, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, without building the whole repr of a huge value.

    Containers are summarized by type and size and long strings are sliced before ``repr``, so a value
    of millions of characters costs no more than a short one.
    """
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
    elif isinstance(value, Mapping | list | tuple | set | frozenset):
        text = f"a {type(value).__name__} of {len(value)} items"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _key(part: object) -> str:
    """A key as typed, or its cut-short repr when it holds spaces, line breaks or other odd characters."""
    text = str(part)
    return text if isinstance(part, int) or _PLAIN_KEY.match(text) else short_repr(text, 40)


def describe_validation_error(error: Mapping[str, Any], *, schema: str = "sprocket_infra/config/") -> str:
    """One pydantic error as ``<key.path>: <what is wrong> (got <value>)``; ``schema`` is where keys are
    defined, named when a key is unknown. The value is left out when it is a whole mapping."""
    location = (
        ".".join(_key(part) for part in error["loc"] if not str(part).startswith("function-")) or "(top)"
    )
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key (check spelling against {schema})"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] == "union_tag_not_found":
        message = f"{message}{_yaml_hint(error)}"
    elif not isinstance(error.get("input"), Mapping):
        message = f"{message} (got {short_repr(error.get('input'))}){_yaml_hint(error)}"
    return f"{location}: {message}"


_EMPTY_TYPES = frozenset(
    {"model_type", "model_attributes_type", "dict_type", "tuple_type", "list_type", "union_tag_not_found"}
)


def _yaml_hint(error: Mapping[str, Any]) -> str:
    """How to write what was meant, where YAML read a natural spelling as something else."""
    value, kind = error.get("input"), error["type"]
    if value is None and kind in _EMPTY_TYPES:
        return ": the key is there but empty; give its settings, or remove the key to take the defaults"
    if kind == "string_type" and isinstance(value, bool | int | float):
        read = "a boolean" if isinstance(value, bool) else "a number"
        return f": YAML reads it as {read}; write it in quotes, e.g. '{str(value).lower()}'"
    if kind == "union_tag_not_found":
        return f": add {error.get('ctx', {}).get('discriminator', 'kind')} to say which kind this is"
    if kind == "bool_type":
        return ": write true or false"
    if kind in ("int_type", "float_type") and isinstance(value, bool):
        return ": expected a number, not true/false"
    return ""
