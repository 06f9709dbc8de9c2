"""Placement and replicas as Swarm applies and schedules them, on the e2e's one-node Swarm.

The stack here is built from the same pieces the real stacks use (``SwarmService``, ``NodeLabels`` and
the rules of ``sprocket_infra/placement.py``) for ``local`` with a ``hosts`` section naming this node;
the DigitalOcean parts (droplets, firewall, DNS) need a provider the Go proxy does not serve, so they
are left out. What the engines answer:

* the labels the environment declares are set on the node by the deploy (and a label an operator set by
  hand is left alone), and destroy removes exactly the deploy's;
* Swarm schedules by them: the volume service and Traefik's constraints land on the labelled node, a
  constraint no node satisfies keeps its task pending, and ``max_replicas_per_node`` holds a second task
  of a one-per-node service back on a one-node Swarm (why ``placement_checks`` refuses that config);
* the second plan is empty: constraints, ``max_replicas`` and the labels' ``terraform_data`` read back as
  declared.

No registry is reachable, so every service runs a busybox image imported into the test's dockerd
(tests/e2e/local_image.py): the tasks really start, and "running on the labelled node" is what is read.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack

from sprocket_infra import providers
from sprocket_infra.catalog import CATALOG_FILE, load_catalog
from sprocket_infra.config import Environment
from sprocket_infra.config.load import merged, parse_environment, read_yaml
from sprocket_infra.constructs.node_labels import NodeLabels, NodeLabelsProps
from sprocket_infra.constructs.swarm_service import (
    Healthcheck,
    Resources,
    SwarmService,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.placement import (
    edge_placement,
    max_replicas_per_node,
    platform_replicas,
    volume_placement,
)
from tests.e2e.engine import Deployment
from tests.e2e.local_image import BUSYBOX, IMAGE, import_busybox
from tests.e2e.swarm import Swarm
from tests.integration.processes import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STACK = "placement"
LABELS = {"sprocket.edge": "true", "sprocket.volumes": "true"}
OPERATOR_LABEL = {"operator.note": "kept"}
SCHEDULE_WAIT_S = 120.0


def e2e_environment(node: str) -> Environment:
    """``local`` with its one node declared: both labels on it, apps spread two per node."""
    data = read_yaml(ROOT / "config" / "local.yaml")
    domain = data["routing"]["domain"]
    hosts = {
        "provision": {"kind": "existing-hosts", "edge_address": "198.51.100.20"},
        "nodes": [{"name": node, "role": "manager", "labels": LABELS}],
        "dns": {"zone": domain},
        "spread": {"replicas": 2, "max_replicas_per_node": 2},
    }
    return parse_environment(merged(data, {"hosts": hosts}), source="config/local.yaml + hosts")


def _service(scope: TerraformStack, name: str, **props: Any) -> None:
    SwarmService(
        scope,
        name,
        SwarmServiceProps(
            name=name,
            image=IMAGE,
            healthcheck=Healthcheck(test=("CMD", BUSYBOX, "true"), interval_s=5, start_period_s=0),
            resources=Resources(cpus=0.1, memory_mib=32),
            networks=[],
            **props,
        ),
    )


def synth(environment: Environment, outdir: Path) -> None:
    assert environment.hosts is not None
    catalog = load_catalog(CATALOG_FILE)
    core = catalog.services["core"]
    app = App(outdir=str(outdir))
    stack = TerraformStack(app, STACK)
    providers.docker_provider(stack)
    NodeLabels(stack, "labels", NodeLabelsProps(nodes=environment.hosts.nodes))
    _service(
        stack,
        "e2e-volume",
        placement=volume_placement(environment),
        mounts=[VolumeMount(source="e2e-volume-data", target="/data")],
        stateful=True,
    )
    _service(stack, "e2e-edge", placement=edge_placement(environment))
    _service(
        stack,
        "e2e-spread",
        replicas=platform_replicas(environment, "core", core),
        max_replicas_per_node=max_replicas_per_node(environment, core),
    )
    _service(stack, "e2e-over-limit", replicas=2, max_replicas_per_node=1)
    _service(stack, "e2e-unlabelled", placement=["node.labels.sprocket.absent==true"])
    app.synth()


@dataclass(frozen=True)
class Task:
    slot: int
    node: str
    state: str
    error: str


def tasks(swarm: Swarm, service: str) -> list[Task]:
    ids = swarm.docker("service", "ps", "--quiet", "--no-trunc", service).split()
    if not ids:
        return []
    found: list[dict[str, Any]] = json.loads(swarm.docker("inspect", *ids))
    return [
        Task(
            slot=int(item.get("Slot", 0)),
            node=str(item.get("NodeID", "")),
            state=str(item["Status"]["State"]),
            error=str(item["Status"].get("Err", "")),
        )
        for item in found
    ]


def running_slots(swarm: Swarm, service: str, node_id: str) -> set[int]:
    """Slots with a task running on ``node_id`` now."""
    return {task.slot for task in tasks(swarm, service) if task.node == node_id and task.state == "running"}


def pending(swarm: Swarm, service: str, reason: str) -> list[Task]:
    return [t for t in tasks(swarm, service) if t.state == "pending" and not t.node and reason in t.error]


@pytest.fixture(scope="module")
def deployed(swarm: Swarm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    swarm.label_node(OPERATOR_LABEL)
    import_busybox(swarm)
    deployment = Deployment(
        environment="local",
        workdir=tmp_path_factory.mktemp("placement"),
        credentials={"DOCKER_HOST": swarm.host},
    )
    synth(e2e_environment(swarm.node()["Description"]["Hostname"]), deployment.outdir)
    deployment.tofu(STACK, "init", "-input=false")
    deployment.tofu(STACK, "apply", "-input=false", "-auto-approve")
    yield deployment
    if not deployment.destroyed:
        deployment.tofu(STACK, "destroy", "-input=false", "-auto-approve")


def test_the_deploy_sets_the_declared_labels_beside_the_operators(deployed: Deployment, swarm: Swarm) -> None:
    assert swarm.node_labels() == {**LABELS, **OPERATOR_LABEL}


def test_swarm_keeps_the_placement_we_declared(deployed: Deployment, swarm: Swarm) -> None:
    live = swarm.inspect("service", ["e2e-volume", "e2e-edge", "e2e-spread", "e2e-over-limit"])
    placement = {name: item["Spec"]["TaskTemplate"].get("Placement", {}) for name, item in live.items()}
    # Swarm keeps constraints sorted, as a set; the provider compares them as one (the plan stays empty).
    assert sorted(placement["e2e-volume"]["Constraints"]) == [
        "node.labels.sprocket.volumes==true",
        "node.role==manager",
    ]
    assert sorted(placement["e2e-edge"]["Constraints"]) == [
        "node.labels.sprocket.edge==true",
        "node.role==manager",
    ]
    assert placement["e2e-spread"].get("MaxReplicas") == 2
    assert live["e2e-spread"]["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
    assert placement["e2e-over-limit"].get("MaxReplicas") == 1


def _wait(swarm: Swarm, check: Callable[[], bool], what: str, service: str) -> None:
    try:
        wait_until(check, timeout_s=SCHEDULE_WAIT_S, what=what, interval_s=1.0)
    except TimeoutError as error:
        raise AssertionError(f"{error}; tasks of {service}: {tasks(swarm, service)}") from None


def _running_exactly(swarm: Swarm, service: str, node_id: str, slots: set[int]) -> bool:
    return running_slots(swarm, service, node_id) == slots


def test_swarm_schedules_by_the_labels_and_the_per_node_limit(deployed: Deployment, swarm: Swarm) -> None:
    node_id = str(swarm.node()["ID"])
    for service, slots in (("e2e-volume", {1}), ("e2e-edge", {1}), ("e2e-spread", {1, 2})):
        _wait(
            swarm,
            functools.partial(_running_exactly, swarm, service, node_id, slots),
            f"{service}'s tasks to run on the labelled node",
            service,
        )
    _wait(
        swarm,
        lambda: bool(pending(swarm, "e2e-unlabelled", "no suitable node")),
        "the unsatisfiable constraint's task to stay pending",
        "e2e-unlabelled",
    )
    assert running_slots(swarm, "e2e-unlabelled", node_id) == set()
    _wait(
        swarm,
        lambda: (
            len(running_slots(swarm, "e2e-over-limit", node_id)) == 1
            and bool(pending(swarm, "e2e-over-limit", "max replicas per node"))
        ),
        # Swarm picks which slot runs; either one does, the other waits for a second node.
        "one task of a one-per-node service running, the other waiting for another node",
        "e2e-over-limit",
    )
    assert len(running_slots(swarm, "e2e-over-limit", node_id)) == 1


def test_the_second_plan_is_empty(deployed: Deployment) -> None:
    assert deployed.plan(STACK) == {}


def test_destroy_removes_only_the_deploys_labels(deployed: Deployment, swarm: Swarm) -> None:
    deployed.tofu(STACK, "destroy", "-input=false", "-auto-approve")
    deployed.destroyed = True
    assert swarm.node_labels() == OPERATOR_LABEL
    assert not swarm.names("service") & {
        "e2e-volume",
        "e2e-edge",
        "e2e-spread",
        "e2e-over-limit",
        "e2e-unlabelled",
    }
