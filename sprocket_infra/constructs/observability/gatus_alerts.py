"""How loudly Gatus alerts for each checked host: thresholds per kind of route, as Gatus alert entries.

Gatus counts consecutive results: an alert fires after ``failure_threshold`` failed checks in a row (one
check a minute) and resolves after ``success_threshold`` good ones. Apps users reach, Vault and the
login service (everything not behind forward-auth) alert after two minutes down; staff UIs behind
forward-auth (Grafana, RabbitMQ's management, the Traefik dashboard, ...) are allowed five, since nobody
outside the team notices them and a restart takes about that long. A firing alert is repeated every
``reminder`` while it lasts. The Discord webhook itself is not here: it is a Docker secret made from
Vault (``ALERTING_TEMPLATE`` in :mod:`.gatus`), and these entries only name its provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sprocket_infra.constructs.edge import RecordedRoute
from sprocket_infra.routing import HttpRoute

PROVIDER = "discord"


@dataclass(frozen=True, kw_only=True)
class AlertPolicy:
    failure_threshold: int
    """Failed checks in a row before the alert fires."""
    success_threshold: int
    """Good checks in a row before it resolves."""
    reminder: str = "1h"
    """Gatus repeats a firing alert this often (its ``minimum-reminder-interval``; at least 5m)."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.success_threshold < 1:
            raise ValueError(
                f"Gatus alert thresholds must be >= 1 (got failure {self.failure_threshold}, "
                f"success {self.success_threshold})"
            )


USER_FACING = AlertPolicy(failure_threshold=2, success_threshold=2)
STAFF_UI = AlertPolicy(failure_threshold=5, success_threshold=3)


def policy_for(recorded: RecordedRoute) -> AlertPolicy:
    """Staff UIs (routes behind forward-auth) get :data:`STAFF_UI`; everything else :data:`USER_FACING`."""
    route = recorded.route
    return STAFF_UI if isinstance(route, HttpRoute) and route.middlewares else USER_FACING


def endpoint_alerts(policy: AlertPolicy, *, host: str, stack: str) -> list[dict[str, Any]]:
    """The ``alerts`` list of one Gatus endpoint (Gatus refuses ``"`` and ``\\`` in a description)."""
    description = f"{host} ({stack}) is not answering through Traefik"
    if '"' in description or "\\" in description:
        raise ValueError(f"Gatus alert description for {host!r} may not contain quotes or backslashes")
    return [
        {
            "type": PROVIDER,
            "failure-threshold": policy.failure_threshold,
            "success-threshold": policy.success_threshold,
            "send-on-resolved": True,
            "minimum-reminder-interval": policy.reminder,
            "description": description,
        }
    ]
