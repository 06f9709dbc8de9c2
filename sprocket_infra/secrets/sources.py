"""Where the bootstrap finds secret values: a Doppler JSON download, a ``.env`` file, the environment.

Precedence, lowest to highest: Doppler JSON, then ``.env``, then environment variables. Doppler is the
source of truth and is meant to supply everything; a ``.env`` holds local development values; an
environment variable is the most deliberate, one-off choice (``GOOGLE_CLIENT_SECRET=... sprocket-infra
secrets bootstrap`` while rotating one key), so it wins. Empty values count as absent: an empty OAuth
secret is always a mistake and should surface as ``missing``.

Values are wrapped in :class:`SourcedValue`, whose ``repr`` hides the value, and errors name files, lines
and variables but never contents.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

ENVIRONMENT = "environment"


class SourceError(Exception):
    """A value source can't be read; the message is safe to print (it holds no value)."""


@dataclass(frozen=True)
class SourcedValue:
    """A secret value and where it came from (``environment``, ``.env file``, ``doppler json``)."""

    value: str = field(repr=False)
    source: str


def values_from_environ(
    names: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, SourcedValue]:
    """The wanted variables that are set and non-empty in ``environ`` (default: this process's)."""
    environ = os.environ if environ is None else environ
    return {name: SourcedValue(environ[name], ENVIRONMENT) for name in names if environ.get(name)}


def _read_text(path: Path, kind: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{kind} {path} does not exist") from None
    except IsADirectoryError:
        raise SourceError(f"{kind} {path} is a directory, not a file") from None
    except PermissionError:
        raise SourceError(f"{kind} {path} is not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise SourceError(f"{kind} {path} is not UTF-8 text") from None
    except OSError as error:
        raise SourceError(f"{kind} {path} can't be read ({error.strerror})") from None


def values_from_dotenv(path: Path, names: Iterable[str]) -> dict[str, SourcedValue]:
    """The wanted variables from a ``.env`` file, read literally (no ``${VAR}`` expansion).

    Interpolation is off because secrets may contain ``$``; other variables in the file are ignored.
    """
    _read_text(path, ".env file")  # precise errors for a missing or unreadable file
    parsed = dotenv_values(path, interpolate=False, encoding="utf-8")
    source = f".env file {path.name}"
    return {name: SourcedValue(value, source) for name in names if (value := parsed.get(name))}


def values_from_doppler_json(path: Path, names: Iterable[str]) -> dict[str, SourcedValue]:
    """The wanted variables from ``doppler secrets download --no-file --format json`` output.

    That output is one flat JSON object of NAME: string value (including Doppler's own ``DOPPLER_*``
    entries, which are ignored like every other name the manifest doesn't ask for).
    """
    text = _read_text(path, "Doppler JSON")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # The decoder's message can quote the document; report the position only.
        raise SourceError(
            f"Doppler JSON {path} is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(document, dict):
        raise SourceError(
            f"Doppler JSON {path} must be one object of NAME: value, got {type(document).__name__}"
        )
    wanted = list(names)
    wrong_type = sorted(name for name in wanted if name in document and not isinstance(document[name], str))
    if wrong_type:
        raise SourceError(f"Doppler JSON {path}: values must be strings; not for {', '.join(wrong_type)}")
    source = f"doppler json {path.name}"
    return {name: SourcedValue(document[name], source) for name in wanted if document.get(name)}


def collect_values(
    names: Iterable[str],
    *,
    dotenv: Path | None = None,
    doppler_json: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, SourcedValue]:
    """Merge every configured source for ``names``; later sources override earlier ones (see module doc)."""
    wanted = list(names)
    layers: list[dict[str, SourcedValue]] = []
    if doppler_json is not None:
        layers.append(values_from_doppler_json(doppler_json, wanted))
    if dotenv is not None:
        layers.append(values_from_dotenv(dotenv, wanted))
    layers.append(values_from_environ(wanted, environ))
    merged: dict[str, SourcedValue] = {}
    for layer in layers:
        merged.update(layer)
    return merged
