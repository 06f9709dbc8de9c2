"""A service's rendered files, exactly as ``cdktf synth`` wrote them, laid out for a real server to read.

The tests that start Redis, RabbitMQ, Traefik, Telegraf... must run what Swarm would run, not a re-typed
copy: :func:`extract` takes one environment's parsed stacks (the ``synth_stacks`` fixture), finds a
service's ``docker_service``, decodes every ``docker_config`` / ``docker_secret`` it mounts and writes each
under a temporary root at its container path (``/etc/x.conf`` -> ``<root>/etc/x.conf``). It returns the
command, args, env and healthcheck as synthesized, next to the files.

Secret data is a Terraform expression over values that only exist at apply time (Vault KV reads, random
passwords, DigitalOcean credentials). :func:`extract` evaluates the few functions our stacks use
(``base64encode``, ``base64decode``, ``format``, ``join``, ``sha256``, ``tostring``) and substitutes a
*test value* for every such reference, derived from the reference text: two secrets reading the same
Vault key get the same value, as they would on a real deploy. Every substitution is recorded in
:attr:`RenderedService.substitutions`, so a test can say which credential it uses. Any other expression
raises: guessing could hide a wiring bug.

Adaptations a test needs to run a server here (listen addresses, container paths, unreachable endpoints)
go through :meth:`RenderedService.adapt`, which fails when the text to replace is absent (an adaptation
that changes nothing hides a drifted config) and records each one in :attr:`RenderedService.adaptations`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tests.synthesized_swarm import SynthesizedStackError, _blocks

Stacks = Mapping[str, Mapping[str, Any]]

_TRAVERSAL = re.compile(r'[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\["[^"\\]*"\])*')
_IDENT = re.compile(r"[A-Za-z_]\w*")
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def stand_in_value(reference: str) -> str:
    """The stand-in for an apply-time value: stable per reference, unlike any real secret."""
    return "test-" + hashlib.sha256(reference.encode()).hexdigest()[:20]


class _Expression:
    """Evaluator for the small subset of Terraform expressions our ``docker_secret`` data uses."""

    def __init__(self, text: str, substitutions: dict[str, str]) -> None:
        self._text = text
        self._pos = 0
        self._substitutions = substitutions

    def evaluate(self) -> Any:
        value = self._expression()
        self._skip_space()
        if self._pos != len(self._text):
            raise self._error("trailing text")
        return value

    def _error(self, why: str) -> SynthesizedStackError:
        return SynthesizedStackError(f"cannot evaluate {self._text!r} at {self._pos}: {why}")

    def _skip_space(self) -> None:
        while self._pos < len(self._text) and self._text[self._pos].isspace():
            self._pos += 1

    def _peek(self) -> str:
        self._skip_space()
        return self._text[self._pos] if self._pos < len(self._text) else ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise self._error(f"expected {char!r}")
        self._pos += 1

    def _sequence(self, closing: str) -> list[Any]:
        items: list[Any] = []
        while self._peek() != closing:
            items.append(self._expression())
            if self._peek() == ",":
                self._pos += 1
            elif self._peek() != closing:
                raise self._error(f"expected ',' or {closing!r}")
        self._pos += 1
        return items

    def _expression(self) -> Any:
        char = self._peek()
        if char == '"':
            return self._string()
        if char == "[":
            self._pos += 1
            return self._sequence("]")
        call = _IDENT.match(self._text, self._pos)
        if call and self._text[call.end() : call.end() + 1] == "(":
            self._pos = call.end() + 1
            return self._call(call.group(), self._sequence(")"))
        traversal = _TRAVERSAL.match(self._text, self._pos)
        if traversal is None:
            raise self._error("expected a string, list, function call or reference")
        self._pos = traversal.end()
        reference = traversal.group()
        return self._substitutions.setdefault(reference, stand_in_value(reference))

    def _string(self) -> str:
        self._pos += 1
        out: list[str] = []
        while self._pos < len(self._text):
            char = self._text[self._pos]
            if char == '"':
                self._pos += 1
                return "".join(out)
            if char == "\\":
                escaped = self._text[self._pos + 1 : self._pos + 2]
                if escaped not in _STRING_ESCAPES:
                    raise self._error(f"unsupported escape \\{escaped}")
                out.append(_STRING_ESCAPES[escaped])
                self._pos += 2
                continue
            if self._text.startswith(("${", "%{"), self._pos):
                raise self._error("templates inside string literals are not supported")
            out.append(char)
            self._pos += 1
        raise self._error("unterminated string")

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "base64encode" and len(args) == 1:
            return base64.b64encode(str(args[0]).encode()).decode()
        if name == "base64decode" and len(args) == 1:
            return base64.b64decode(str(args[0])).decode()
        if name == "sha256" and len(args) == 1:
            return hashlib.sha256(str(args[0]).encode()).hexdigest()
        if name == "tostring" and len(args) == 1:
            return str(args[0])
        if name == "join" and len(args) == 2 and isinstance(args[1], list):
            return str(args[0]).join(str(item) for item in args[1])
        if name == "format" and args:
            return _format(str(args[0]), [str(arg) for arg in args[1:]], self._text)
        raise self._error(f"unsupported function {name}/{len(args)}")


def _format(spec: str, args: list[str], source: str) -> str:
    """Terraform's ``format`` for the verbs we use: ``%s`` and ``%%``."""
    pieces = re.split(r"(%.)", spec)
    remaining = iter(args)
    out: list[str] = []
    for piece in pieces:
        if piece == "%%":
            out.append("%")
        elif piece == "%s":
            value = next(remaining, None)
            if value is None:
                raise SynthesizedStackError(f"format in {source!r} has more %s than arguments")
            out.append(value)
        elif piece.startswith("%") and len(piece) == 2:
            raise SynthesizedStackError(f"format verb {piece} in {source!r} is not supported")
        else:
            out.append(piece)
    if next(remaining, None) is not None:
        raise SynthesizedStackError(f"format in {source!r} has more arguments than %s")
    return "".join(out)


def evaluate_template(value: str, substitutions: dict[str, str]) -> str:
    """A Terraform string as applied: literal text with ``${...}`` interpolations evaluated."""
    out: list[str] = []
    pos = 0
    while (start := value.find("${", pos)) != -1:
        out.append(value[pos:start])
        end = _interpolation_end(value, start + 2)
        out.append(str(_Expression(value[start + 2 : end], substitutions).evaluate()))
        pos = end + 1
    out.append(value[pos:])
    return "".join(out)


def _interpolation_end(value: str, pos: int) -> int:
    """Index of the ``}`` closing the interpolation whose body starts at ``pos`` (skips string literals)."""
    depth, in_string = 0, False
    while pos < len(value):
        char = value[pos]
        if in_string:
            if char == "\\":
                pos += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos += 1
    raise SynthesizedStackError(f"unterminated interpolation in {value!r}")


_RESOURCE_ID = re.compile(r"^\$\{(?P<kind>docker_config|docker_secret)\.(?P<id>[^.}]+)\.id\}$")


@dataclass
class RenderedService:
    """One service as synthesized, its mounted files written under :attr:`root`."""

    environment: str
    stack: str
    name: str
    image: str
    root: Path
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: dict[str, str]
    healthcheck: tuple[str, ...]
    """The ``test`` as synthesized, e.g. ``("CMD-SHELL", "redis-cli ... ping")``."""
    memory_limit_bytes: int | None
    files: dict[str, Path]
    """Container path -> the file written for it under :attr:`root`."""
    substitutions: dict[str, str] = field(default_factory=dict)
    """Apply-time reference -> the test value used for it."""
    adaptations: list[str] = field(default_factory=list)

    def path(self, container_path: str) -> Path:
        """Where ``container_path`` lives under :attr:`root` (mounted or not, e.g. a data directory)."""
        return self.root / PurePosixPath(container_path).relative_to("/")

    def text(self, container_path: str) -> str:
        if container_path not in self.files:
            raise KeyError(f"{self.name} mounts nothing at {container_path}; it mounts {sorted(self.files)}")
        return self.files[container_path].read_text()

    def healthcheck_argv(self) -> list[str]:
        """The healthcheck as Docker executes it: ``CMD`` runs its argv, ``CMD-SHELL`` runs ``/bin/sh -c``."""
        kind, *rest = self.healthcheck
        if kind == "CMD":
            return rest
        if kind == "CMD-SHELL" and len(rest) == 1:
            return ["/bin/sh", "-c", rest[0]]
        raise ValueError(f"{self.name}: healthcheck {self.healthcheck!r} runs nothing")

    def adapt(self, container_path: str, old: str, new: str, why: str) -> None:
        """Replace every ``old`` by ``new`` in a mounted file, for the reason ``why`` (recorded)."""
        target = self.files[container_path]
        content = target.read_text()
        if old not in content:
            raise AssertionError(f"{self.name}: {container_path} no longer contains {old!r}; adapt the test")
        target.write_text(content.replace(old, new))
        self.adaptations.append(f"{container_path}: {old!r} -> {new!r} ({why})")

    def value_of(self, reference_fragment: str) -> str:
        """The test value substituted for the one reference containing ``reference_fragment``."""
        matches = {ref: value for ref, value in self.substitutions.items() if reference_fragment in ref}
        if len(matches) != 1:
            raise KeyError(
                f"{reference_fragment!r} matches {sorted(matches)} of {sorted(self.substitutions)}"
            )
        return next(iter(matches.values()))


def _data_of(stack: Mapping[str, Any], reference: str, owner: str, substitutions: dict[str, str]) -> bytes:
    match = _RESOURCE_ID.match(reference)
    if match is None:
        raise SynthesizedStackError(f"{owner}: mounts {reference!r}, not a docker_config/docker_secret id")
    body = stack.get("resource", {}).get(match["kind"], {}).get(match["id"])
    if body is None:
        raise SynthesizedStackError(f"{owner}: {match['kind']}.{match['id']} is not in its stack")
    return base64.b64decode(evaluate_template(str(body["data"]), substitutions), validate=True)


def extract(stacks: Stacks, service: str, root: Path, *, environment: str = "") -> RenderedService:
    """Write ``service``'s mounted configs and secrets under ``root`` and return it as synthesized.

    ``stacks`` are one environment's parsed ``cdk.tf.json`` by stack name; exactly one of them must
    declare a ``docker_service`` named ``service``.
    """
    found = [
        (stack_name, body)
        for stack_name, stack in stacks.items()
        for body in stack.get("resource", {}).get("docker_service", {}).values()
        if body.get("name") == service
    ]
    if len(found) != 1:
        raise SynthesizedStackError(f"expected one docker_service named {service!r}, found {len(found)}")
    stack_name, body = found[0]
    stack = stacks[stack_name]
    (task_spec,) = _blocks(body.get("task_spec"))
    (container,) = _blocks(task_spec.get("container_spec"))
    substitutions: dict[str, str] = {}
    files: dict[str, Path] = {}
    for kind, id_key in (("configs", "config_id"), ("secrets", "secret_id")):
        for mount in _blocks(container.get(kind)):
            container_path = str(mount["file_name"])
            if not container_path.startswith("/"):
                # Docker puts relative secret targets under /run/secrets and configs under the root.
                prefix = "/run/secrets/" if kind == "secrets" else "/"
                container_path = prefix + container_path
            if container_path in files:
                raise SynthesizedStackError(f"{service}: two mounts at {container_path}")
            target = root / PurePosixPath(container_path).relative_to("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_data_of(stack, str(mount[id_key]), service, substitutions))
            target.chmod(int(mount.get("file_mode", 0o444)) | 0o200)  # owner-writable so tests can adapt
            files[container_path] = target
    healthchecks = _blocks(container.get("healthcheck"))
    resources: Mapping[str, Any] = next(iter(_blocks(task_spec.get("resources"))), {})
    limits: Mapping[str, Any] = next(iter(_blocks(resources.get("limits"))), {})
    memory = limits.get("memory_bytes")
    return RenderedService(
        environment=environment,
        stack=stack_name,
        name=service,
        image=str(container.get("image", "")),
        root=root,
        command=tuple(evaluate_template(str(part), substitutions) for part in container.get("command") or ()),
        args=tuple(evaluate_template(str(part), substitutions) for part in container.get("args") or ()),
        env={
            str(key): evaluate_template(str(value), substitutions)
            for key, value in (container.get("env") or {}).items()
        },
        healthcheck=tuple(str(part) for part in healthchecks[0].get("test", ())) if healthchecks else (),
        memory_limit_bytes=int(memory) if memory is not None else None,
        files=files,
        substitutions=substitutions,
    )
