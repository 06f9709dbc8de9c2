"""Vault HA as synthesized: three OpenBao raft nodes auto-unsealed by a fourth OpenBao's transit engine,
each started by our entrypoint from its synthesized ``vault.hcl`` (see ``vault_cluster.py`` for how the
files are laid out on loopback).

One cluster serves the module; every test leaves it with three unsealed voters, and starts by checking
that. Timeouts are generous upper bounds for a loaded machine, never assertions about speed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from sprocket_infra.app import build_app
from tests.conftest import Stacks, read_stacks
from tests.integration.processes import wait_until
from tests.integration.vault_cluster import (
    ClusterNode,
    TransitServer,
    adapted_nodes,
    bao,
    ok,
    running_cluster,
    running_transit,
    transit_token,
    unsealed_via_entrypoint,
)
from tests.unit.vault_variants import HA_TRANSIT, with_vault

pytestmark = pytest.mark.integration

START_S = 180.0
"""Upper bound for a node to come up (join, unseal) on a loaded 2-core machine."""
SECRET_PATH = "secret/failover-probe"


@pytest.fixture(scope="module")
def ha_stacks(tmp_path_factory: pytest.TempPathFactory) -> Stacks:
    outdir = tmp_path_factory.mktemp("synth-ha-transit")
    build_app(with_vault("local", HA_TRANSIT), outdir=str(outdir)).synth()
    return read_stacks(outdir)


class Cluster:
    """The running cluster and its transit server, with the checks every test shares."""

    def __init__(self, transit: TransitServer, nodes: list[ClusterNode]) -> None:
        self.transit = transit
        self.nodes = nodes

    @property
    def root_token(self) -> str:
        return (self.nodes[0].keys_dir / "root-token").read_text().strip()

    def active(self, among: list[ClusterNode] | None = None) -> ClusterNode:
        """The node raft elected, once exactly one of ``among`` (default: all running) says it leads."""
        candidates = among if among is not None else [n for n in self.nodes if n.process is not None]
        found: list[ClusterNode] = []

        def one_leads() -> bool:
            found[:] = [node for node in candidates if node.is_active()]
            return len(found) == 1

        wait_until(one_leads, timeout_s=START_S, what="one active node", interval_s=0.5)
        return found[0]

    def voters(self) -> set[str]:
        out = ok(
            bao(self.active().addr, "operator", "raft", "list-peers", "-format=json", token=self.root_token)
        )
        return {s["node_id"] for s in json.loads(out)["data"]["config"]["servers"] if s["voter"]}

    def wait_healthy(self) -> None:
        for node in self.nodes:
            wait_until(node.unsealed, timeout_s=START_S, what=f"{node.name} unsealed", interval_s=0.5)
        seen: list[set[str]] = [set()]

        def three_voters() -> bool:
            seen[0] = self.voters()
            return seen[0] == {"vault", "vault-2", "vault-3"}

        try:
            wait_until(three_voters, timeout_s=START_S, what="three raft voters", interval_s=0.5)
        except TimeoutError as error:
            raise AssertionError(f"{error}; last seen voters: {sorted(seen[0])}") from None

    def ensure_kv(self) -> None:
        """A KV v2 engine at ``secret/`` for the probes, whichever test runs first."""
        active = self.active()
        mounts = json.loads(ok(bao(active.addr, "secrets", "list", "-format=json", token=self.root_token)))
        if "secret/" not in mounts:
            ok(bao(active.addr, "secrets", "enable", "-path=secret", "kv-v2", token=self.root_token))

    def read_probe(self, node: ClusterNode) -> str:
        out = ok(bao(node.addr, "kv", "get", "-field=value", SECRET_PATH, token=self.root_token))
        return out.strip()


def unsealed_or_exited(node: ClusterNode) -> bool:
    """Stop waiting once the node is unsealed, or its entrypoint gave up (the assert then shows why)."""
    return unsealed_via_entrypoint(node) or node.process is None or not node.process.running()


@pytest.fixture(scope="module")
def cluster(ha_stacks: Stacks, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root: Path = tmp_path_factory.mktemp("vault-cluster")
    with running_transit(root / "transit") as transit:
        transit.start()
        nodes = adapted_nodes(ha_stacks, root, transit.addr)
        transit.prepare(transit_token(nodes))
        with running_cluster(nodes):
            for node in nodes:
                node.start()
            for node in nodes:
                wait_until(
                    partial(unsealed_or_exited, node),
                    timeout_s=START_S,
                    what=f"{node.name} to unseal",
                    interval_s=0.5,
                )
                assert unsealed_via_entrypoint(node), node.output()
            running = Cluster(transit, nodes)
            running.wait_healthy()
            yield running


def test_first_start_initializes_once_with_recovery_keys_and_nothing_that_unseals(cluster: Cluster) -> None:
    first, *joiners = cluster.nodes
    assert sorted(p.name for p in first.keys_dir.iterdir()) == [
        "cluster-initialized",
        "recovery-keys",
        "root-token",
    ]
    assert len((first.keys_dir / "recovery-keys").read_text().split()) == 5
    assert "initialized with 5 recovery key shares, threshold 3" in first.output()
    for node in joiners:
        assert sorted(p.name for p in node.keys_dir.iterdir()) == ["cluster-initialized"]
        assert "initialized with" not in node.output()
        assert "waiting for" in node.output()
        assert "to join its cluster through retry_join" in node.output()
    for node in cluster.nodes:
        status = node.seal_status()
        assert status["type"] == "transit", status
        assert status["recovery_seal"] is True, status
        # The audit device (stdout) records every request: none ever went to sys/unseal.
        assert '"path":"sys/unseal"' not in node.output()
        script_lines = [line for line in node.output().splitlines() if line.startswith("init-unseal:")]
        assert not [line for line in script_lines if "unseal key" in line or "error" in line], script_lines


def test_leader_killed_new_leader_serves_data_and_the_node_rejoins_unsealed(cluster: Cluster) -> None:
    cluster.wait_healthy()
    root = cluster.root_token
    cluster.ensure_kv()
    leader = cluster.active()
    ok(bao(leader.addr, "kv", "put", SECRET_PATH, "value=written-before-failover", token=root))

    leader.kill()
    survivors = [node for node in cluster.nodes if node is not leader]
    new_leader = cluster.active(among=survivors)
    assert new_leader is not leader
    assert cluster.read_probe(new_leader) == "written-before-failover"
    ok(bao(new_leader.addr, "kv", "put", SECRET_PATH, "value=written-after-failover", token=root))

    leader.start()
    wait_until(lambda: unsealed_via_entrypoint(leader), timeout_s=START_S, what="the killed node to unseal")
    cluster.wait_healthy()
    assert "initialized with" not in leader.output()
    assert cluster.read_probe(leader) == "written-after-failover"


def test_transit_server_restart_leaves_the_cluster_serving_and_nodes_still_unseal(cluster: Cluster) -> None:
    cluster.wait_healthy()
    cluster.ensure_kv()
    cluster.transit.stop()
    cluster.transit.start()
    active = cluster.active()
    ok(
        bao(
            active.addr,
            "kv",
            "put",
            SECRET_PATH,
            "value=written-across-transit-restart",
            token=cluster.root_token,
        )
    )
    restarted = next(node for node in cluster.nodes if node is not active)
    restarted.stop()
    restarted.start()
    wait_until(lambda: unsealed_via_entrypoint(restarted), timeout_s=START_S, what="restarted node to unseal")
    cluster.wait_healthy()
    assert cluster.read_probe(restarted) == "written-across-transit-restart"


def test_node_whose_seal_is_unreachable_fails_naming_the_seal(cluster: Cluster) -> None:
    cluster.wait_healthy()
    victim = next(node for node in cluster.nodes if node is not cluster.active())
    victim.stop()
    cluster.transit.stop()
    try:
        process = victim.start(VAULT_JOIN_WAIT_SECONDS="15")
        assert process.popen is not None
        code = process.popen.wait(timeout=START_S)
        output = process.output()
        assert code != 0, output
        assert f"the transit seal (at {cluster.transit.addr} key sprocket-vault-seal)" in output, output
        assert "init-unseal: unsealed" not in output
        victim.process = None
    finally:
        cluster.transit.start()
    victim.start()
    wait_until(lambda: unsealed_via_entrypoint(victim), timeout_s=START_S, what="the node to unseal again")
    cluster.wait_healthy()
