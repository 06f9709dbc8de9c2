"""An image made on the test's own dockerd, so Swarm tasks really start here without any registry.

``docker import`` of a tar holding the machine's busybox and the libraries it links (read from ``ldd``),
with ``sleep`` as its command: enough for a task to reach ``running`` and stay there, which is what the
placement test reads. Swarm cannot record a registry digest for it and says so; it runs it all the same.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.e2e.swarm import Swarm

IMAGE = "sprocket-e2e-busybox:1"
BUSYBOX = "/usr/bin/busybox"
IMPORT_TIMEOUT_S = 120.0


def _linked_files(binary: str) -> list[str]:
    listing = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True, timeout=30).stdout
    paths = [part for line in listing.splitlines() for part in line.split() if part.startswith("/")]
    return [binary, *dict.fromkeys(paths)]


def import_busybox(swarm: Swarm) -> str:
    """Import the image into ``swarm``'s engine and return its reference."""
    if shutil.which("ldd") is None or not Path(BUSYBOX).exists():
        raise RuntimeError(f"{BUSYBOX} and ldd are needed for the placement e2e's local image")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for path in _linked_files(BUSYBOX):
            real = Path(path).resolve()
            info = tar.gettarinfo(str(real), arcname=path.lstrip("/"))
            with real.open("rb") as handle:
                tar.addfile(info, handle)
    result = subprocess.run(
        [
            "docker",
            "--host",
            swarm.host,
            "import",
            "--change",
            f'CMD ["{BUSYBOX}", "sleep", "86400"]',
            "-",
            IMAGE,
        ],
        input=archive.getvalue(),
        capture_output=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker import: {result.stderr.decode(errors='replace').strip()}")
    return IMAGE
