"""The ``hosts`` section and the placement checks over it: every refusal names the file and key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sprocket_infra.catalog import CATALOG_FILE, load_catalog
from sprocket_infra.config import ConfigError
from sprocket_infra.config.hosts import Node
from sprocket_infra.config.load import merged, parse_environment, read_yaml
from sprocket_infra.input_checks import Sources
from sprocket_infra.placement import max_replicas_per_node, platform_replicas, runs_alone
from sprocket_infra.placement_checks import eligible, matches, placement_problems

ROOT = Path(__file__).resolve().parents[2]
THREE_NODES = read_yaml(Path(__file__).parent / "fixtures" / "hosts-3-node.yaml")
CATALOG = load_catalog(CATALOG_FILE)


def _data(change: dict[str, Any] | None = None) -> dict[str, Any]:
    data = merged(read_yaml(ROOT / "config" / "prod.yaml"), copy.deepcopy(THREE_NODES))
    result: dict[str, Any] = merged(data, change) if change else data
    return result


def _problems(data: dict[str, Any]) -> list[str]:
    environment = parse_environment(data, source="prod.yaml")
    sources = Sources(environment="prod.yaml", catalog=CATALOG.source)
    return [str(problem) for problem in placement_problems(environment, CATALOG, sources)]


def _nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = data["hosts"]["nodes"]
    return nodes


def test_the_three_node_fixture_has_no_problems() -> None:
    assert _problems(_data()) == []


@pytest.mark.parametrize(
    ("constraint", "node", "expected"),
    [
        ("node.role==manager", Node(name="a", role="manager"), True),
        ("node.role!=manager", Node(name="a", role="manager"), False),
        ("node.hostname==a", Node(name="a", role="worker"), True),
        (
            "node.labels.sprocket.edge==true",
            Node(name="a", role="worker", labels={"sprocket.edge": "true"}),
            True,
        ),
        ("node.labels.sprocket.edge==true", Node(name="a", role="worker"), False),
        ("node.labels.sprocket.edge!=true", Node(name="a", role="worker"), True),
        ("node.platform.os==linux", Node(name="a", role="worker"), None),
    ],
)
def test_constraints_are_evaluated_as_swarm_does(constraint: str, node: Node, expected: bool | None) -> None:
    assert matches(constraint, node) is expected


def test_a_constraint_config_cannot_know_makes_the_set_unknown() -> None:
    assert eligible(["node.role==manager", "node.id==x"], [Node(name="a", role="manager")]) is None


def _without_label(data: dict[str, Any], label: str) -> dict[str, Any]:
    del _nodes(data)[0]["labels"][label]
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: _without_label(d, "sprocket.edge"),
            "exactly one node must carry the label sprocket.edge=true",
        ),
        (lambda d: _nodes(d)[1].update(labels={"sprocket.volumes": "true"}) or d, "sprocket.volumes=true"),
        (lambda d: _nodes(d).pop() and d, "2 managers tolerate no more failures than 1"),
        (lambda d: _nodes(d)[1].update(name="sprocket-prod-1") or d, "node names must be unique"),
        (
            lambda d: [n.update(role="worker") for n in _nodes(d)] and d,
            "at least one node must have role 'manager'",
        ),
        (lambda d: d["hosts"]["provision"].update(admin_cidrs=["0.0.0.0/0"]) or d, "SSH from anywhere"),
        (
            lambda d: d["hosts"]["provision"].update(ssh_keys=["not a key!"]) or d,
            "hosts.provision.droplets.ssh_keys",
        ),
    ],
)
def test_fails_when_the_hosts_section_cannot_work(mutate: Any, message: str) -> None:
    with pytest.raises(ConfigError, match="hosts") as raised:
        parse_environment(mutate(_data()), source="prod.yaml")
    assert message in str(raised.value)
    assert "prod.yaml" in str(raised.value)


def test_fails_when_the_edge_node_is_a_worker() -> None:
    data = _data()
    nodes = _nodes(data)
    nodes[0]["labels"] = {"sprocket.volumes": "true"}
    nodes.append({"name": "edge", "role": "worker", "labels": {"sprocket.edge": "true"}})
    with pytest.raises(ConfigError, match="the edge node 'edge' must be a manager"):
        parse_environment(data, source="prod.yaml")


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (
            {"swarm": {"placement": {"manager": ["node.role==worker"]}}},
            "swarm.placement.manager",
            "managers only",
        ),
        (
            {"swarm": {"placement": {"ingress": ["node.hostname==sprocket-prod-2"]}}},
            "swarm.placement.ingress",
            "does not select 'sprocket-prod-1'",
        ),
        (
            {"swarm": {"placement": {"storage": ["node.role==manager"]}}},
            "swarm.placement.storage",
            "without vault.ha, Vault's data and keys are on one node",
        ),
        ({"hosts": {"spread": {"replicas": 4}}}, "hosts.spread.replicas", "cannot be placed on 3 node(s)"),
        ({"platform": {"replicas": {"discord-bot": 2}}}, "platform.replicas.discord-bot", "must run alone"),
        ({"hosts": {"dns": {"zone": "example.org"}}}, "hosts.dns.zone", "a parent domain"),
        ({"swarm": {"encrypt_overlays": True}}, "swarm.encrypt_overlays", "IPsec ESP"),
    ],
)
def test_fails_when_placement_cannot_be_satisfied(change: dict[str, Any], key: str, message: str) -> None:
    (problem,) = _problems(_data(change))
    assert problem.startswith(f"prod.yaml: {key}: ")
    assert message in problem


def test_an_unlimited_spread_fits_any_node_count() -> None:
    assert _problems(_data({"hosts": {"spread": {"replicas": 5, "max_replicas_per_node": 0}}})) == []


def test_replicas_follow_the_catalog_and_the_spread() -> None:
    environment = parse_environment(_data({"platform": {"replicas": {"web": 3}}}), source="prod.yaml")
    services = CATALOG.services
    assert platform_replicas(environment, "web", services["web"]) == 3  # platform.replicas wins
    assert platform_replicas(environment, "core", services["core"]) == 2
    assert max_replicas_per_node(environment, services["core"]) == 1
    assert runs_alone(services["discord-bot"])
    assert platform_replicas(environment, "discord-bot", services["discord-bot"]) == 1
    assert max_replicas_per_node(environment, services["discord-bot"]) is None
    single = parse_environment(read_yaml(ROOT / "config" / "prod.yaml"), source="prod.yaml")
    assert platform_replicas(single, "core", services["core"]) == services["core"].replicas
    assert max_replicas_per_node(single, services["core"]) is None


def test_a_bad_hosts_section_is_one_line_naming_the_file_and_key(tmp_path: Path) -> None:
    """Through main.py as cdktf runs it: no traceback, exit 1, nothing written."""
    data = _data({"hosts": {"spread": {"replicas": 9}}})
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env={"SPROCKET_ENV": "prod", "SPROCKET_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output
    assert "prod.yaml: hosts.spread.replicas: 9 tasks cannot be placed on 3 node(s)" in output
    assert not (tmp_path / "cdktf.out").exists()


def _ha(vault_labels: list[str | None]) -> dict[str, Any]:
    """prod on the three droplets with a 3-node raft Vault (awskms seal): storage on every manager,
    the named volumes still on one node, Vault node N wherever ``sprocket.vault-node=N`` is."""
    data = _data({"swarm": {"placement": {"storage": ["node.role==manager"]}}})
    # Replaced, not merged: a section of another kind shares no keys with prod's S3/Shamir one.
    data["vault"]["storage"] = {"kind": "raft"}
    data["vault"]["unseal"] = {"kind": "awskms", "region": "us-east-1", "create_key": True}
    data["vault"]["ha"] = {"nodes": 3}
    for node, label in zip(_nodes(data), vault_labels, strict=True):
        if label is not None:
            node.setdefault("labels", {})["sprocket.vault-node"] = label
    return data


def test_vault_ha_on_three_labelled_managers_has_no_problems() -> None:
    assert _problems(_ha(["1", "2", "3"])) == []


def test_fails_when_a_vault_node_label_is_missing() -> None:
    (problem,) = _problems(_ha(["1", "2", None]))
    assert problem.startswith("prod.yaml: hosts.nodes: Vault node 3 runs where sprocket.vault-node=3")
