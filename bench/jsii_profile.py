"""Count the jsii round trips of one synth, and say which of our functions made them.

Every call from Python into the Node kernel (create an object, read a property, call a method, and the
final ``synth``) goes through one method, ``_NodeProcess.send`` in jsii's process provider. This module
wraps that method for the duration of one synth, in this process only and without touching product code,
and books each call (and the time it took) to the innermost frame of ``sprocket_infra`` that caused it.
Calls made before our code runs (loading the jsii assemblies on import) are booked to ``<import>``.

    .venv/bin/python bench/jsii_profile.py local [--top 25] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

_PRODUCT = "/sprocket_infra/"
"""Frames from files below a directory of this name are ours (wherever the package is imported from)."""
_OUTSIDE = "<import>"


@dataclass
class RoundTrips:
    """Round trips booked per call site (``module:function``) and per request kind."""

    by_site: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    seconds_by_site: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.by_site.values())

    def by_construct(self) -> Counter[str]:
        """Sites folded to their module (one module per construct type or stack)."""
        folded: Counter[str] = Counter()
        for site, count in self.by_site.items():
            folded[site.split(":", 1)[0]] += count
        return folded


def _site(frame: FrameType | None) -> str:
    """The innermost ``sprocket_infra`` frame on the stack, as ``package/module.py:Class.method``."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if _PRODUCT in filename:
            return f"{filename.rsplit(_PRODUCT, 1)[1]}:{frame.f_code.co_qualname}"
        frame = frame.f_back
    return _OUTSIDE


def _kind(request: Any) -> str:
    """``create Service``, ``staticinvoke Fn.sha256``, ``get id``: what was asked of the kernel."""
    name = type(request).__name__.removesuffix("Request").lower()
    fqn, member = (
        getattr(request, key, None) for key in ("fqn", "method" if "invoke" in name else "property")
    )
    parts = [str(part).rsplit(".", 1)[-1] for part in (fqn, member) if isinstance(part, str)]
    return " ".join([name, ".".join(parts)]) if parts else name


@contextmanager
def counting() -> Iterator[RoundTrips]:
    """Book every kernel round trip made inside the block."""
    from jsii._kernel.providers.process import _NodeProcess

    trips = RoundTrips()
    original: Callable[..., Any] = _NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        site = _site(sys._getframe(1))
        started = time.perf_counter()
        try:
            return original(self, request, response_type)
        finally:
            spent = time.perf_counter() - started
            trips.by_site[site] += 1
            trips.by_kind[_kind(request)] += 1
            trips.seconds_by_site[site] = trips.seconds_by_site.get(site, 0.0) + spent
            trips.total_seconds += spent

    _NodeProcess.send = send  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        _NodeProcess.send = original  # type: ignore[method-assign]


def profile(environment: str, outdir: str) -> tuple[RoundTrips, float]:
    """Round trips of one synth of ``environment`` into ``outdir`` (this process), and its wall seconds."""
    started = time.perf_counter()
    with counting() as trips:
        from sprocket_infra.app import build_app, load_inputs

        inputs = load_inputs(environment)
        build_app(inputs.environment, catalog=inputs.catalog, outdir=outdir).synth()
    return trips, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("environment")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print the counts as JSON instead")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as outdir:
        trips, seconds = profile(options.environment, outdir)
    if options.json:
        print(
            json.dumps(
                {
                    "total": trips.total,
                    "kernel_seconds": round(trips.total_seconds, 3),
                    "seconds": round(seconds, 3),
                    "by_construct": dict(trips.by_construct().most_common()),
                    "by_site": dict(trips.by_site.most_common()),
                    "by_kind": dict(trips.by_kind.most_common()),
                }
            )
        )
        return
    print(f"{trips.total} round trips, {trips.total_seconds:.2f} s in the kernel of {seconds:.2f} s")
    print("\nper module (construct type / stack):")
    for module, count in trips.by_construct().most_common():
        print(f"  {count:6d}  {module}")
    print(f"\ntop {options.top} call sites:")
    for site, count in trips.by_site.most_common(options.top):
        print(f"  {count:6d}  {trips.seconds_by_site[site]:6.3f} s  {site}")
    print(f"\ntop {options.top} request kinds:")
    for kind, count in trips.by_kind.most_common(options.top):
        print(f"  {count:6d}  {kind}")


if __name__ == "__main__":
    main()
