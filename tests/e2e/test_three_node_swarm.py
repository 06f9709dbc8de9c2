"""Placement on a real three-manager Swarm (tests/e2e/netns_swarm.py), and a manager killed by PID.

The constraints and spread come from ``sprocket_infra/placement.py`` for prod on the three-node fixture
(tests/unit/fixtures/hosts-3-node.yaml), applied with the Docker CLI (the deploy's own path is shown on
one node by test_placement_on_swarm.py); the busybox image is imported into every engine, so tasks run.
What the engines answer: the volume service runs on the one labelled node; a spread service's tasks each
run on a different node; with one manager SIGKILLed the other two keep quorum (a new service is
scheduled and runs) and the dead node's spread task waits rather than doubling up on a live node.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sprocket_infra.catalog import CATALOG_FILE, load_catalog
from sprocket_infra.config.load import merged, parse_environment, read_yaml
from sprocket_infra.placement import max_replicas_per_node, platform_replicas, volume_placement
from tests.e2e.local_image import IMAGE, import_busybox
from tests.e2e.netns_swarm import Member, three_node_swarm
from tests.integration.processes import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE_WAIT_S = 120.0
KILL_WAIT_S = 30.0
ENVIRONMENT = parse_environment(
    merged(
        read_yaml(ROOT / "config" / "prod.yaml"), read_yaml(ROOT / "tests/unit/fixtures/hosts-3-node.yaml")
    ),
    source="config/prod.yaml + tests/unit/fixtures/hosts-3-node.yaml",
)
CORE = load_catalog(CATALOG_FILE).services["core"]
SPREAD_REPLICAS = 3
"""One task per node on three nodes: more than the fixture's 2, so every node holds one."""


@pytest.fixture(scope="module")
def members() -> Iterator[list[Member]]:
    with three_node_swarm() as started:
        hosts = ENVIRONMENT.hosts
        assert hosts is not None
        by_name = dict(zip((node.name for node in hosts.nodes), started, strict=True))
        leader = started[0].swarm
        for node in hosts.nodes:
            if node.labels:
                flags = [
                    f for key, value in sorted(node.labels.items()) for f in ("--label-add", f"{key}={value}")
                ]
                leader.docker("node", "update", *flags, by_name[node.name].node_id)
        for member in started:
            import_busybox(member.swarm)
        yield started


def running_on(member: Member, service: str) -> list[str]:
    ids = member.swarm.docker("service", "ps", "--quiet", "--no-trunc", service).split()
    found = json.loads(member.swarm.docker("inspect", *ids)) if ids else []
    return [task["NodeID"] for task in found if task["Status"]["State"] == "running"]


def _create(member: Member, name: str, *flags: str) -> None:
    member.swarm.docker("service", "create", "--detach", "--name", name, *flags, IMAGE)


def test_three_managers_joined_over_their_own_addresses(members: list[Member]) -> None:
    nodes = json.loads(members[0].swarm.docker("node", "inspect", *(m.node_id for m in members)))
    assert sorted(node["Status"]["Addr"] for node in nodes) == ["10.17.0.1", "10.17.0.2", "10.17.0.3"]
    assert {node["ManagerStatus"]["Reachability"] for node in nodes} == {"reachable"}


def test_swarm_schedules_where_placement_says(members: list[Member]) -> None:
    leader = members[0]
    constraints = [part for c in volume_placement(ENVIRONMENT) for part in ("--constraint", c)]
    _create(leader, "volumes", *constraints)
    limit = max_replicas_per_node(ENVIRONMENT, CORE)
    assert (platform_replicas(ENVIRONMENT, "core", CORE), limit) == (2, 1)
    _create(leader, "spread", "--replicas", str(SPREAD_REPLICAS), "--replicas-max-per-node", str(limit))
    volumes_node = members[0].node_id  # sprocket-prod-1 carries sprocket.volumes=true in the fixture
    wait_until(
        lambda: (
            running_on(leader, "volumes") == [volumes_node]
            and sorted(running_on(leader, "spread")) == sorted(m.node_id for m in members)
        ),
        timeout_s=SCHEDULE_WAIT_S,
        what="the volume service on the labelled node and one spread task per node",
        interval_s=1.0,
    )


def test_a_killed_manager_leaves_quorum_and_no_doubled_task(members: list[Member]) -> None:
    leader, victim = members[0], members[2]
    victim_id = victim.node_id
    os.kill(victim.swarm.process.pid, signal.SIGKILL)
    assert victim.swarm.process.popen is not None
    victim.swarm.process.popen.wait(timeout=KILL_WAIT_S)
    wait_until(
        lambda: (
            json.loads(leader.swarm.docker("node", "inspect", victim_id))[0]["ManagerStatus"]["Reachability"]
            == "unreachable"
        ),
        timeout_s=SCHEDULE_WAIT_S,
        what="the killed manager to be unreachable",
        interval_s=1.0,
    )
    _create(leader, "after-kill")  # needs a raft majority: 2 of 3 managers
    live = {leader.node_id, members[1].node_id}
    wait_until(
        lambda: len(running_on(leader, "after-kill")) == 1 and set(running_on(leader, "after-kill")) <= live,
        timeout_s=SCHEDULE_WAIT_S,
        what="a service created after the kill to run on a live node",
        interval_s=1.0,
    )
    spread_live = [node for node in running_on(leader, "spread") if node in live]
    assert sorted(spread_live) == sorted(live)  # one each, never two on one node
