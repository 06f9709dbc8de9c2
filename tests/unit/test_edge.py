"""The routing object: rules checked, one owner per host across stacks, stable addresses, Gatus fed by it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import cdktf
import pytest
import yaml
from cdktf import App, TerraformStack

from sprocket_infra.app import build_app
from sprocket_infra.catalog import CATALOG_FILE, parse_catalog
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import CONFIG_DIR, load_environment
from sprocket_infra.constructs.edge import EdgeNetwork, Routing, RoutingError
from sprocket_infra.constructs.observability.gatus import CONFIG_DIR as CONFIG_DIR_IN_GATUS
from sprocket_infra.constructs.swarm_service import Healthcheck, Resources, SwarmServiceProps
from sprocket_infra.routing import HttpRoute, TcpRoute
from tests.conftest import Stacks, read_stacks
from tests.synth_json import mounted_file, services
from tests.unit.test_addresses import addresses

REPO = Path(__file__).resolve().parents[2]
ENDPOINTS_FILE = f"{CONFIG_DIR_IN_GATUS}/endpoints.yaml"


class _Network:
    def __init__(self, name: str) -> None:
        self.name = name
        self.id = f"id-of-{name}"


def _routing() -> tuple[Routing, TerraformStack]:
    stack = TerraformStack(App(), "layer2")
    edges = [
        EdgeNetwork(key=key, name=f"{key}-edge", network=_Network(f"{key}-edge"), subnet=subnet)
        for slot, key in enumerate(("n8n", "hooks", "ui", "bolt", "other", "a", "b", "routed"), start=1)
        for subnet in (IPv4Network(f"10.240.{slot}.0/24"),)
    ]
    return Routing(environment=load_environment("local"), edges=edges, source="config/local.yaml"), stack


def _service(name: str) -> SwarmServiceProps:
    return SwarmServiceProps(
        name=name,
        image="busybox:1.37",
        healthcheck=Healthcheck(test=("NONE",)),
        resources=Resources(cpus=0.1, memory_mib=16),
        networks=[],
    )


def _http(name: str, host: str, path_prefix: str | None = None) -> HttpRoute:
    return HttpRoute(name=name, hosts=(host,), port=80, path_prefix=path_prefix)


def test_a_rule_the_environment_does_not_define_is_refused() -> None:
    routing, _ = _routing()
    assert routing.middleware("SprocketStaff") == "auth-sprocketstaff"
    with pytest.raises(
        RoutingError, match=r"config/local.yaml: layer2.forward_auth.rules: no rule named 'Nobody'"
    ):
        routing.middleware("Nobody")


def test_one_owner_per_host_unless_the_path_prefix_differs() -> None:
    routing, stack = _routing()
    routing.route(stack, "n8n", _service("n8n"), [_http("n8n", "n8n.localhost")])
    routing.route(stack, "hooks", _service("hooks"), [_http("hooks", "n8n.localhost", "/webhook")])
    with pytest.raises(RoutingError, match=r"host 'n8n.localhost' is already routed by layer2: .*/n8n"):
        routing.route(stack, "other", _service("other"), [_http("other", "n8n.localhost")])
    assert [recorded.route.name for recorded in routing.routes] == ["n8n", "hooks"]


def test_a_tcp_router_takes_its_whole_host() -> None:
    routing, stack = _routing()
    routing.route(stack, "ui", _service("ui"), [_http("ui", "neo4j.localhost", "/browser")])
    with pytest.raises(RoutingError, match=r"neo4j\.localhost"):
        routing.route(
            stack, "bolt", _service("bolt"), [TcpRoute(name="bolt", hosts=("neo4j.localhost",), port=7687)]
        )


def test_a_router_name_is_used_once() -> None:
    routing, stack = _routing()
    routing.route(stack, "a", _service("a"), [_http("web", "a.localhost")])
    with pytest.raises(RoutingError, match="router name 'web' is already used"):
        routing.route(stack, "b", _service("b"), [_http("web", "b.localhost")])


def test_a_service_keeps_its_address_when_it_gets_a_first_route() -> None:
    routing, stack = _routing()
    bare = routing.route(stack, "plain", _service("plain"))
    routed = routing.route(stack, "routed", _service("routed"), [_http("routed", "routed.localhost")])
    assert (
        bare.node.path.removeprefix("layer2/plain")
        == routed.node.path.removeprefix("layer2/routed")
        == "/swarm"
    )


def test_a_routed_service_joins_only_its_own_edge_network() -> None:
    routing, stack = _routing()
    service = _service("n8n")
    routing.route(
        stack, "n8n", replace(service, networks=[_Network("data")]), [_http("n8n", "n8n.localhost")]
    )
    (body,) = _synth(stack).values()
    assert body["task_spec"]["networks_advanced"] == [{"id": "id-of-n8n-edge"}, {"id": "id-of-data"}]
    labels = {item["label"]: item["value"] for item in body["labels"]}
    assert labels["traefik.swarm.network"] == "n8n-edge"
    assert routing.edge_subnet("n8n") == "10.240.1.0/24"


def test_fails_when_a_routed_service_has_no_edge_network() -> None:
    routing, stack = _routing()
    with pytest.raises(RoutingError, match=r"service 'grafana' is routed but has no edge network"):
        routing.route(stack, "grafana", _service("grafana"), [_http("grafana", "grafana.localhost")])
    assert routing.routes == (), "a refused route claims no host"


def test_traefik_joins_every_edge_network() -> None:
    routing, stack = _routing()
    dashboard = HttpRoute(name="dash", hosts=("traefik.localhost",), port=8082, service="api@internal")
    routing.route(stack, "traefik", _service("traefik"), [dashboard])
    (body,) = _synth(stack).values()
    assert [item["id"] for item in body["task_spec"]["networks_advanced"]] == [
        f"id-of-{key}-edge" for key in routing.edges
    ]


def _synth(stack: TerraformStack) -> dict[str, Any]:
    return dict(json.loads(cdktf.Testing.synth(stack))["resource"]["docker_service"])


def _catalog_with(key: str, entry: dict[str, Any]) -> Any:
    data = yaml.safe_load(CATALOG_FILE.read_text())
    data["services"][key] = entry
    return parse_catalog(data, source="catalog.yaml", vocabulary=default_vocabulary())


NEW_APP = {
    "description": "League status board.",
    "repository": "standings",
    "port": 3000,
    "routes": [{"subdomain": "standings"}],
    "healthcheck": {"http": "/"},
}


def test_adding_an_app_changes_only_the_platform_stack(
    tmp_path: Path, synth_stacks: Callable[[str], Stacks]
) -> None:
    """Gatus lives with the platform, so a new app neither touches layer1/layer2 nor goes unchecked."""
    build_app(
        load_environment("local"), catalog=_catalog_with("standings", NEW_APP), outdir=str(tmp_path)
    ).synth()
    before, after = synth_stacks("local"), read_stacks(tmp_path)
    assert after["layer1"] == before["layer1"]
    assert after["layer2"] == before["layer2"]
    new = set(addresses(after["platform"])) - set(addresses(before["platform"]))
    assert new
    assert all("standings" in address for address in new)
    endpoints = mounted_file(after["platform"], services(after["platform"])["gatus"], ENDPOINTS_FILE)
    assert "standings.localhost" in endpoints


def test_a_catalog_entry_on_a_layer2_host_fails_the_build() -> None:
    catalog = _catalog_with("dashboards", NEW_APP | {"routes": [{"subdomain": "grafana"}]})
    with pytest.raises(RoutingError) as error:
        build_app(load_environment("local"), catalog=catalog)
    message = str(error.value)
    assert message.startswith("catalog.yaml: services.dashboards.routes: host 'grafana.localhost'")
    assert "layer2: layer2/grafana" in message


def test_main_reports_an_undefined_rule_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """A rule only a layer2 construct uses (the catalog's own check can't see it) removed from local."""
    data = yaml.safe_load((CONFIG_DIR / "local.yaml").read_text())
    rules = [rule.model_dump(mode="json") for rule in load_environment("local").layer2.forward_auth.rules]
    data.setdefault("layer2", {}).setdefault("forward_auth", {})["rules"] = [
        rule for rule in rules if rule["name"] != "SprocketStaff"
    ]
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "local.yaml").write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, str(REPO / "main.py")],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "SPROCKET_CONFIG_DIR": str(config_dir), "SPROCKET_ENV": "local"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"error: {config_dir / 'local.yaml'}: layer2.forward_auth.rules: no rule named 'SprocketStaff'"
    )
    assert not list((tmp_path / "cdktf.out").rglob("*.json"))  # cdktf makes the empty directory only
