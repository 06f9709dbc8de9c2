"""Healthcheck commands for images that ship different tools, built in one place.

Alpine-based images have busybox ``wget``; Debian/Ubuntu-based ones often have neither wget nor curl but do
have ``bash``, whose ``/dev/tcp`` can speak just enough HTTP/1.0 to read a status line.
"""

from __future__ import annotations

from sprocket_infra.constructs.swarm_service import Healthcheck


def wget_probe(port: int, path: str = "/", **timing: int) -> Healthcheck:
    """``wget --spider`` against ``127.0.0.1:<port><path>``; healthy on any 2xx."""
    url = f"http://127.0.0.1:{port}{path}"
    return Healthcheck(test=("CMD-SHELL", f"wget -q --spider {url} || exit 1"), **timing)


def bash_probe(port: int, path: str = "/", **timing: int) -> Healthcheck:
    """An HTTP/1.0 GET over bash's ``/dev/tcp``; healthy when the status line says 200."""
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        f"printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && "
        "head -n 1 <&3 | grep -q ' 200 '"
    )
    return Healthcheck(test=("CMD", "bash", "-c", script), **timing)
