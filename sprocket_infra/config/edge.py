"""``routing.edge``: what Traefik enforces on every request: TLS policy, security headers, allow-lists."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field

from sprocket_infra.config.fields import Count, Flag, Strict

Cidr = ipaddress.IPv4Network | ipaddress.IPv6Network


def _cidrs(value: tuple[Cidr, ...]) -> tuple[Cidr, ...]:
    if not value:
        raise ValueError("an allow-list needs at least one CIDR; leave the key out to allow every client")
    if len(set(value)) != len(value):
        raise ValueError(f"duplicate CIDR in {[str(net) for net in value]}")
    return value


AllowList = Annotated[tuple[Cidr, ...], AfterValidator(_cidrs)]

PRIVATE_AND_TAILSCALE: tuple[Cidr, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
    )
)
"""Loopback, RFC 1918, Tailscale's CGNAT range and IPv6 unique-local: clients on the node, the LAN or the
tailnet. Traefik publishes 80/443 in host mode, so it sees the real client address."""


class AllowLists(Strict):
    """Which client networks reach a route at all (Traefik ``ipAllowList``, 403 / connection closed for the
    rest). A list left out lets every client through, except ``neo4j_bolt``, which has a default."""

    traefik_dashboard: AllowList | None = Field(
        None, description="Networks reaching Traefik's dashboard (still behind forward-auth). Left out: all."
    )
    vault: AllowList | None = Field(
        None, description="Networks reaching Vault's UI and API. Left out: all (Vault's own auth applies)."
    )
    neo4j_bolt: AllowList | None = Field(
        PRIVATE_AND_TAILSCALE,
        description="Networks reaching Neo4j's Bolt port, which only has Neo4j's password in front of it. "
        "Left out: loopback, private ranges and Tailscale; null opens it to every client.",
    )


class EdgeConfig(Strict):
    """TLS options and response headers for every router of the environment."""

    sni_strict: Flag = Field(
        True,
        description="Refuse TLS handshakes whose SNI names no certificate Traefik holds (scanners probing "
        "by IP, unknown names). Applies only where certificates are issued. Left out: true. Must be false "
        "when routing.server_ip or tailscale_ip is set: browsers send no SNI for an IP address.",
    )
    hsts_max_age_s: Count = Field(
        63072000,
        ge=0,
        description="Strict-Transport-Security max-age, sent only where certificates are issued. "
        "Left out: two years.",
    )
    hsts_preload: Flag = Field(
        False,
        description="Add 'preload' to HSTS (only after submitting the domain to the browsers' preload list, "
        "which is hard to undo). Left out: false.",
    )
    allow: AllowLists = Field(default_factory=AllowLists)
