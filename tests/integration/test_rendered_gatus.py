"""Gatus's synthesized configuration, checked against Gatus v5's own configuration schema.

A stand-in for the server: the Go module proxy here refuses ``github.com/TwiN/gatus/v5`` (403), so Gatus
cannot be built. Instead the files are read the way Gatus 5 reads a ``GATUS_CONFIG_PATH`` directory
(every ``*.yaml``/``*.yml`` below it, deep-merged) and every key is checked against the literal key sets
of Gatus's configuration structs (``config.Config``, ``endpoint.Endpoint``, ``client.Config``, the Discord
provider), so a key Gatus would silently ignore fails here. The image's demo ``/config/config.yaml`` is
laid next to ours, as the image ships it, to prove it is not merged in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ENVIRONMENTS, Stacks
from tests.rendered import RenderedService, extract
from tests.synth_json import service_labels

pytestmark = pytest.mark.integration

TOP_LEVEL = {
    "debug", "metrics", "skip-invalid-config-update", "disable-monitoring-lock", "concurrency", "security",
    "alerting", "endpoints", "external-endpoints", "suites", "storage", "web", "ui", "maintenance", "remote",
    "connectivity", "tunneling", "announcements",
}  # fmt: skip
ENDPOINT = {
    "enabled", "name", "group", "url", "method", "body", "headers", "interval", "conditions", "alerts",
    "client", "dns", "ssh", "ui", "graphql", "maintenance-windows", "extra-labels", "always-run",
    "store", "provider-override",
}  # fmt: skip
CLIENT = {
    "insecure", "ignore-redirect", "timeout", "dns-resolver", "oauth2", "proxy-url", "identity-aware-proxy",
    "network", "tls", "tunnel",
}  # fmt: skip
STORAGE = {"type", "path", "caching", "maximum-number-of-results", "maximum-number-of-events"}
UI = {"title", "description", "header", "logo", "link", "buttons", "custom-css", "dark-mode",
      "default-sort-by", "default-filter-by"}  # fmt: skip
DISCORD = {"webhook-url", "title", "message-content", "default-alert", "overrides"}
DEFAULT_ALERT = {"enabled", "failure-threshold", "success-threshold", "send-on-resolved", "description"}
ALERT = {
    "type", "enabled", "failure-threshold", "success-threshold", "minimum-reminder-interval", "description",
    "send-on-resolved", "provider-override",
}  # fmt: skip
"""``alert.Alert``'s keys in Gatus 5 (``minimum-reminder-interval``: omitted or at least 5m; the description
may not hold ``"`` or ``\\``)."""
IMAGE_DEMO = (
    "endpoints:\n  - name: example\n    url: https://example.org\n    conditions: ['[STATUS] == 200']\n"
)
"""A stand-in for the demo ``/config/config.yaml`` the image ships (its endpoints check public sites)."""


def merged(rendered: RenderedService) -> dict[str, Any]:
    """What Gatus loads from ``GATUS_CONFIG_PATH``: every YAML file below it, lists concatenated."""
    directory = rendered.path(rendered.env["GATUS_CONFIG_PATH"])
    config: dict[str, Any] = {}
    for path in sorted(directory.rglob("*")):
        if path.suffix not in {".yaml", ".yml"}:
            continue
        for key, value in yaml.safe_load(path.read_text()).items():
            if isinstance(value, list):
                config.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                config.setdefault(key, {}).update(value)
            else:
                config[key] = value
    return config


@pytest.fixture(params=ENVIRONMENTS)
def gatus(
    request: pytest.FixtureRequest, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> RenderedService:
    environment: str = request.param
    rendered = extract(synth_stacks(environment), "gatus", tmp_path, environment=environment)
    demo = rendered.path("/config/config.yaml")
    demo.parent.mkdir(parents=True, exist_ok=True)
    demo.write_text(IMAGE_DEMO)
    return rendered


def _unknown(section: dict[str, Any], known: set[str]) -> set[str]:
    return set(section) - known


def test_every_key_is_one_gatus_reads(gatus: RenderedService) -> None:
    config = merged(gatus)
    assert _unknown(config, TOP_LEVEL) == set()
    assert _unknown(config["storage"], STORAGE) == set()
    assert config["storage"] == {"type": "sqlite", "path": "/data/data.db"}
    assert _unknown(config["ui"], UI) == set()
    discord = config["alerting"]["discord"]
    assert _unknown(discord, DISCORD) == set()
    assert _unknown(discord["default-alert"], DEFAULT_ALERT) == set()
    for endpoint in config["endpoints"]:
        assert _unknown(endpoint, ENDPOINT) == set(), endpoint["name"]
        assert _unknown(endpoint["client"], CLIENT) == set(), endpoint["name"]
        assert endpoint["client"] == {"timeout": "10s"}
        (alert,) = endpoint["alerts"]
        assert _unknown(alert, ALERT) == set(), endpoint["name"]
        assert alert["type"] in config["alerting"]
        assert alert["failure-threshold"] >= 1
        assert alert["success-threshold"] >= 1
        assert not set(alert["description"]) & {'"', "\\"}
        assert _duration_s(alert["minimum-reminder-interval"]) >= 300


def _duration_s(value: str) -> int:
    """A Go duration of whole minutes or hours (all we write) in seconds."""
    number, unit = int(value[:-1]), value[-1]
    return number * {"m": 60, "h": 3600}[unit]


def test_staff_uis_alert_later_than_what_users_reach(
    gatus: RenderedService, synth_stacks: Callable[[str], Stacks]
) -> None:
    """Hosts behind forward-auth (staff UIs) fire after 5 failed checks, everything else after 2."""
    protected = {
        host
        for stack in synth_stacks(gatus.environment).values()
        for body in stack.get("resource", {}).get("docker_service", {}).values()
        for key, value in service_labels(body).items()
        if key.startswith("traefik.http.routers.") and key.endswith(".rule")
        # Behind forward-auth: a middleware named auth-<rule> (rate limits and allow-lists are not auth).
        and re.search(r"(^|,)auth-", service_labels(body).get(f"{key.removesuffix('.rule')}.middlewares", ""))
        and "PathPrefix" not in value
        for host in re.findall(r"Host\(`([^`]+)`\)", value)
    }  # fmt: skip
    thresholds = {e["name"]: e["alerts"][0]["failure-threshold"] for e in merged(gatus)["endpoints"]}
    assert protected, "no route behind forward-auth found"
    assert {host: thresholds[host] for host in protected} == dict.fromkeys(protected, 5)
    assert {h: t for h, t in thresholds.items() if h not in protected} == {
        h: 2 for h in thresholds if h not in protected
    }


def test_webhook_is_the_secret_value(gatus: RenderedService) -> None:
    webhook = merged(gatus)["alerting"]["discord"]["webhook-url"]
    assert webhook == gatus.value_of('["discordWebhookUrl"]')


def test_checks_exactly_the_routed_hosts_and_no_demo_endpoint(
    gatus: RenderedService, synth_stacks: Callable[[str], Stacks]
) -> None:
    hosts = {
        host
        for stack in synth_stacks(gatus.environment).values()
        for body in stack.get("resource", {}).get("docker_service", {}).values()
        for key, value in service_labels(body).items()
        if re.fullmatch(r"traefik\.(http|tcp)\.routers\.[^.]+\.rule", key)
        for host in re.findall(r"Host(?:SNI)?\(`([^`]+)`\)", value)
    }
    names = [endpoint["name"] for endpoint in merged(gatus)["endpoints"]]
    assert "example" not in names
    assert len(names) == len(set(names))
    checked = set(names)
    # HTTP hosts are always checked; SNI-only hosts only where certificates exist (see gatus.py).
    assert checked <= hosts
    http_hosts = {
        host
        for stack in synth_stacks(gatus.environment).values()
        for body in stack.get("resource", {}).get("docker_service", {}).values()
        for key, value in service_labels(body).items()
        if re.fullmatch(r"traefik\.http\.routers\.[^.]+\.rule", key)
        for host in re.findall(r"Host\(`([^`]+)`\)", value)
    }
    assert http_hosts <= checked
