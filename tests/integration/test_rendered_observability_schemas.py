"""Alloy, Loki and Grafana provisioning as synthesized, checked against their documented configuration.

Stand-ins for the servers, said plainly: Loki and Grafana are AGPL and not built here; Alloy is Apache-2.0
but the Go module proxy here refuses ``github.com/grafana/alloy`` (403), so it cannot be built either.
Each file is therefore parsed (Alloy's block syntax by a small reader below, the others as YAML) and
compared with literal expectations taken from each project's configuration reference: the blocks and
attributes Alloy's components document, Loki 3's top-level sections and the rules it enforces at start
(retention needs ``delete_request_store``; schema v13 needs the ``tsdb`` store), Grafana's data source
provisioning fields. A key outside those sets fails, since the server would reject or ignore it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import ENVIRONMENTS, Stacks
from tests.rendered import extract

pytestmark = pytest.mark.integration

ALLOY_COMPONENTS: dict[str, set[str]] = {
    "discovery.dockerswarm": {"host", "role", "refresh_interval", "port", "filter"},
    "discovery.relabel": {"targets", "rule"},
    "loki.source.file": {"targets", "forward_to", "encoding", "tail_from_end"},
    "loki.process": {"forward_to", "stage.docker", "stage.json", "stage.labels", "stage.drop"},
    "loki.write": {"endpoint", "external_labels"},
}
"""Component -> the arguments and blocks its reference documents (those we might use)."""
ALLOY_BLOCKS: dict[str, set[str]] = {
    "rule": {"source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"},
    "endpoint": {"url", "name", "batch_wait", "batch_size", "remote_timeout", "headers", "tenant_id"},
    "stage.docker": set(),
}
RELABEL_ACTIONS = {"replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase",
                   "uppercase", "keepequal", "dropequal"}  # fmt: skip
LOKI_TOP_LEVEL = {
    "target", "auth_enabled", "server", "distributor", "querier", "query_scheduler", "frontend",
    "query_range", "ruler", "ingester_client", "ingester", "pattern_ingester", "index_gateway",
    "storage_config",
    "chunk_store_config", "schema_config", "compactor", "limits_config", "frontend_worker", "table_manager",
    "memberlist", "runtime_config", "operational_config", "tracing", "analytics", "common",
}  # fmt: skip
GRAFANA_DATASOURCE = {"name", "type", "uid", "access", "url", "user", "database", "basicAuth",
                      "basicAuthUser", "withCredentials", "isDefault", "jsonData", "secureJsonData",
                      "version", "editable", "orgId"}  # fmt: skip


@dataclass
class AlloyBlock:
    name: str
    label: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    blocks: list[AlloyBlock] = field(default_factory=list)


_OPEN = re.compile(r'^(?P<name>[a-z_][\w.]*)\s*(?:"(?P<label>[^"]*)")?\s*\{\s*(?P<close>\})?$')
_REFERENCE = re.compile(r"\b((?:discovery|loki)\.[a-z_]+\.[a-z_]+)\.(?:targets|output|receiver)\b")
_ATTRIBUTE = re.compile(r"^(?P<name>[a-z_]\w*)\s*=\s*(?P<value>.+)$")


def read_alloy(text: str) -> list[AlloyBlock]:
    """Alloy's syntax as our file uses it: one block header, attribute or ``}`` per line."""
    root = AlloyBlock("<root>", None)
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        if line == "}":
            stack.pop()
            continue
        if opened := _OPEN.match(line):
            block = AlloyBlock(opened["name"], opened["label"])
            stack[-1].blocks.append(block)
            if not opened["close"]:
                stack.append(block)
            continue
        attribute = _ATTRIBUTE.match(line)
        assert attribute is not None, f"line {number} is neither a block nor an attribute: {raw!r}"
        stack[-1].attributes[attribute["name"]] = attribute["value"]
    assert stack == [root], "unbalanced braces"
    return root.blocks


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_alloy_components_use_only_documented_arguments(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    alloy = extract(synth_stacks(environment), "alloy", tmp_path)
    config_path = alloy.args[-1]
    components = read_alloy(alloy.text(config_path))
    assert [(c.name, c.label) for c in components] == [
        ("discovery.dockerswarm", "tasks"),
        ("discovery.relabel", "this_node"),
        ("loki.source.file", "containers"),
        ("loki.process", "docker_json"),
        ("loki.write", "loki"),
    ]
    labels = {f"{c.name}.{c.label}" for c in components}
    references: list[str] = []
    for component in components:
        used = set(component.attributes) | {block.name for block in component.blocks}
        assert used <= ALLOY_COMPONENTS[component.name], component.name
        for block in component.blocks:
            assert set(block.attributes) <= ALLOY_BLOCKS[block.name], f"{component.name}/{block.name}"
            if block.name == "rule" and "action" in block.attributes:
                assert block.attributes["action"].strip('"') in RELABEL_ACTIONS
        references.extend(
            reference for value in component.attributes.values() for reference in _REFERENCE.findall(value)
        )
    # Every component feeds the next: targets, output and receivers name components that exist.
    assert sorted(references) == sorted(labels - {"loki.source.file.containers"})
    swarm = components[0].attributes
    assert swarm["role"] == '"tasks"'
    assert alloy.env["NODE_HOSTNAME"] == "{{.Node.Hostname}}"  # read by sys.env in the relabel rule


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_loki_sections_and_start_up_rules(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    loki = extract(synth_stacks(environment), "loki", tmp_path)
    (flag,) = loki.args
    config = yaml.safe_load(loki.text(flag.removeprefix("-config.file=")))
    assert set(config) <= LOKI_TOP_LEVEL
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    for period in config["schema_config"]["configs"]:
        assert (period["schema"], period["store"]) == ("v13", "tsdb")
    assert config["server"]["http_listen_port"] == 3100
    assert loki.healthcheck == ("CMD", "/usr/bin/loki", "-health")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_grafana_datasources_use_provisioning_fields(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    grafana = extract(synth_stacks(environment), "grafana", tmp_path)
    (path,) = [p for p in grafana.files if p.startswith("/etc/grafana/provisioning/datasources/")]
    document = yaml.safe_load(grafana.text(path))
    assert document["apiVersion"] == 1
    sources = document["datasources"]
    assert sum(1 for source in sources if source.get("isDefault")) == 1
    for source in sources:
        assert set(source) <= GRAFANA_DATASOURCE, source["name"]
        if source["type"] == "influxdb":
            # InfluxQL over the 1.x API: dbName in jsonData, the password read by Grafana's $__file{}.
            assert set(source["jsonData"]) == {"dbName", "httpMode"}
            reference = source["secureJsonData"]["password"]
            secret = re.fullmatch(r"\$__file\{(?P<path>[^}]+)\}", reference)
            assert secret is not None, reference
            assert secret["path"] in grafana.files
            assert source["user"] == "grafana"
