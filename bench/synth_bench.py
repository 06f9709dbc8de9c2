"""Synth benchmark: the project's piecemeal provider imports against eager package imports.

Each run is a cold subprocess (``bench/synth_once.py``), so interpreter and jsii start-up are included, as
they are for ``cdktf synth``. Lazy and eager runs alternate inside one invocation and only their *ratios*
are reported as the result: absolute seconds depend on the machine and on whatever else it is doing.
Peak memory is the largest resident set among the run's processes (Python and its Node jsii kernel).

    .venv/bin/python bench/synth_bench.py [--runs 3] [--environments local,prod]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
EVERY_PROVIDER = "aws,digitalocean,docker,random,vault"


def measure(environment: str, eager: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one cold synth."""
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "synth_once.py"), environment, outdir, f"--eager={eager}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"synth of {environment} failed (eager={eager!r})")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--environments", default="local,prod")
    options = parser.parse_args()

    table = Table(title=f"cdktf synth, median of {options.runs} cold runs each")
    for column in (
        "environment",
        "lazy s",
        "eager s",
        "eager/lazy time",
        "lazy MiB",
        "eager MiB",
        "eager/lazy memory",
    ):
        table.add_column(column, justify="right")
    console = Console(width=120)
    for environment in options.environments.split(","):
        lazy, eager = [], []
        with console.status(f"synthesizing {environment}"):
            for _ in range(options.runs):
                lazy.append(measure(environment, ""))
                eager.append(measure(environment, EVERY_PROVIDER))
        lazy_s, eager_s = (statistics.median(run[0] for run in runs) for runs in (lazy, eager))
        lazy_mb, eager_mb = (statistics.median(run[1] for run in runs) for runs in (lazy, eager))
        table.add_row(
            environment,
            f"{lazy_s:.1f}",
            f"{eager_s:.1f}",
            f"{eager_s / lazy_s:.1f}x",
            f"{lazy_mb:.0f}",
            f"{eager_mb:.0f}",
            f"{eager_mb / lazy_mb:.1f}x",
        )
    console.print(table)


if __name__ == "__main__":
    main()
