"""Grafana's alert rules for node disk and memory query what Telegraf really writes, in a document shaped
as Grafana's alerting file provisioning expects.

Grafana is AGPL and not run here, so the provisioning document is checked structurally: every rule's
condition and expressions name query steps that exist, its data source is the InfluxDB source Grafana's
own provisioning declares for Telegraf's bucket, and the contact point reads its URL from a file, never
inline. The queries themselves are checked against the real Telegraf 1.40.1 built by ``make e2e-tools``:
its ``disk`` and ``mem`` inputs, run once with ``--test``, must emit the measurements, field and tags the
rules select and group by.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.constructs.grafana import datasources
from sprocket_infra.constructs.grafana_alerts import EXPRESSION_DATASOURCE, Thresholds, alerting_provisioning
from sprocket_infra.endpoints import ServiceEndpoint
from tests.built_tools import built_tool

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

METRICS_BUCKET = "metrics"
WEBHOOK_FILE = "/run/secrets/grafana-alert-webhook"
_QUERY = re.compile(
    r'SELECT last\("(?P<field>\w+)"\) FROM "(?P<measurement>\w+)" WHERE \$timeFilter GROUP BY (?P<tags>.+)'
)


def _document() -> dict[str, Any]:
    sources = datasources(
        loki=ServiceEndpoint(host="loki", port=3100),
        influx=ServiceEndpoint(host="influxdb", port=8086),
        buckets=(METRICS_BUCKET,),
    )
    (influx,) = [source for source in sources["datasources"] if source["type"] == "influxdb"]
    return alerting_provisioning(environment="prod", datasource_uid=influx["uid"], webhook_file=WEBHOOK_FILE)


def test_rules_are_wired_step_to_step_and_the_url_comes_from_a_file() -> None:
    document = _document()
    assert document["apiVersion"] == 1
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {rule["uid"] for rule in rules} == {"prod-disk-full", "prod-memory-high"}
    for rule in rules:
        steps = {step["refId"]: step for step in rule["data"]}
        assert rule["condition"] in steps
        for step in steps.values():
            assert step["model"]["refId"] == step["refId"]
            if step["datasourceUid"] == EXPRESSION_DATASOURCE:
                assert step["model"]["expression"] in steps
            else:
                assert step["datasourceUid"] == "influx-metrics"
                assert _QUERY.fullmatch(step["model"]["query"]), step["model"]["query"]
    (receiver,) = document["contactPoints"][0]["receivers"]
    assert receiver["settings"]["url"] == f"$__file{{{WEBHOOK_FILE}}}"
    assert document["policies"][0]["receiver"] == document["contactPoints"][0]["name"]


@pytest.mark.parametrize("value", [0, 100, 150])
def test_fails_when_a_threshold_is_not_a_percentage(value: float) -> None:
    with pytest.raises(ValueError, match="disk_used_percent: expected a percentage"):
        Thresholds(disk_used_percent=value)


def test_queries_select_what_real_telegraf_writes(tmp_path: Path) -> None:
    config = tmp_path / "telegraf.conf"
    config.write_text("[agent]\n  omit_hostname = false\n[[inputs.disk]]\n[[inputs.mem]]\n")
    run = subprocess.run(
        [str(built_tool("telegraf")), "--config", str(config), "--test"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    written: dict[str, tuple[set[str], set[str]]] = {}
    for line in run.stdout.splitlines():
        if not line.startswith("> "):
            continue
        head, fields, _ = line[2:].split(" ")
        measurement, *tags = head.split(",")
        known_tags, known_fields = written.setdefault(measurement, (set(), set()))
        known_tags.update(tag.split("=")[0] for tag in tags)
        known_fields.update(field.split("=")[0] for field in fields.split(","))
    for group in _document()["groups"]:
        for rule in group["rules"]:
            match = _QUERY.fullmatch(rule["data"][0]["model"]["query"])
            assert match is not None
            seen_tags, seen_fields = written[match["measurement"]]
            assert match["field"] in seen_fields
            assert {tag.strip().strip('"') for tag in match["tags"].split(",")} <= seen_tags
