"""The ``{placeholders}`` a catalog entry may write in ``env`` and ``command``: the one list of them.

The catalog check accepts exactly these, its error message lists them, and
:func:`sprocket_infra.platform_config.render.placeholder_values` fills exactly these, so adding one is one
line here plus its value there (a test keeps the two in step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sprocket_infra.catalog.dependencies import Dependency

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
"""``{name}`` in an entry's ``env`` or ``command``; filled in per environment when the stack is built."""

ENDPOINT_DEPENDENCIES: tuple[Dependency, ...] = ("redis", "rabbitmq", "influx")
"""layer2 services whose overlay address an entry may write: ``{<name>.host}`` and ``{<name>.port}``."""

FIXED: dict[str, Dependency | None] = {
    "self": None,
    "redis.prefix": "redis",
    **{f"{name}.{part}": name for name in ENDPOINT_DEPENDENCIES for part in ("host", "port")},
}
"""Every placeholder with a fixed name -> the dependency the entry must use for it (None: none)."""

_SERVICE = re.compile(r"^services\[(?P<service>[a-z][a-z0-9-]*)\]$")
_NETWORK_SUBNET = re.compile(r"^networks\[(?P<network>[a-z][a-z0-9-]*)\]\.subnet$")


@dataclass(frozen=True)
class Placeholder:
    name: str
    dependency: Dependency | None = None
    """What the entry must list under ``uses`` to write it."""
    service: str | None = None
    """The entry a ``{services[<key>]}`` names."""
    network: str | None = None
    """The platform network (purpose) whose fixed subnet ``{networks[<purpose>].subnet}`` stands for; the
    entry must be on it (an allow-list naming the service's own peers, e.g. DGraph's admin whitelist)."""


def parse(name: str) -> Placeholder | None:
    """The placeholder ``{name}`` stands for, or None when it is none of them."""
    if name in FIXED:
        return Placeholder(name, dependency=FIXED[name])
    match = _SERVICE.match(name)
    if match:
        return Placeholder(name, service=match["service"])
    match = _NETWORK_SUBNET.match(name)
    return Placeholder(name, network=match["network"]) if match else None


def known() -> str:
    """The placeholders, for an error message."""
    return ", ".join(f"{{{name}}}" for name in (*FIXED, "services[<key>]", "networks[<purpose>].subnet"))
