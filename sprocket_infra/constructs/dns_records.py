"""``DnsRecords``: an A record for every host the environment routes, pointing at the edge node.

The hosts come from :attr:`Routing.routes`, the record of every route every stack attached, so a route
added to the catalog (or a new admin UI) brings its record with it; there is no list of names to keep.
Hosts outside ``hosts.dns.zone`` (IP addresses, ``*.localhost``) are not DNS names of ours and get none.
Each record sits at ``<id>/<name>``, ``<name>`` being the host relative to the zone (``apex`` for the
zone itself), so adding or removing a route creates or deletes only its record.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_digitalocean.record import Record
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.config.hosts import DnsConfig
from sprocket_infra.constructs.edge import RecordedRoute


def published_hosts(routes: Iterable[RecordedRoute], zone: str) -> list[str]:
    """Every distinct routed host inside ``zone``, sorted; IP literals and foreign names left out."""
    hosts = {host for recorded in routes for host in recorded.route.hosts}
    return sorted(host for host in hosts if not _is_ip(host) and (host == zone or host.endswith(f".{zone}")))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class DnsRecordsProps:
    dns: DnsConfig
    routes: Sequence[RecordedRoute]
    """Every route of every stack (layer1's ``routing.routes`` once the last stack is built)."""
    edge_address: str
    """The edge node's public IPv4: a literal (existing hosts) or the droplet's ``ipv4_address``."""


class DnsRecords(Construct):
    """Public attribute: ``records`` (host -> its ``digitalocean_record``)."""

    def __init__(self, scope: Construct, construct_id: str, props: DnsRecordsProps) -> None:
        super().__init__(scope, construct_id)
        zone = props.dns.zone
        self.records: dict[str, Record] = {}
        for host in published_hosts(props.routes, zone):
            name = naming.dns_record_name(zone, host)
            self.records[host] = Record(
                self,
                "apex" if name == "@" else name,
                domain=zone,
                type="A",
                name=name,
                value=props.edge_address,
                ttl=props.dns.ttl_s,
            )
