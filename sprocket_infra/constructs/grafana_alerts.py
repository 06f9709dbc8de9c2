"""Grafana alert-rule provisioning for what neither Gatus nor ``verify`` sees: node disk and memory.

Telegraf writes ``disk.used_percent`` (per host and mount point) and ``mem.used_percent`` (per host) into
InfluxDB; Grafana evaluates these rules against its InfluxQL data source of that bucket and notifies a
Discord contact point whose URL Grafana reads from a file (``$__file{}``, a Docker secret built from the
same Vault key Gatus uses), so the URL is never in the rendered YAML. Vault seal state, certificate expiry
and replica counts are checked by ``sprocket-infra verify --alert`` instead (no Telegraf input collects
them here). The output is one document in Grafana's file-provisioning format (``apiVersion: 1`` with
``groups``, ``contactPoints`` and ``policies``) for ``/etc/grafana/provisioning/alerting/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXPRESSION_DATASOURCE = "__expr__"
"""Grafana's built-in data source for the reduce/threshold steps of a rule."""
CONTACT_POINT = "sprocket-discord"
FOLDER = "Sprocket"
ORG_ID = 1


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    disk_used_percent: float = 85.0
    """A mount point fuller than this fires (volumes of InfluxDB, Loki and Neo4j grow without bound)."""
    memory_used_percent: float = 90.0
    pending_minutes: int = 10
    """How long a threshold must hold before the alert fires (``for``), so a brief spike stays quiet."""

    def __post_init__(self) -> None:
        for name in ("disk_used_percent", "memory_used_percent"):
            value = getattr(self, name)
            if not 0 < value < 100:
                raise ValueError(
                    f"alert threshold {name}: expected a percentage between 0 and 100 (got {value})"
                )
        if self.pending_minutes < 1:
            raise ValueError(f"alert threshold pending_minutes: expected >= 1 (got {self.pending_minutes})")


def _rule(
    *, uid: str, title: str, query: str, threshold: float, summary: str, datasource_uid: str, pending: int
) -> dict[str, Any]:
    """Query ``A`` (InfluxQL), reduce it to its last value per series (``B``), compare (``C``)."""
    return {
        "uid": uid,
        "title": title,
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 600, "to": 0},
                "datasourceUid": datasource_uid,
                "model": {"refId": "A", "query": query, "rawQuery": True, "resultFormat": "time_series"},
            },
            {
                "refId": "B",
                "datasourceUid": EXPRESSION_DATASOURCE,
                "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"},
            },
            {
                "refId": "C",
                "datasourceUid": EXPRESSION_DATASOURCE,
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": "gt", "params": [threshold]}}],
                },
            },
        ],
        "noDataState": "NoData",
        "execErrState": "Error",
        "for": f"{pending}m",
        "annotations": {"summary": summary},
        "labels": {"team": "sprocket-ops"},
    }


def alerting_provisioning(
    *, environment: str, datasource_uid: str, webhook_file: str, thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """The alerting provisioning document; ``webhook_file`` is the container path of the webhook secret."""
    limits = thresholds or Thresholds()
    rules = [
        _rule(
            uid=f"{environment}-disk-full",
            title="Disk almost full",
            query='SELECT last("used_percent") FROM "disk" WHERE $timeFilter GROUP BY "host", "path"',
            threshold=limits.disk_used_percent,
            summary="{{ $labels.host }} {{ $labels.path }} is over "
            f"{limits.disk_used_percent:g}% full",
            datasource_uid=datasource_uid,
            pending=limits.pending_minutes,
        ),
        _rule(
            uid=f"{environment}-memory-high",
            title="Memory almost exhausted",
            query='SELECT last("used_percent") FROM "mem" WHERE $timeFilter GROUP BY "host"',
            threshold=limits.memory_used_percent,
            summary=f"{{{{ $labels.host }}}} uses over {limits.memory_used_percent:g}% of its memory",
            datasource_uid=datasource_uid,
            pending=limits.pending_minutes,
        ),
    ]
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": ORG_ID,
                "name": f"{environment}-nodes",
                "folder": FOLDER,
                "interval": "1m",
                "rules": rules,
            }
        ],
        "contactPoints": [
            {
                "orgId": ORG_ID,
                "name": CONTACT_POINT,
                "receivers": [
                    {
                        "uid": CONTACT_POINT,
                        "type": "discord",
                        "settings": {"url": f"$__file{{{webhook_file}}}", "use_discord_username": False},
                        "disableResolveMessage": False,
                    }
                ],
            }
        ],
        "policies": [
            {"orgId": ORG_ID, "receiver": CONTACT_POINT, "group_by": ["grafana_folder", "alertname"]}
        ],
    }
