"""The Vault entrypoint on an operator's bad day, against real OpenBao under dash and busybox sh.

Each test sets up one hazard the random-kill test cannot aim at precisely: a stop signal during
``operator init``, keys whose storage is gone, a keys directory that is full or read-only, corrupted key
lines, an init response a killed script left on disk, and raft state left by an interrupted first init.
The messages asserted here are the ones docs/runbook.md ("Vault won't unseal") quotes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.openbao import BAO_BINARY, BaoNode, running_entrypoint, wait_exit
from tests.integration.processes import running, wait_until
from tests.integration.vault_unseal_harness import (
    JOURNAL,
    KEYS,
    RESPONSE,
    RESPONSE_TMP,
    SHELLS,
    files_in,
    kill_group,
    lookup_token,
    node_for,
    restart,
    unsealed,
)

pytestmark = pytest.mark.integration

SHARE_BYTES = 33


def fake_keys(count: int = 5) -> str:
    return "".join(base64.b64encode(secrets.token_bytes(SHARE_BYTES)).decode() + "\n" for _ in range(count))


def run_script(node: BaoNode, **env: str) -> tuple[int, str]:
    with running(node.unseal_script(**env)) as script:
        return wait_exit(script, 90), script.output()


def seal(node: BaoNode) -> None:
    if node.seal_status()["sealed"] is False:
        result = node.cli("operator", "seal", token=node.root_token())
        assert result.returncode == 0, result.stderr
    wait_until(lambda: node.seal_status()["sealed"] is True, timeout_s=10, what="node to seal")


def init_by_hand(node: BaoNode) -> str:
    """``operator init`` as the script runs it; returns the raw JSON response, the only copy of the keys."""
    result = node.cli("operator", "init", "-key-shares=5", "-key-threshold=3", "-format=json")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoNode]:
    """A server on never-initialized storage. Tests that use it prove the script leaves it that way."""
    node = BaoNode(tmp_path_factory.mktemp("fresh"))
    with running(node.server()):
        node.wait_answering()
        yield node


@pytest.mark.parametrize("shell", SHELLS)
def test_stop_signal_during_init_waits_until_the_keys_are_on_disk(tmp_path: Path, shell: str) -> None:
    """Proves: a SIGTERM sent to the entrypoint alone (what `docker stop` does) while `operator init` is in
    flight does not lose the keys: the script finishes the init, stores 5 keys and the token, removes the
    journal, says so, stops the server and exits 143; the next start unseals with those keys without
    initializing again."""
    node = node_for(tmp_path, shell)
    with running_entrypoint(node.serve()) as entry:
        wait_until((node.keys_dir / JOURNAL).exists, timeout_s=60, what="the init to start", interval_s=0.005)
        assert KEYS not in files_in(node.keys_dir)
        os.kill(entry.pid, signal.SIGTERM)
        assert wait_exit(entry, 60) == 143, entry.output()
        output = entry.output()
    assert "SIGTERM arrived during initialization; acting on it now that the keys are on disk" in output
    assert "initialized with 5 shares, threshold 3" in output
    assert files_in(node.keys_dir) == {"root-token", KEYS}
    assert len((node.keys_dir / KEYS).read_text().split()) == 5

    second = restart(node)
    assert second.unsealed, second.output
    assert "initialized with" not in second.output


@pytest.mark.parametrize("leftover", [KEYS, RESPONSE])
def test_keys_next_to_fresh_storage_are_never_initialized_over(
    fresh_server: BaoNode, tmp_path: Path, leftover: str
) -> None:
    """Proves: a key file, or an unparsed init response, next to a storage that is not initialized (a
    wiped raft dir, a new bucket path) is an error: the script names the key file and the storage, says
    what to do, does not initialize, and leaves the keys byte for byte (a response is turned into the key
    file it holds, nothing is lost)."""
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o700)
    keys = fake_keys()
    if leftover == KEYS:
        (keys_dir / KEYS).write_text(keys)
    else:
        response = {"unseal_keys_b64": keys.split(), "root_token": "s.fake"}
        (keys_dir / RESPONSE).write_text(json.dumps(response, indent=2) + "\n")
    fresh_server.shell = SHELLS["busybox"]
    code, output = run_script(fresh_server, VAULT_KEYS_DIR=str(keys_dir))
    assert code == 1, output
    assert f"keys exist but the storage is not initialized: {keys_dir / KEYS} (5 keys, written" in output
    assert f"raft storage in {fresh_server.data_dir} at {fresh_server.addr} is not initialized" in output
    assert f"move {keys_dir / KEYS} and {keys_dir / 'root-token'} to an offline backup" in output
    assert (keys_dir / KEYS).read_text() == keys
    assert fresh_server.seal_status()["initialized"] is False
    assert not [key for key in keys.split() if key in output]


def mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False, timeout=30).returncode == 0


@contextlib.contextmanager
def keys_dir_that_cannot_take_a_response(
    kind: str, keys_dir: Path, shell: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    """A full disk (a one-page tmpfs, already full; where mounts are not allowed, a 1 KiB file-size limit)
    or a read-only keys dir (a read-only bind mount: root writes through any mode bits). Yields the shell
    command line to run the script with."""
    keys_dir.mkdir(mode=0o700)
    if kind == "full disk" and not mount("-t", "tmpfs", "-o", "size=4k,mode=0700", "tmpfs", str(keys_dir)):
        yield ("sh", "-c", 'ulimit -f 2; exec "$0" "$@"', *shell)
        return
    if kind == "read-only" and not mount("--bind", "-o", "ro", str(keys_dir), str(keys_dir)):
        pytest.skip("this machine allows no mounts, and root can write to any directory without one")
    try:
        if kind == "full disk":
            (keys_dir / "filler").write_bytes(b"\0" * 4096)
        yield shell
    finally:
        subprocess.run(["umount", str(keys_dir)], check=True, timeout=30)


@pytest.mark.parametrize(("kind", "shell"), [("full disk", "dash"), ("read-only", "busybox")])
def test_keys_dir_that_cannot_take_the_response_fails_before_init(
    fresh_server: BaoNode, tmp_path: Path, kind: str, shell: str
) -> None:
    """Proves: when the keys dir cannot store an init response (no room, or read-only), the script finds
    out before asking the server: it exits non-zero naming the dir, leaves no journal, and the server is
    still not initialized, so nothing was lost and a fixed dir simply initializes on the next start."""
    keys_dir = tmp_path / "keys"
    with keys_dir_that_cannot_take_a_response(kind, keys_dir, SHELLS[shell]) as command:
        fresh_server.shell = command
        code, output = run_script(fresh_server, VAULT_KEYS_DIR=str(keys_dir))
        assert code == 1, output
        assert JOURNAL not in files_in(keys_dir)
    if kind == "full disk":
        assert f"cannot store an init response in {keys_dir}: writing and flushing a 2304-byte test" in output
    else:
        assert f"cannot make {keys_dir} private (chmod 700)" in output
    assert f"{fresh_server.addr} was not touched" in output
    assert fresh_server.seal_status()["initialized"] is False


@pytest.fixture(scope="module")
def initialized_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoNode]:
    node = BaoNode(tmp_path_factory.mktemp("initialized"))
    with running(node.server()):
        node.wait_answering()
        code, output = run_script(node)
        assert code == 0, output
        yield node


@pytest.mark.parametrize(("corruption", "shell"), [("not base64", "busybox"), ("wrong share", "dash")])
def test_one_bad_key_line_is_skipped_and_named(
    initialized_node: BaoNode, shell: str, corruption: str
) -> None:
    """Proves: with one corrupted line in the key file (garbage the server rejects outright, or a
    well-formed share of nothing, which only fails when the shares are combined), the script still unseals
    with the remaining 4 keys (threshold 3) and names the bad line, without printing any key."""
    node = initialized_node
    original = node.keys_file.read_bytes()
    lines = original.decode().splitlines()
    bad = 2 if corruption == "not base64" else 1
    lines[bad - 1] = "!!not-a-key!!" if corruption == "not base64" else fake_keys(1).strip()
    try:
        seal(node)
        node.keys_file.write_text("\n".join(lines) + "\n")
        node.shell = SHELLS[shell]
        code, output = run_script(node)
    finally:
        node.keys_file.write_bytes(original)
    assert code == 0, output
    assert unsealed(node)
    if corruption == "not base64":
        assert f"line {bad} of {node.keys_file} was rejected by {node.addr}" in output
        assert "4 keys left for threshold 3" in output
    else:
        assert f"line {bad} of {node.keys_file} does not combine with the other keys (corrupted?)" in output
    assert not [key for key in original.decode().split() if key in output]


@pytest.mark.parametrize(("leftover", "shell"), [(RESPONSE_TMP, "busybox"), (RESPONSE, "dash")])
def test_response_left_by_a_killed_script_becomes_the_key_file(
    tmp_path: Path, leftover: str, shell: str
) -> None:
    """Proves: when the script died right after the CLI wrote the init response (before its rename) or
    right after the rename (before the key file was derived), the next start stores those keys, removes
    the response and the journal, and unseals; the root token from the response works."""
    node = node_for(tmp_path, shell)
    with running(node.server()):
        node.wait_answering()
        response = init_by_hand(node)
        node.keys_dir.mkdir(mode=0o700)
        (node.keys_dir / JOURNAL).write_text("started=earlier\n")
        (node.keys_dir / leftover).write_text(response)
        code, output = run_script(node)
        assert code == 0, output
        assert "recovered the keys of an interrupted initialization" in output
        assert files_in(node.keys_dir) == {"root-token", KEYS}
        assert node.keys_file.read_text().split() == json.loads(response)["unseal_keys_b64"]
        assert unsealed(node)
        node.wait_active()
        assert lookup_token(node, json.loads(response)["root_token"])
        assert json.loads(response)["root_token"] not in output


def raft_state_without_init(node: BaoNode) -> str:
    """Leave the node's raft storage the way an init killed early does: raft bootstrapped, no barrier.
    The init bootstraps raft and wins its own election within a few tens of milliseconds before it writes
    the barrier; killing the server at the election line lands in between. Retried a few times, because a
    kill can land a little late; returns what `operator init` then answers."""
    for _ in range(5):
        server = node.server()
        with running(server):
            node.wait_answering()
            init = subprocess.Popen(
                [str(BAO_BINARY), "operator", "init", "-format=json"],
                env={**os.environ, "BAO_ADDR": node.addr},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until(
                lambda server=server: "entering leader state" in server.output(),  # type: ignore[misc]
                timeout_s=30,
                what="raft",
                interval_s=0.001,
            )
            kill_group(server)
            init.wait(timeout=30)
        with running(node.server()):
            node.wait_answering()
            answer = node.cli("operator", "init", "-format=json")
            if answer.returncode != 0 and "cluster already has state" in answer.stderr:
                return answer.stderr
        shutil.rmtree(node.data_dir)
    pytest.fail("could not produce raft state without an initialized barrier in 5 tries")


def test_raft_state_of_an_interrupted_init_names_the_recovery_step_that_works(tmp_path: Path) -> None:
    """Proves: after an init interrupted between raft bootstrap and barrier, `operator init` answers
    "cluster already has state". Without a journal the script does not touch it and names the recovery
    step; with the journal (our own interrupted init) in unseal mode it says the storage holds no data and
    names the step including the journal; following that step literally makes the next start initialize
    and unseal; and in serve mode it does the same by itself, setting the raft data aside."""
    node = BaoNode(tmp_path)
    raft_state_without_init(node)
    journal = node.keys_dir / JOURNAL
    with running(node.server()):
        node.wait_answering()
        code, without_journal = run_script(node)
        node.keys_dir.mkdir(mode=0o700, exist_ok=True)
        journal.write_text("started=2026-01-01T00:00:00Z\n")
        code_j, with_journal = run_script(node)
    assert code == 1, without_journal
    assert (
        'is not initialized, but `operator init` answers "cluster already has state" and no journal'
        in without_journal
    )
    assert (
        f"move everything in {node.data_dir} into a backup directory, and start Vault again"
        in without_journal
    )
    assert code_j == 1, with_journal
    assert "was interrupted before its keys reached disk, so this storage holds no data" in with_journal
    step = (
        f"Recovery: stop Vault, move everything in {node.data_dir} into a backup directory, delete {journal}"
    )
    assert step in with_journal

    backup = tmp_path / "raft-backup"
    backup.mkdir()
    for entry in node.data_dir.iterdir():
        entry.rename(backup / entry.name)
    journal.unlink()
    second = restart(node)
    assert second.unsealed, second.output
    assert "initialized with 5 shares" in second.output
