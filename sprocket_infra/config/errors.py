"""How a bad input is reported: one line per problem, ``<file>: <key.path>: <expected> (got <value>)``."""

from __future__ import annotations

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


def describe_validation_error(error: Mapping[str, Any], *, schema: str = "sprocket_infra/config/") -> str:
    """One pydantic error as ``<key.path>: <what is wrong> (got <value>)``; ``schema`` is where keys are
    defined, named when a key is unknown. The value is left out when it is a whole mapping."""
    location = (
        ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-")) or "(top)"
    )
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key (check spelling against {schema})"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif not isinstance(error.get("input"), Mapping):
        message = f"{message} (got {short_repr(error.get('input'))})"
    return f"{location}: {message}"
