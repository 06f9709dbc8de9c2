"""kill -9 of the Vault entrypoint and its server at random instants of a first start, against real OpenBao.

A first start is the one moment when the only copy of the unseal keys passes through the script; a crash
there must never end with the storage initialized and no usable keys on disk (a "lockout": nothing can
repair it). Each try starts ``init-unseal.sh serve`` on a fresh node, SIGKILLs the script and the server
together (as a killed container dies), starts it again on the same storage and keys dir, and classifies
how that second start ended. Tries alternate between dash and busybox sh.

Random instants (between the server's first answer and the keys being on disk, where all the danger is)
are drawn from a seeded generator (the seed is printed; set VAULT_UNSEAL_SEED to replay).
Random kills alone might all miss the short windows that matter, so a few tries kill at events instead:
right after the journal is written, right after the server persisted its barrier (its own log line), and
while it mounts its tables (the server-side window before the response is sent). A control try proves the
classifier does see a lockout: the same server-side kill, with the journal deleted before the restart.
"""

from __future__ import annotations

import collections
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.openbao import BaoNode, running_entrypoint
from tests.integration.processes import ServerProcess, wait_until
from tests.integration.vault_unseal_harness import (
    JOURNAL,
    KEYS,
    RECOVERY_LINES,
    RESPONSE,
    RESPONSE_TMP,
    SHELLS,
    files_in,
    kill_group,
    node_for,
    restart,
    storage_initialized,
)

pytestmark = pytest.mark.integration

RANDOM_TRIES = 20
# Six nodes at a time: each spends most of its start waiting on raft timers, not on the CPU.
WORKERS = 6
EVENT_TIMEOUT_S = 30.0


def _server_logged(line: str) -> Callable[[BaoNode, ServerProcess], bool]:
    return lambda node, entry: line in entry.output()


EVENTS: dict[str, Callable[[BaoNode, ServerProcess], bool]] = {
    "journal written": lambda node, entry: (node.keys_dir / JOURNAL).exists(),
    "barrier persisted": _server_logged("security barrier initialized"),
    "server mounting tables": _server_logged("post-unseal setup starting"),
}


@dataclass(frozen=True)
class Trial:
    """One kill: when, under which shell, what was on disk at that instant, and how the restart ended."""

    label: str
    shell: str
    at_kill: frozenset[str]
    outcome: str
    output: str

    @property
    def init_in_flight(self) -> bool:
        return JOURNAL in self.at_kill and KEYS not in self.at_kill


def classify(node: BaoNode) -> tuple[str, str]:
    """Restart the entrypoint and name the outcome: how it recovered, or "lockout"/"stuck" if it did not."""
    result = restart(node)
    if result.unsealed:
        keys = (node.keys_dir / KEYS).read_text().split()
        leftovers = files_in(node.keys_dir) & {JOURNAL, RESPONSE, RESPONSE_TMP}
        if len(keys) != 5 or leftovers:
            return f"unsealed but {len(keys)} keys, leftovers {sorted(leftovers)}", result.output
        for outcome, line in RECOVERY_LINES.items():
            if line in result.output:
                return outcome, result.output
        if "initialized with 5 shares" in result.output:
            return "killed before the init: fresh init", result.output
        return "killed after the keys were stored", result.output
    keys_file = node.keys_dir / KEYS
    if not keys_file.exists() and storage_initialized(node):
        return "lockout", result.output
    return "stuck", result.output


def kill_and_restart(
    root: Path, shell: str, label: str, delay_s: float | None, drop_journal: bool = False
) -> Trial:
    """One try: kill the first start ``delay_s`` seconds after its server first answers, or at the event
    named by ``label``."""
    node = node_for(root, shell)
    with running_entrypoint(node.serve()) as first:
        if delay_s is not None:
            wait_until(node.answers, timeout_s=EVENT_TIMEOUT_S, what="the server to answer", interval_s=0.01)
            time.sleep(delay_s)
        else:
            happened = EVENTS[label]
            deadline = time.monotonic() + EVENT_TIMEOUT_S
            while not happened(node, first) and time.monotonic() < deadline and first.running():
                time.sleep(0.01)
            if not happened(node, first):
                return Trial(label, shell, frozenset(), "event never seen", first.output())
        kill_group(first)
        at_kill = frozenset(files_in(node.keys_dir))
    if drop_journal:
        (node.keys_dir / JOURNAL).unlink(missing_ok=True)
    outcome, output = classify(node)
    return Trial(label, shell, at_kill, outcome, output)


def report(trials: list[Trial], seed: int, window_s: float, seconds: float) -> str:
    counts = collections.Counter(trial.outcome for trial in trials)
    lines = [
        f"vault unseal kill test: seed={seed} (replay: VAULT_UNSEAL_SEED={seed}), {len(trials)} kills"
        f" ({RANDOM_TRIES} at random instants 0..{window_s:.1f}s after the server answers,"
        f" {len(EVENTS)} at events),"
        f" {sum(t.init_in_flight for t in trials)} with the init in flight, {seconds:.0f}s",
        *(f"  {count:3d}  {outcome}" for outcome, count in sorted(counts.items())),
        f"  lockouts: {counts['lockout']}",
    ]
    return "\n".join(lines)


def test_kill_at_random_instants_of_a_first_start_never_locks_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Proves: across >= 20 seeded random kill -9 instants of a first start plus kills at the three
    critical events, under dash and busybox sh, every restart ends unsealed from the key file on disk
    (0 lockouts, 0 stuck), with the journal and response files cleaned up; the server-side kill recovers by
    setting the abandoned init aside, and without the journal that same kill is classified a lockout, so
    the classifier can fail. (Raft stands in for S3, which cannot run here; on S3 the script stops at an
    abandoned init with the recovery step instead of resetting it, see the hazards tests.)"""
    seed = int(os.environ.get("VAULT_UNSEAL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"vault unseal kill test seed: {seed}")
    rng = random.Random(seed)
    shells = list(SHELLS)
    started = time.monotonic()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        # A full first start without a kill measures the window the random instants are drawn from: from
        # the server's first answer (its boot is of no interest) until the keys are on disk. Anchoring each
        # instant at that answer keeps the draw meaningful however loaded the machine is.
        calibration_node = node_for(tmp_path / "calibration", "dash")
        calibration = pool.submit(first_start_seconds, calibration_node)
        event_futures = [
            pool.submit(kill_and_restart, tmp_path / f"event-{i}", shells[i % 2], label, None)
            for i, label in enumerate(EVENTS)
        ]
        control = pool.submit(
            kill_and_restart, tmp_path / "control", "dash", "barrier persisted", None, drop_journal=True
        )
        window_s = 1.1 * calibration.result()
        delays = [rng.uniform(0.0, window_s) for _ in range(RANDOM_TRIES)]
        random_futures = [
            pool.submit(kill_and_restart, tmp_path / f"random-{i}", shells[i % 2], f"{delay:.2f}s", delay)
            for i, delay in enumerate(delays)
        ]
        trials = [f.result() for f in event_futures + random_futures]
        control_trial = control.result()

    summary = report(trials, seed, window_s, time.monotonic() - started)
    with capsys.disabled():
        print("\n" + summary)

    failed = [t for t in trials if t.outcome not in {*RECOVERY_LINES, *FINE_OUTCOMES}]
    assert not failed, summary + "\n" + "\n\n".join(f"{t.label} ({t.shell}):\n{t.output}" for t in failed)
    by_label = {t.label: t for t in trials}
    assert by_label["barrier persisted"].outcome == "set aside an abandoned init", by_label[
        "barrier persisted"
    ]
    assert by_label["server mounting tables"].outcome == "set aside an abandoned init"
    assert by_label["journal written"].init_in_flight
    assert {t.shell for t in trials} == set(SHELLS)
    assert control_trial.outcome == "lockout", control_trial
    # ...and the script said so instead of guessing (the runbook quotes both lines).
    assert "restore them from backup" in control_trial.output or "No journal" in control_trial.output


FINE_OUTCOMES = {"killed before the init: fresh init", "killed after the keys were stored"}


def first_start_seconds(node: BaoNode) -> float:
    """Seconds from the server's first answer in a ``serve`` start on a fresh node until the keys are on
    disk."""
    with running_entrypoint(node.serve()):
        wait_until(node.answers, timeout_s=EVENT_TIMEOUT_S, what="the server to answer", interval_s=0.01)
        started = time.monotonic()
        wait_until((node.keys_dir / KEYS).exists, timeout_s=60, what="the first start to store its keys")
        return time.monotonic() - started
