"""The outcome of one status check, and of a run of them, in a shape both rich and ``--json`` print."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"
    """Not checkable with what was given (e.g. Gatus behind forward-auth without a direct address)."""


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    kind: str
    """``route``, ``tls``, ``vault``, ``swarm`` or ``gatus``."""
    name: str
    outcome: Outcome
    detail: str
    """What was seen, e.g. ``401 (auth required)``, ``1/1 running``, ``sealed``."""
    data: dict[str, Any] = field(default_factory=dict)
    """Figures for scripts: status code, days to expiry, replica counts."""

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAIL


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    environment: str
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return not any(result.failed for result in self.results)

    def as_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[str(result.outcome)] = counts.get(str(result.outcome), 0) + 1
        return {
            "command": "verify",
            "env": self.environment,
            "ok": self.ok,
            "summary": dict(sorted(counts.items())),
            "checks": [{**asdict(result), "outcome": str(result.outcome)} for result in self.results],
        }
