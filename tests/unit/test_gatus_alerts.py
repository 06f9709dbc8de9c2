"""Gatus alert thresholds per kind of route (sprocket_infra/constructs/observability/gatus_alerts.py)."""

from __future__ import annotations

import pytest

from sprocket_infra.constructs.edge import RecordedRoute
from sprocket_infra.constructs.observability.gatus_alerts import (
    STAFF_UI,
    USER_FACING,
    AlertPolicy,
    endpoint_alerts,
    policy_for,
)
from sprocket_infra.routing import HttpRoute, TcpRoute


def _recorded(route: HttpRoute | TcpRoute) -> RecordedRoute:
    return RecordedRoute(stack="layer2", service="svc", route=route, origin="test")


@pytest.mark.parametrize(
    ("route", "policy"),
    [
        (HttpRoute(name="grafana", hosts=("grafana.example",), port=3000, middlewares=("auth-x",)), STAFF_UI),
        (HttpRoute(name="web", hosts=("example",), port=3000), USER_FACING),
        (TcpRoute(name="bolt", hosts=("bolt.example",), port=7687), USER_FACING),
    ],
)
def test_staff_uis_get_the_patient_policy(route: HttpRoute | TcpRoute, policy: AlertPolicy) -> None:
    assert policy_for(_recorded(route)) == policy


def test_endpoint_alert_entry() -> None:
    assert endpoint_alerts(STAFF_UI, host="grafana.example", stack="layer2") == [
        {
            "type": "discord",
            "failure-threshold": 5,
            "success-threshold": 3,
            "send-on-resolved": True,
            "minimum-reminder-interval": "1h",
            "description": "grafana.example (layer2) is not answering through Traefik",
        }
    ]


def test_fails_when_a_threshold_is_zero() -> None:
    with pytest.raises(ValueError, match="thresholds must be >= 1"):
        AlertPolicy(failure_threshold=0, success_threshold=2)
