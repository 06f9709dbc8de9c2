"""Start a server from its synthesized files the way Docker starts its service: as the spec's ``user``, with
every capability set empty (``cap_drop: ALL``), and with its mounted files owned and moded as the spec says
(``file_uid``/``file_gid``/``file_mode``). ``setpriv`` (util-linux) switches the user, which needs root;
callers skip the hardened run where the tests do not run as root.

What this cannot show: the read-only root filesystem and tmpfs mounts (they need the image); the paths
here are temp paths the test maps the container's onto.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.rendered import RenderedService

CAPABILITY_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def can_switch_user() -> bool:
    return os.geteuid() == 0


@contextmanager
def traversable_workdir(prefix: str) -> Iterator[Path]:
    """A temp directory another uid may traverse (pytest's own base directory is 0700), removed after."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        work.chmod(0o711)
        yield work
    finally:
        shutil.rmtree(work)


def own_files_as_synthesized(rendered: RenderedService, container: dict[str, Any]) -> str:
    """Give every mounted file the owner and mode ``container`` (a synthesized ``container_spec``) gives
    it; return the spec's ``user`` (``uid:gid``)."""
    for config in container.get("configs", []):
        rendered.files[config["file_name"]].chmod(int(config["file_mode"]))
    for secret in container.get("secrets", []):
        path = rendered.files[secret["file_name"]]
        os.chown(path, int(secret.get("file_uid", 0)), int(secret.get("file_gid", 0)))
        path.chmod(int(secret["file_mode"]))
    user: str = container["user"]
    return user


def as_user(user: str) -> list[str]:
    """The ``setpriv`` prefix that runs a command as ``user`` with no supplementary groups and every
    capability set empty, as Docker runs a ``user`` with ``cap_drop: ALL``."""
    uid, gid = user.split(":")
    drop = ["--clear-groups", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"]
    return ["setpriv", "--reuid", uid, "--regid", gid, *drop, "--no-new-privs"]


@dataclass(frozen=True)
class Identity:
    """Who a running process is, from ``/proc/<pid>/status``."""

    uids: tuple[int, ...]
    gids: tuple[int, ...]
    capabilities: dict[str, int]


def identity(pid: int) -> Identity:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return Identity(
        uids=tuple(int(part) for part in status["Uid"].split()),
        gids=tuple(int(part) for part in status["Gid"].split()),
        capabilities={key: int(status[key], 16) for key in CAPABILITY_SETS},
    )
