"""Lifecycle tests of the Vault entrypoint script (sprocket_infra/assets/vault/init-unseal.sh).

Each test runs the real script under /bin/sh (dash) against a real OpenBao server on 127.0.0.1, which
speaks the same API and CLI verbs as Vault. Production Vault keeps its data in S3; that backend cannot run
here, so the server uses single-node raft storage, and the S3 storage stanza is covered by the synth JSON
tests instead. What these tests pin down is the script's behaviour: initialize once, store the keys
privately, unseal on every start, and fail loudly and boundedly instead of guessing.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.openbao import BAO, SCRIPT, BaoNode, group_alive, running_entrypoint, wait_exit
from tests.integration.processes import free_port, port_open, running, wait_until
from tests.integration.vault_unseal_harness import SHELLS

pytestmark = pytest.mark.integration

# One Shamir share as OpenBao encodes it: a 32-byte share plus the 1-byte x coordinate.
SHARE_BYTES = 33


def secrets_of(node: BaoNode) -> list[str]:
    """The unseal keys and the root token; none of them may ever show up in a log."""
    return [*node.keys_file.read_text().split(), node.root_token()]


def assert_no_secrets(text: str, node: BaoNode) -> None:
    leaked = [value[:6] + "..." for value in secrets_of(node) if value in text]
    assert not leaked, f"secrets leaked into the output: {leaked}"


def group_gone(pgid: int) -> bool:
    return not group_alive(pgid)


def seal(node: BaoNode) -> None:
    """Put an initialized node back into the state it has after a restart: sealed, keys on disk."""
    if node.seal_status()["sealed"] is False:
        result = node.cli("operator", "seal", token=node.root_token())
        assert result.returncode == 0, result.stderr
    wait_until(lambda: node.seal_status()["sealed"] is True, timeout_s=10, what="node to seal")


def run_unseal(node: BaoNode, *, timeout_s: float = 60, **overrides: str) -> tuple[int, str, float]:
    """Run the script in ``unseal`` mode to completion; returns exit code, output and seconds taken."""
    started = time.monotonic()
    with running(node.unseal_script(**overrides)) as script:
        code = wait_exit(script, timeout_s)
        return code, script.output(), time.monotonic() - started


@pytest.fixture(scope="module")
def initialized_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoNode]:
    """A plain server whose storage the script initialized once. Tests that use it start by sealing it,
    which is exactly the state after a restart, so sharing it hides nothing and saves an init per test."""
    node = BaoNode(tmp_path_factory.mktemp("initialized"))
    with running(node.server()):
        node.wait_answering()
        code, output, _ = run_unseal(node)
        assert code == 0, output
        node.wait_unsealed()
        yield node


@pytest.fixture
def restore_keys(initialized_node: BaoNode) -> Iterator[bytes]:
    """Yields the real key file's bytes and puts them back however the test ends."""
    original = initialized_node.keys_file.read_bytes()
    yield original
    initialized_node.keys_file.write_bytes(original)
    initialized_node.keys_file.chmod(0o600)


def test_first_start_initializes_unseals_and_keeps_secrets_out_of_logs(tmp_path: Path) -> None:
    """Proves: the first `serve` start initializes with 5 shares / threshold 3 and unseals; the keys dir
    is 0700 with 0600 files holding 5 keys and a token; neither keys nor token reach the output; and a
    SIGTERM sent to the entrypoint alone is forwarded to the server, whose exit status it returns.
    (Raft storage stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    with running_entrypoint(node.serve()) as entry:
        node.wait_unsealed()
        status = node.seal_status()
        assert (status["initialized"], status["n"], status["t"]) == (True, 5, 3)

        assert stat.S_IMODE(node.keys_dir.stat().st_mode) == 0o700
        assert sorted(p.name for p in node.keys_dir.iterdir()) == ["root-token", "unseal-keys"]
        for secret_file in (node.keys_file, node.token_file):
            assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600, secret_file
        keys = node.keys_file.read_text().splitlines()
        assert len(keys) == 5
        assert all(len(base64.b64decode(key)) == SHARE_BYTES for key in keys)
        assert node.cli("token", "lookup", token=node.root_token()).returncode == 0

        wait_until(
            lambda: "init-unseal: unsealed" in entry.output(), timeout_s=10, what="the unseal log line"
        )
        output = entry.output()
        assert f"initialized with 5 shares, threshold 3; keys stored in {node.keys_dir}" in output
        assert_no_secrets(output, node)

        os.kill(entry.pid, signal.SIGTERM)  # the entrypoint only, as `docker stop` does to PID 1
        assert wait_exit(entry, 30) == 0, entry.output()
        wait_until(lambda: group_gone(entry.pid), timeout_s=10, what="the server to exit")
        assert "server exited with status 0" in entry.output()
        assert_no_secrets(entry.output(), node)


def test_restart_unseals_same_storage_without_reinitializing(tmp_path: Path) -> None:
    """Proves: after a crash (SIGKILL of the whole process group) a second `serve` start on the same raft
    storage unseals again without initializing: the key and token files are byte-for-byte unchanged, the
    original root token still works and a KV v2 secret written before the crash is still readable.
    (Raft storage stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    with running_entrypoint(node.serve()) as first:
        node.wait_unsealed()
        node.wait_active()
        token = node.root_token()
        enabled = node.cli("secrets", "enable", "-path=kv", "kv-v2", token=token)
        assert enabled.returncode == 0, enabled.stderr
        wait_until(
            lambda: node.cli("kv", "put", "-mount=kv", "app", "password=x1", token=token).returncode == 0,
            timeout_s=20,
            what="the KV write",
            interval_s=0.3,
        )
        keys_before = node.keys_file.read_bytes()
        token_before = node.token_file.read_bytes()
        first.stop(sig=signal.SIGKILL)
    # The orphaned server is reaped by init shortly after the SIGKILL.
    wait_until(lambda: group_gone(first.pid), timeout_s=10, what="the killed server to be reaped")

    with running_entrypoint(node.serve()) as second:
        node.wait_unsealed()
        wait_until(
            lambda: "init-unseal: unsealed" in second.output(), timeout_s=10, what="the unseal log line"
        )
        output = second.output()
        assert "initialized with" not in output
        assert node.keys_file.read_bytes() == keys_before
        assert node.token_file.read_bytes() == token_before
        node.wait_active()
        read = node.cli("kv", "get", "-mount=kv", "-field=password", "app", token=token)
        assert read.returncode == 0, read.stderr
        assert read.stdout.strip() == "x1"
        assert_no_secrets(output, node)


def test_two_concurrent_copies_initialize_exactly_once(tmp_path: Path) -> None:
    """Proves: two `unseal` copies started together against one fresh server both exit 0, exactly one of
    them initializes, the keys-dir lock (not the server's refusal of a second init) kept them apart, the
    stored keys are the ones that unsealed it (its root token works), and the lock is gone afterwards.
    (Raft stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    with running(node.server()):
        node.wait_answering()
        assert node.seal_status()["initialized"] is False
        with running(node.unseal_script()) as one, running(node.unseal_script()) as two:
            codes = [wait_exit(one, 60), wait_exit(two, 60)]
            outputs = [one.output(), two.output()]
        assert codes == [0, 0], outputs
        assert sum(out.count("initialized with 5 shares") for out in outputs) == 1, outputs
        # The lock serialized them: neither copy had to fall back on the server refusing a second init.
        assert not [out for out in outputs if "initialized by someone else" in out], outputs
        status = node.seal_status()
        assert (status["initialized"], status["sealed"]) == (True, False)
        assert len(node.keys_file.read_text().splitlines()) == 5
        assert node.cli("token", "lookup", token=node.root_token()).returncode == 0
        assert not (node.keys_dir / ".init-lock").exists()
        for out in outputs:
            assert_no_secrets(out, node)


def test_stale_lock_of_a_dead_copy_is_broken(tmp_path: Path) -> None:
    """Proves: an init lock left behind by a copy that died on this host (its PID no longer runs) does not
    block initialization forever: the script removes it, says so, initializes and unseals.
    (Raft stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    finished = subprocess.Popen(["true"])  # a PID that has certainly exited
    finished.wait(timeout=5)
    lock = node.keys_dir / ".init-lock"
    lock.mkdir(parents=True)
    (lock / "owner").write_text(f"host={os.uname().nodename}\npid={finished.pid}\nsince={int(time.time())}\n")
    with running(node.server()):
        node.wait_answering()
        code, output, _ = run_unseal(node)
        assert code == 0, output
        assert "removing stale init lock" in output
        assert "initialized with 5 shares" in output
        assert node.seal_status()["sealed"] is False
        assert not lock.exists()


def test_already_initialized_answer_waits_for_the_winners_keys(tmp_path: Path) -> None:
    """Proves: when the server itself answers "already initialized" to our `operator init` (a copy that
    bypassed our lock won the race), the script neither fails nor retries init, but waits for the winner's
    key file and unseals with it. A VAULT_BIN shim makes the race deterministic: on the first
    `operator init` it initializes the real server as "the other copy", stores the keys 1 s later, and
    then lets our init through to the real server, which refuses it.
    (Raft stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    shim = tmp_path / "bao-racing-shim"
    shim.write_text(
        f"""#!/bin/sh
if [ "$1 $2" = "operator init" ] && [ ! -e "{tmp_path}/raced" ]; then
    : >"{tmp_path}/raced"
    out=$("{BAO}" operator init -key-shares=5 -key-threshold=3 -format=json) || exit 1
    (
        sleep 1
        printf '%s' "$out" | "{sys.executable}" -c \\
            'import json, sys; print("\\n".join(json.load(sys.stdin)["unseal_keys_b64"]))' \\
            >"{node.keys_file}.other" && mv "{node.keys_file}.other" "{node.keys_file}"
    ) &
fi
exec "{BAO}" "$@"
"""
    )
    shim.chmod(0o755)
    with running(node.server()):
        node.wait_answering()
        code, output, _ = run_unseal(node, VAULT_BIN=str(shim))
        assert code == 0, output
        assert (tmp_path / "raced").exists()
        assert "initialized by someone else meanwhile; waiting for" in output
        assert "initialized with" not in output
        assert node.seal_status()["sealed"] is False
        assert not [key for key in node.keys_file.read_text().split() if key in output]


def test_missing_keys_on_initialized_server_fail_without_touching_storage(
    initialized_node: BaoNode, restore_keys: bytes
) -> None:
    """Proves: if the server is initialized but the key file is gone, the script exits non-zero quickly
    with a message naming the missing file, does not re-initialize or write anything, and the server stays
    initialized and sealed; with the keys restored the same storage unseals and the old root token works.
    (Raft stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = initialized_node
    seal(node)
    token = node.root_token()
    node.keys_file.unlink()

    code, output, _ = run_unseal(node)
    assert code != 0
    assert f"initialized but no unseal keys at {node.keys_file}: restore them from backup" in output
    status = node.seal_status()
    assert (status["initialized"], status["sealed"]) == (True, True)
    assert sorted(p.name for p in node.keys_dir.iterdir()) == ["root-token"]
    assert node.root_token() == token

    node.keys_file.write_bytes(restore_keys)
    code, output, _ = run_unseal(node)
    assert code == 0, output
    assert node.seal_status()["sealed"] is False
    assert node.cli("token", "lookup", token=token).returncode == 0


def test_wrong_keys_fail_clearly_in_bounded_time(initialized_node: BaoNode, restore_keys: bytes) -> None:
    """Proves: keys that do not belong to the storage (well-formed shares of some other cluster) make the
    script exit non-zero (within the run's timeout) with a message naming the key file, without printing
    the keys; the server stays sealed and unseals normally once the right keys are back.
    (Raft stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = initialized_node
    seal(node)
    wrong = [base64.b64encode(secrets.token_bytes(SHARE_BYTES)).decode() for _ in range(5)]
    node.keys_file.write_text("\n".join(wrong) + "\n")

    code, output, _ = run_unseal(node, timeout_s=30)
    assert code != 0
    assert f"the keys in {node.keys_file} did not unseal {node.addr}" in output
    assert not [key for key in wrong if key in output]
    assert node.seal_status()["sealed"] is True

    node.keys_file.write_bytes(restore_keys)
    code, output, _ = run_unseal(node)
    assert code == 0, output
    assert node.seal_status()["sealed"] is False


def test_unreachable_server_fails_after_bounded_wait(tmp_path: Path) -> None:
    """Proves: with nothing listening at VAULT_ADDR the script gives up after VAULT_WAIT_SECONDS (not
    sooner, not much later) with a message naming the address and the wait.
    (No storage is involved; the S3 backend, which cannot run here, is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    assert not port_open("127.0.0.1", node.port)
    code, output, seconds = run_unseal(node, VAULT_WAIT_SECONDS="2", timeout_s=30)
    assert code != 0
    assert seconds >= 2  # gave up no sooner than told; run_unseal's timeout bounds the wait
    assert f"no answer from {node.addr} after 2s" in output


def test_serve_stops_the_server_when_unsealing_fails(tmp_path: Path) -> None:
    """Proves: in `serve` mode a failed init/unseal (here: VAULT_ADDR points where the server is not)
    makes the entrypoint stop the server it started and exit non-zero, so the container fails visibly
    instead of running a sealed Vault, and no server is left holding the raft storage.
    (Raft stands in for S3, which cannot run here; S3 is covered by the synth JSON tests.)"""
    node = BaoNode(tmp_path)
    elsewhere = f"http://127.0.0.1:{free_port()}"
    with running_entrypoint(node.serve(VAULT_ADDR=elsewhere, VAULT_WAIT_SECONDS="3")) as entry:
        node.wait_answering()  # the server itself did come up
        assert wait_exit(entry, 40) != 0
        assert f"no answer from {elsewhere} after 3s" in entry.output()
        # Checked inside the block: leaving it kills whatever the script left in its process group.
        wait_until(lambda: group_gone(entry.pid), timeout_s=5, what="the server to be stopped")
        assert not port_open("127.0.0.1", node.port)


def test_script_is_posix_sh() -> None:
    """Proves: the entrypoint parses under dash (what /bin/sh is here) and busybox sh (the ash of the
    Alpine-based images) and is executable, since Docker runs it directly as the container's entrypoint."""
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    for shell in SHELLS.values():
        result = subprocess.run([*shell, "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, (shell, result.stderr)
