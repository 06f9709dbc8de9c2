"""``sprocket-infra diagram``: everything the stacks synthesize is drawn, and the drawing parses."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

import pytest
from cdktf_cdktf_provider_docker.network import Network as DockerNetwork
from typer.testing import CliRunner

from sprocket_infra.app import load_inputs
from sprocket_infra.cli import app
from sprocket_infra.ops.diagram import Architecture, architecture, dot, mermaid
from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import resources, service_labels, services
from tools.readme_diagram import README, embedded

_HOST = re.compile(r"Host(?:SNI)?\(`([^`]+)`\)")


@pytest.fixture(scope="module")
def drawn() -> dict[str, Architecture]:
    return {env: architecture(load_inputs(env).environment, load_inputs(env).catalog) for env in ENVIRONMENTS}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_synthesized_service_network_and_route_is_drawn(
    synth_stacks: Callable[[str], Stacks], drawn: dict[str, Architecture], environment: str
) -> None:
    text = mermaid(drawn[environment])
    stacks = synth_stacks(environment)
    for stack_name, stack in stacks.items():
        assert f"subgraph {stack_name}" in text
        for body in services(stack).values():
            assert f'["{body["name"]}"]' in text, body["name"]
            for label, value in service_labels(body).items():
                if label.endswith(".rule"):
                    for host in _HOST.findall(value):
                        assert host in text, f"{body['name']}: {host}"
        for network in resources(stack, DockerNetwork.TF_RESOURCE_TYPE).values():
            assert f'(["{network["name"]}"])' in text, network["name"]
    edges = text.count("traefik_edge --")
    assert edges == len(drawn[environment].routes) > 0


def test_services_are_joined_to_their_overlays_and_admin_uis_show_their_rule(
    drawn: dict[str, Architecture],
) -> None:
    text = mermaid(drawn["local"])
    assert "svc_traefik --- net_vault_edge" in text
    assert "svc_vault --- net_vault_edge" in text
    assert "svc_telegraf --- net_docker_socket_proxy_telegraf" in text
    assert re.search(r'traefik_edge -- "grafana\.localhost \[auth-sprocketstaff\]" --> svc_grafana', text)


def test_prod_shows_its_cloud_parts(drawn: dict[str, Architecture]) -> None:
    assert "Spaces bucket sprocket-vault-storage" in drawn["prod"].external
    assert "ACME CA (production)" in drawn["prod"].external
    assert drawn["local"].external == ()


def test_graphviz_renders_the_dot_and_the_cli_writes_svg(drawn: dict[str, Architecture]) -> None:
    graphviz = shutil.which("dot")
    assert graphviz, "Graphviz's dot is a test dependency (tools/debian-packages.txt)"
    done = subprocess.run(
        [graphviz, "-Tsvg"], input=dot(drawn["prod"]), capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout
    assert "prod&#45;web" in done.stdout  # SVG escapes the hyphen
    result = CliRunner().invoke(app, ["diagram", "--env", "local", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert "<svg" in result.output


def test_an_unknown_format_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["diagram", "--format", "png"])
    assert result.exit_code == 2
    assert "expected mermaid, dot or svg" in result.output


def test_the_readme_shows_the_current_diagram(drawn: dict[str, Architecture]) -> None:
    assert embedded(README.read_text()) == mermaid(drawn["local"]), "README's diagram is stale: make diagram"
