"""The cloud-init document a Swarm droplet boots with: Docker from Ubuntu's archive, then init or join.

Built as data and dumped as YAML (``#cloud-config``), never by string templates. The join token is a
cdktf token of a sensitive variable, so the synthesized JSON holds ``${var.swarm_<role>_join_token}``
and the value exists only in the deploy's environment and in the droplet's metadata (hashed in state by
the DigitalOcean provider). Anything on the droplet can read its own metadata, so rotate the tokens once
the nodes have joined (docs/runbook.md, "Scaling the Swarm").
"""

from __future__ import annotations

from typing import Any

import yaml

PRIVATE_IPV4_URL = "http://169.254.169.254/metadata/v1/interfaces/private/0/ipv4/address"
"""DigitalOcean's metadata service: the droplet's VPC address, which Swarm traffic uses."""


def _document(commands: list[str]) -> str:
    document: dict[str, Any] = {
        "package_update": True,
        "packages": ["docker.io", "curl"],
        "runcmd": [
            ["systemctl", "enable", "--now", "docker"],
            ["sh", "-c", f"curl -fsS {PRIVATE_IPV4_URL} > /run/sprocket-private-ipv4"],
            *(["sh", "-c", command] for command in commands),
        ],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=True, width=1000)


def init_document() -> str:
    """The first manager of a new Swarm: ``docker swarm init`` on its VPC address."""
    return _document(['docker swarm init --advertise-addr "$(cat /run/sprocket-private-ipv4)"'])


def join_document(*, token: str, manager_address: str) -> str:
    """A node joining ``manager_address`` (``<ip>:2377``) with ``token`` (a variable reference).

    An empty token fails loudly on the droplet's console rather than leaving a node outside the Swarm
    without a word."""
    check = f'test -n "{token}" || {{ echo "sprocket: no Swarm join token was given" >&2; exit 1; }}'
    join = (
        f'docker swarm join --token "{token}" --advertise-addr "$(cat /run/sprocket-private-ipv4)" '
        f'"{manager_address}"'
    )
    return _document([check, join])
