"""Reading an input file the way a strict YAML parser would, with every problem as one line.

PyYAML's ``safe_load`` is lenient where it hurts an operator: a repeated key silently replaces the first
(a copy-pasted block re-opens what the first one closed), ``yes``/``no``/``on``/``off`` become booleans and
``22:30`` becomes the integer 1350 (YAML 1.1 rules that YAML 1.2 dropped), aliases can expand a few lines
into billions of values, and a deep nesting or a binary file ends in a traceback. Here:

- a duplicate key in any mapping is an error naming both lines (YAML 1.2 section 3.2.1.1: keys are unique);
- scalars resolve by the YAML 1.2 core schema: only ``true``/``false`` are booleans, no base-60 numbers;
- the file must be a readable regular file, at most :data:`MAX_BYTES`, valid UTF-8; nesting is at most
  :data:`MAX_DEPTH` deep and aliases at most :data:`MAX_ALIASES`, expanding to at most :data:`MAX_VALUES`.

Every message starts with the path as given (the file actually read), then the line where it applies.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from sprocket_infra.config.errors import ConfigError, short_repr

MAX_BYTES = 1024 * 1024
"""Our largest input (the catalog) is about 10 KiB; a megabyte is a mistake, not a configuration."""
MAX_DEPTH = 40
MAX_ALIASES = 200
MAX_VALUES = 100_000
"""Values after aliases are expanded (each use of an alias counts its whole subtree)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars, unique keys and bounded nesting and aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _RefusedError(f"line {mark.line + 1}: more than {MAX_ALIASES} aliases")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _RefusedError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _RefusedError(
                    f"line {line}: duplicate key {short_repr(key)} (first on line {seen[key]}); "
                    "a repeated key would silently replace the first"
                )
            seen.setdefault(key, line)
        return super().construct_mapping(node, deep=deep)


class _RefusedError(Exception):
    """A problem found while composing; becomes one ConfigError line with the file's path."""


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution) instead of PyYAML's 1.1 rules.
_StrictLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: _StrictLoader, node: ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _expanded_size(value: Any, budget: int) -> int:
    """Values in ``value`` counting every use of a shared (aliased) subtree; stops past ``budget``."""
    count, stack = 0, [value]
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def read_text(path: Path) -> str:
    """The file's text, or one ConfigError line saying why it can't be an input file."""
    shown = str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{shown}: is a directory, expected a YAML file")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{shown}: not a regular file (a device, pipe or socket)")
        if info.st_size > MAX_BYTES:
            raise ConfigError(f"{shown}: {info.st_size} bytes, larger than the {MAX_BYTES} an input may be")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file") from None
    except PermissionError:
        raise ConfigError(f"{shown}: not readable (permission denied)") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{shown}: line {line}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ConfigError(f"{shown}: line {text[: text.index(chr(0))].count(chr(10)) + 1}: NUL byte")
    return text


def load_yaml(path: Path, *, shown: str | None = None) -> Any:
    """The one document in ``path``, parsed strictly; ``shown`` overrides how messages name the file."""
    name = shown or str(path)
    text = read_text(path)
    try:
        loader = _StrictLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters before parsing starts
        raise ConfigError(f"{name}: not valid YAML: {short_repr(str(exc).splitlines()[0], 120)}") from None
    try:
        document = loader.get_single_data()
    except _RefusedError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError(f"{name}: {where}not valid YAML: {what}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{name}: not valid YAML: {short_repr(str(exc))}") from None
    finally:
        loader.dispose()
    if _expanded_size(document, MAX_VALUES) > MAX_VALUES:
        raise ConfigError(f"{name}: aliases expand to more than {MAX_VALUES} values")
    return document
