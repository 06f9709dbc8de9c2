"""The entrypoint and the server as the image's user (uid 100, gid 1000) with no capability at all, the
way the synthesized service runs them (``user: 100:1000``, ``cap_drop: ALL``).

``setpriv`` drops the test's root to that uid and gid with empty inheritable, ambient and bounding
capability sets before the shell starts, so neither the script nor the server it starts can gain one.
The keys directory and the raft directory belong to that user, as the deployment guide's ``install -d``
and Docker's copy of the image directory's ownership into a new volume make them; a keys directory that
belongs to root is refused before the server is touched.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sprocket_infra.vault.server_config_nodes import SERVER_GID, SERVER_UID
from tests.integration.as_service import as_user
from tests.integration.openbao import BAO_BINARY, SCRIPT, BaoNode, running_entrypoint, wait_exit
from tests.integration.vault_unseal_harness import files_in, storage_initialized

pytestmark = pytest.mark.integration

UNPRIVILEGED = (*as_user(f"{SERVER_UID}:{SERVER_GID}"), "--", "dash")
"""The image's user with every capability set empty, as the service runs (``user``, ``cap_drop: ALL``)."""


@pytest.fixture
def node() -> Iterator[BaoNode]:
    """A node under a directory uid 100 can reach (pytest's temp directories are 0700 root), with its own
    copies of the entrypoint and the server binary: in the image both are readable by every user, while a
    checkout (CI's clean clone under a 0700 temp directory) may not be."""
    root = Path(tempfile.mkdtemp(prefix="sprocket-vault-uid-", dir="/tmp"))
    root.chmod(0o755)
    try:
        (root / "bin").mkdir(mode=0o755)
        script = Path(shutil.copy2(SCRIPT, root / "bin" / SCRIPT.name))
        vault_bin = Path(shutil.copy2(BAO_BINARY, root / "bin" / "bao"))
        for copied in (script, vault_bin):
            copied.chmod(0o755)
        bao = BaoNode(root, shell=UNPRIVILEGED, script=script, vault_bin=vault_bin)
        bao.write_config()
        os.chown(bao.data_dir, SERVER_UID, SERVER_GID)
        # The user's home, as the image has it: the CLI reads its token-helper settings from there.
        (root / "home").mkdir()
        os.chown(root / "home", SERVER_UID, SERVER_GID)
        yield bao
    finally:
        shutil.rmtree(root)


def _processes_of(pgid: int) -> dict[int, dict[str, str]]:
    """``/proc/<pid>/status`` fields of every process in group ``pgid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            lines = (entry / "status").read_text().splitlines()
        except (OSError, IndexError, ValueError):
            continue
        found[int(entry.name)] = dict(line.split(":\t", 1) for line in lines if ":\t" in line)
    return found


def test_initializes_and_unseals_as_uid_100_without_capabilities(node: BaoNode) -> None:
    node.keys_dir.mkdir(mode=0o700)
    os.chown(node.keys_dir, SERVER_UID, SERVER_GID)
    with running_entrypoint(node.serve(HOME=str(node.root / "home"))) as entry:
        node.wait_unsealed(timeout_s=60)
        assert entry.popen is not None
        processes = _processes_of(entry.popen.pid)
        servers = [status for status in processes.values() if status["Name"] == "bao"]
        assert servers, processes
        for status in processes.values():
            assert status["Uid"].split()[:2] == [str(SERVER_UID)] * 2, status
            assert status["Gid"].split()[:2] == [str(SERVER_GID)] * 2, status
            assert int(status["CapEff"], 16) == 0, status
            assert int(status["CapBnd"], 16) == 0, status
    assert files_in(node.keys_dir) == {"root-token", "unseal-keys"}
    for path in node.keys_dir.iterdir():
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (SERVER_UID, SERVER_GID, 0o600)
    # A restart as the same user unseals from those files.
    with running_entrypoint(node.serve(HOME=str(node.root / "home"))):
        node.wait_unsealed(timeout_s=60)


def test_refuses_a_keys_directory_owned_by_root(node: BaoNode) -> None:
    node.keys_dir.mkdir(mode=0o700)
    with running_entrypoint(node.serve(HOME=str(node.root / "home"))) as entry:
        code = wait_exit(entry, timeout_s=60)
        output = entry.output()
    assert code != 0
    assert (
        f"cannot make {node.keys_dir} private (chmod 700): is it read-only or owned by someone else?"
        in output
    )
    assert "was not touched" in output
    assert not storage_initialized(node)
