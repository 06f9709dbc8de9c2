"""prod on three droplets (tests/unit/fixtures/hosts-3-node.yaml merged over config/prod.yaml), and prod
on today's hand-made node with only DNS managed: the JSON of hosts, firewall, DNS and placement.

``tofu validate`` cannot check the DigitalOcean resources here (no provider build, ADR 0005), so their
arguments are checked against the prebuilt binding's schema (tests/unit/digitalocean_schema.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.app import build_app
from sprocket_infra.catalog import CATALOG_FILE, load_catalog
from sprocket_infra.config import Environment
from sprocket_infra.config.load import merged, parse_environment, read_yaml
from sprocket_infra.constructs.swarm_hosts import ANYWHERE
from sprocket_infra.placement import runs_alone
from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import Stacks, read_stacks
from tests.synth_json import data_sources, resources, service_labels, services
from tests.traefik_rules import parse_host_sni_rule, parse_http_rule
from tests.unit import digitalocean_schema

ROOT = Path(__file__).resolve().parents[2]
THREE_NODES = Path(__file__).parent / "fixtures" / "hosts-3-node.yaml"
ZONE = "mlesports.gg"
JOIN_TOKEN = "SWMTKN-1-e2etokenthatmustnotbeinthejson-0123456789abcdef"
EDGE_DROPLET = "sprocket-prod-1"


def prod_with(hosts_yaml: dict[str, Any]) -> Environment:
    return parse_environment(merged(read_yaml(ROOT / "config" / "prod.yaml"), hosts_yaml), source="prod.yaml")


def three_nodes() -> Environment:
    return prod_with(read_yaml(THREE_NODES))


EXISTING = {
    "hosts": {
        "provision": {"kind": "existing-hosts", "edge_address": "198.51.100.20"},
        "nodes": [
            {
                "name": "sprocket-1",
                "role": "manager",
                "labels": {"sprocket.edge": "true", "sprocket.volumes": "true"},
            }
        ],
        "dns": {"zone": ZONE},
    }
}


def _synth(environment: Environment, outdir: Path, monkeypatch: pytest.MonkeyPatch) -> Stacks:
    # A token in the deploy environment must still never reach the synthesized files.
    monkeypatch.setenv("TF_VAR_swarm_manager_join_token", JOIN_TOKEN)
    build_app(environment, catalog=load_catalog(CATALOG_FILE), outdir=str(outdir)).synth()
    return read_stacks(outdir)


@pytest.fixture(scope="module")
def droplets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Stacks]]:
    with pytest.MonkeyPatch.context() as patch:
        outdir = tmp_path_factory.mktemp("three-nodes")
        yield outdir, _synth(three_nodes(), outdir, patch)


@pytest.fixture(scope="module")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stacks]:
    with pytest.MonkeyPatch.context() as patch:
        yield _synth(prod_with(EXISTING), tmp_path_factory.mktemp("existing"), patch)


def _by_name(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {body["name"]: body for body in resources(stack, kind).values()}


def _routed_hosts(stacks: Stacks) -> set[str]:
    """Every host any router of any stack matches, read back from the Traefik labels."""
    hosts: set[str] = set()
    for name in STACK_NAMES:
        for service in services(stacks[name]).values():
            for key, value in service_labels(service).items():
                if re.fullmatch(r"traefik\.http\.routers\.[^.]+\.rule", key):
                    hosts |= set(parse_http_rule(value).hosts)
                elif re.fullmatch(r"traefik\.tcp\.routers\.[^.]+\.rule", key):
                    hosts |= set(parse_host_sni_rule(value))
    return hosts


def test_a_droplet_per_node_with_its_size_region_tag_and_keys(droplets: tuple[Path, Stacks]) -> None:
    layer1 = droplets[1]["layer1"]
    found = _by_name(layer1, "digitalocean_droplet")
    assert sorted(found) == ["sprocket-prod-1", "sprocket-prod-2", "sprocket-prod-3"]
    assert [found[name]["size"] for name in sorted(found)] == ["s-4vcpu-8gb", "s-2vcpu-4gb", "s-2vcpu-4gb"]
    lookup = next(iter(data_sources(layer1, "digitalocean_ssh_key")))
    for body in found.values():
        assert body["region"] == "nyc3"
        assert body["tags"] == ["sprocket-swarm"]
        # By fingerprint as written; by name through the team's key of that name.
        assert body["ssh_keys"] == [
            "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa",
            f"${{data.digitalocean_ssh_key.{lookup}.id}}",
        ]
        assert set(body["lifecycle"]["ignore_changes"]) == {"user_data", "image", "ssh_keys"}
    assert data_sources(layer1, "digitalocean_ssh_key")[lookup]["name"] == "maintainers"


def test_the_first_manager_inits_and_the_others_join_it_with_the_token_variable(
    droplets: tuple[Path, Stacks],
) -> None:
    layer1 = droplets[1]["layer1"]
    found = _by_name(layer1, "digitalocean_droplet")
    first_id = next(
        key for key, body in resources(layer1, "digitalocean_droplet").items() if body["name"] == EDGE_DROPLET
    )
    assert "docker swarm init" in found[EDGE_DROPLET]["user_data"]
    assert "var." not in found[EDGE_DROPLET]["user_data"]
    for name in ("sprocket-prod-2", "sprocket-prod-3"):
        user_data = found[name]["user_data"]
        assert user_data.startswith("#cloud-config\n")
        assert "docker.io" in user_data
        assert '--token "${var.swarm_manager_join_token}"' in user_data
        assert f'"${{digitalocean_droplet.{first_id}.ipv4_address_private}}:2377"' in user_data
    variable = layer1["variable"]["swarm_manager_join_token"]
    assert (variable["sensitive"], variable["nullable"], variable.get("default")) == (True, False, None)
    assert "swarm_worker_join_token" not in layer1["variable"]  # no worker joins: none asked for


def test_no_join_token_lands_in_any_synthesized_file(droplets: tuple[Path, Stacks]) -> None:
    outdir = droplets[0]
    written = [path for path in outdir.rglob("*") if path.is_file()]
    assert written
    assert [path for path in written if JOIN_TOKEN in path.read_text(errors="replace")] == []


def test_the_firewall_opens_only_the_web_to_everyone(droplets: tuple[Path, Stacks]) -> None:
    (firewall,) = resources(droplets[1]["layer1"], "digitalocean_firewall").values()
    assert (firewall["name"], firewall["tags"]) == ("prod-swarm", ["sprocket-swarm"])
    rules = {
        (rule["protocol"], rule["port_range"]): (
            tuple(rule.get("source_addresses", ())),
            tuple(rule.get("source_tags", ())),
        )
        for rule in firewall["inbound_rule"]
    }
    assert rules == {
        ("tcp", "80"): (ANYWHERE, ()),
        ("tcp", "443"): (ANYWHERE, ()),
        ("tcp", "22"): (("203.0.113.0/28",), ()),
        ("tcp", "2377"): ((), ("sprocket-swarm",)),
        ("tcp", "7946"): ((), ("sprocket-swarm",)),
        ("udp", "7946"): ((), ("sprocket-swarm",)),
        ("udp", "4789"): ((), ("sprocket-swarm",)),
    }
    assert len(firewall["inbound_rule"]) == len(rules)


def test_a_record_for_exactly_the_routed_hosts_pointing_at_the_edge(droplets: tuple[Path, Stacks]) -> None:
    stacks = droplets[1]
    layer1 = stacks["layer1"]
    records = resources(layer1, "digitalocean_record")
    edge_id = next(
        key for key, body in resources(layer1, "digitalocean_droplet").items() if body["name"] == EDGE_DROPLET
    )
    published = {f"{body['name']}.{ZONE}" if body["name"] != "@" else ZONE for body in records.values()}
    routed = _routed_hosts(stacks)
    assert published == {host for host in routed if host.endswith(f".{ZONE}")} == routed
    assert "sprocket.mlesports.gg" in published  # the web app's apex of routing.domain
    for body in records.values():
        assert (body["domain"], body["type"], body["ttl"]) == (ZONE, "A", 300)
        assert body["value"] == f"${{digitalocean_droplet.{edge_id}.ipv4_address}}"


def test_existing_hosts_manage_labels_and_dns_only(existing: Stacks) -> None:
    layer1 = existing["layer1"]
    assert resources(layer1, "digitalocean_droplet") == {}
    assert resources(layer1, "digitalocean_firewall") == {}
    assert "variable" not in layer1 or "swarm_manager_join_token" not in layer1["variable"]
    records = resources(layer1, "digitalocean_record")
    assert {body["value"] for body in records.values()} == {"198.51.100.20"}
    assert {f"{body['name']}.{ZONE}" for body in records.values()} == _routed_hosts(existing)
    (labels,) = resources(layer1, "terraform_data").values()
    assert "depends_on" not in labels
    assert labels["triggers_replace"] == {"labels": {"sprocket.edge": "true", "sprocket.volumes": "true"}}


def test_every_digitalocean_body_fits_the_providers_schema(droplets: tuple[Path, Stacks]) -> None:
    layer1 = droplets[1]["layer1"]
    checked: dict[str, list[str]] = {}
    for kind, fqn in (
        ("digitalocean_droplet", "droplet.DropletConfig"),
        ("digitalocean_firewall", "firewall.FirewallConfig"),
        ("digitalocean_record", "record.RecordConfig"),
    ):
        for key, body in resources(layer1, kind).items():
            checked[key] = digitalocean_schema.problems(body, fqn)
            if kind == "digitalocean_firewall":
                for rule in body["inbound_rule"]:
                    checked[key] += digitalocean_schema.problems(rule, "firewall.FirewallInboundRule")
                for rule in body["outbound_rule"]:
                    checked[key] += digitalocean_schema.problems(rule, "firewall.FirewallOutboundRule")
    for key, body in data_sources(layer1, "digitalocean_ssh_key").items():
        checked[key] = digitalocean_schema.problems(
            body, "dataDigitaloceanSshKey.DataDigitaloceanSshKeyConfig"
        )
    assert len(checked) == 3 + 1 + 14 + 1
    assert {key: found for key, found in checked.items() if found} == {}


def test_the_schema_check_can_fail() -> None:
    assert digitalocean_schema.problems({"name": "x", "sizes": "s-1"}, "droplet.DropletConfig") == [
        "unknown argument sizes",
        "missing required image",
        "missing required size",
    ]


def test_placement_edge_volumes_spread_and_singletons(droplets: tuple[Path, Stacks]) -> None:
    stacks = droplets[1]
    every = {name: body for stack in STACK_NAMES for name, body in services(stacks[stack]).items()}
    assert every["traefik"]["task_spec"]["placement"]["constraints"] == [
        "node.role==manager",
        "node.labels.sprocket.edge==true",
    ]
    for name, body in every.items():
        task = body["task_spec"]
        mounts = task["container_spec"].get("mounts", [])
        volumes = [m for m in mounts if m["type"] == "volume" and not m.get("read_only")]
        # Data volumes follow the volumes label. Traefik's ACME volume is on the edge node (pinned above); a
        # global agent has a volume per node; a read-only volume (Telegraf's disk probe) holds no data.
        if volumes and name != "traefik" and "replicated" in body["mode"]:
            assert task["placement"]["constraints"] == ["node.labels.sprocket.volumes==true"], name
    catalog = load_catalog(CATALOG_FILE)
    for key, entry in catalog.services.items():
        body = every[f"prod-{key}"]
        replicas = body["mode"]["replicated"]["replicas"]
        placement = body["task_spec"]["placement"]
        if runs_alone(entry):
            assert (replicas, placement.get("max_replicas")) == (1, None), key
        else:
            assert (replicas, placement.get("max_replicas")) == (max(2, entry.replicas), 1), key
    assert {key for key, entry in catalog.services.items() if runs_alone(entry)} >= {
        "discord-bot",
        "matchmaking",
        "elo",
    }
