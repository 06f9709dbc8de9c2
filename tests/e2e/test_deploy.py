"""The real deploy: ``local`` and ``lan`` from empty state into a private Swarm and OpenBao, and back.

What each test asks of the engines themselves, never of our reading of the JSON:

* the documented first deploy (the Vault bootstrap trading the root token for vault-admin, then layer1,
  layer2 stopping for the operator's secrets, the secrets bootstrap, layer2, platform, all with the
  vault-admin token) succeeds, and every object in state exists in Swarm / OpenBao with the spec we declared;
* a second plan right after is empty for every stack (anything else is churn on every deploy);
* the change drills: a route change updates one service in place, a rotated credential rolls only its
  consumers, a new catalog service is created and Gatus, beside it, starts checking its host;
* destroy stops at protected Vault mounts, and with the protection lifted leaves Swarm and OpenBao as
  they were before.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from sprocket_infra import naming
from sprocket_infra.catalog import CATALOG_FILE, load_catalog
from sprocket_infra.config import CONFIG_DIR, load_environment
from sprocket_infra.edge_networks import edge_plan
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import read_stacks
from tests.e2e.engine import VENV_BIN, Deployment, progress
from tests.e2e.hardening_checks import live_report
from tests.e2e.network_checks import admin_ports_reachable, edge_problems, read_topology, summary
from tests.e2e.swarm import Swarm
from tests.e2e.vault_admin_checks import bootstrap_vault_admin, vault_admin_problems
from tests.integration.openbao_dev import DevServer, local_client

pytestmark = pytest.mark.e2e

ENVIRONMENTS = ("local", "lan")
SWARM_KINDS = {
    "docker_service": "service",
    "docker_config": "config",
    "docker_secret": "secret",
    "docker_network": "network",
    "docker_volume": "volume",
}


ENGINE_NETWORKS = {"docker_gwbridge"}
"""Made by dockerd itself the first time a task is scheduled on the node; nothing of ours."""


def _swarm_inventory(swarm: Swarm) -> dict[str, set[str]]:
    inventory = {kind: swarm.names(kind) for kind in SWARM_KINDS.values()}
    inventory["network"] -= ENGINE_NETWORKS
    return inventory


def _vault_inventory(openbao: DevServer) -> dict[str, set[str]]:
    client = local_client(openbao.addr, openbao.root_token)
    return {
        "mounts": set(client.sys.list_mounted_secrets_engines()["data"]),
        "auth": set(client.sys.list_auth_methods()["data"]),
        "policies": set(client.sys.list_acl_policies()["data"]["keys"]),
        "audit": set(client.sys.list_enabled_audit_devices()["data"]),
    }


def _bootstrap_values(environment: str) -> dict[str, str]:
    """A made-up value for every operator-provided secret the environment needs (nothing real exists)."""
    return {variable: f"e2e-{variable.lower()}-value" for variable in external_secrets(environment).env_vars}


def first_deploy(deployment: Deployment) -> None:
    """docs/deployment.md's first deployment of an environment, step by step.

    layer2 needs two operator secrets that can only be written once its own Vault mounts exist, so its
    first apply stops at the first read of one; the bootstrap writes them and the full deploy goes on.
    """
    stopped = deployment.cdktf("deploy", "layer1", "layer2", ok_codes=(0, 1))
    if stopped.returncode != 0:
        assert "no secret found" in stopped.stdout, "layer2's first deploy failed for another reason"
    deployment.run(
        [str(VENV_BIN / "sprocket-infra"), "secrets", "bootstrap", "--env", deployment.environment],
        what="secrets bootstrap",
        extra_env=_bootstrap_values(deployment.environment),
    )
    deployment.cdktf("deploy", *STACK_NAMES)


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def deployment(
    request: pytest.FixtureRequest, swarm: Swarm, openbao: DevServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    environment: str = request.param
    deployed = Deployment(
        environment=environment,
        workdir=tmp_path_factory.mktemp(f"deploy-{environment}"),
        credentials={"DOCKER_HOST": swarm.host, "VAULT_ADDR": openbao.addr},
    )
    # The AppRole and the vault-admin policy it makes are the operator's one-time step, not Terraform's:
    # they belong to the baseline destroy returns to.
    identity = bootstrap_vault_admin(deployed, openbao)
    deployed.credentials = {**deployed.credentials, "VAULT_TOKEN": identity.token}
    deployed.baseline = {**_swarm_inventory(swarm), **_vault_inventory(openbao)}
    first_deploy(deployed)
    yield deployed
    if not deployed.destroyed:
        progress(f"{environment}: destroying what a failed test left behind")
        deployed.cdktf("destroy", *STACK_NAMES, extra_env=_unprotected(deployed))


def test_every_docker_object_in_state_exists_in_swarm_as_declared(
    deployment: Deployment, swarm: Swarm
) -> None:
    checked = 0
    synthesized = read_stacks(deployment.outdir)
    for stack in STACK_NAMES:
        declared = synthesized[stack].get("resource", {})
        state = deployment.state_resources(stack)
        for resource_type, kind in SWARM_KINDS.items():
            in_state = {
                address: values
                for address, values in state.items()
                if address.startswith(f"{resource_type}.")
            }
            assert len(in_state) == len(declared.get(resource_type, {})), (
                f"{stack}: {resource_type} not all applied"
            )
            live = swarm.inspect(kind, [values["name"] for values in in_state.values()])
            for address, values in in_state.items():
                assert values["name"] in live, f"{stack}: {address} ({values['name']}) is not in Swarm"
                if resource_type == "docker_service":
                    _assert_service_matches(address, values, live[values["name"]], swarm)
                checked += 1
    assert checked > 0


def _assert_service_matches(address: str, values: dict[str, Any], live: dict[str, Any], swarm: Swarm) -> None:
    """Labels, networks, secrets, configs and mounts as Swarm keeps them, against what state says."""
    spec = live["Spec"]
    labels = {label["label"]: label["value"] for label in values.get("labels") or []}
    assert spec.get("Labels", {}) == labels, f"{address}: service labels differ in Swarm"
    task = values["task_spec"][0]
    container = task["container_spec"][0]
    live_container = spec["TaskTemplate"]["ContainerSpec"]
    assert live_container["Image"].split("@")[0] == container["image"], f"{address}: image"
    assert {s["secret_name"] for s in container.get("secrets") or []} == {
        s["SecretName"] for s in live_container.get("Secrets", [])
    }, f"{address}: secrets"
    assert {c["config_name"] for c in container.get("configs") or []} == {
        c["ConfigName"] for c in live_container.get("Configs", [])
    }, f"{address}: configs"
    assert {m["target"] for m in container.get("mounts") or []} == {
        m["Target"] for m in live_container.get("Mounts", [])
    }, f"{address}: mounts"
    live_networks = {n["Target"] for n in spec["TaskTemplate"].get("Networks", [])}
    declared_networks = {n["id"] for n in task.get("networks_advanced") or []}
    assert live_networks == declared_networks, f"{address}: networks"
    assert all(swarm.docker("network", "inspect", network) for network in live_networks)


def test_openbao_holds_every_mount_policy_and_auth_method(deployment: Deployment, openbao: DevServer) -> None:
    state = deployment.state_resources("layer2")
    live = _vault_inventory(openbao)
    mounts = {v["path"] for a, v in state.items() if a.startswith("vault_mount.")}
    policies = {v["name"] for a, v in state.items() if a.startswith("vault_policy.")}
    roles = {v["role_name"] for a, v in state.items() if a.startswith("vault_token_auth_backend_role.")}
    assert mounts, "layer2 manages no mounts?"
    assert policies, "layer2 manages no policies?"
    assert {f"{m}/" for m in mounts} <= live["mounts"]
    assert policies <= live["policies"]
    client = local_client(openbao.addr, openbao.root_token)
    for role in roles:
        stored = client.read(f"auth/token/roles/{role}")["data"]
        assert stored["orphan"] is True, role
        assert stored["token_explicit_max_ttl"] > 0, f"deploy tokens of role {role} never expire"


def test_each_routed_backend_shares_its_edge_network_only_with_traefik(
    deployment: Deployment, swarm: Swarm
) -> None:
    """Read from the live Swarm (tests/e2e/network_checks.py): one encrypted edge network per backend or
    platform zone with its fixed subnet, nobody else on it, nothing else shared with Traefik."""
    environment = load_environment(deployment.environment)
    plan = edge_plan(environment, load_catalog())
    topology = read_topology(swarm)
    assert edge_problems(topology, plan, encrypt=environment.swarm.encrypt_overlays) == []
    progress(f"{deployment.environment}: edge networks {json.dumps(summary(topology, plan))}")
    # An app reaches no layer backend's routed (admin) port on an edge network, only its own zone's.
    web = naming.platform_service_name(environment, "web")
    reachable = admin_ports_reachable(topology, web)
    progress(f"{deployment.environment}: routed ports {web} opens directly: {reachable}")
    assert all(name.startswith(f"{environment.name}-") for name in reachable), reachable


def test_services_run_hardened_as_synthesized(deployment: Deployment, swarm: Swarm) -> None:
    """Read from the live Swarm (tests/e2e/hardening_checks.py): every layer2 and platform service's user,
    read-only root, dropped and added capabilities, mounts (tmpfs sizes, read-only host paths) and secret
    owners are what was synthesized, and they meet the hardening rules."""
    report = live_report(read_stacks(deployment.outdir), swarm)
    progress(f"{deployment.environment}: {report.checked} services inspected; {report.figures.line()}")
    assert report.problems == []


def test_second_plan_is_empty_for_every_stack(deployment: Deployment) -> None:
    for stack in STACK_NAMES:
        assert deployment.planned_changes(stack) == {}, f"{stack} changes right after its own apply"


def _catalog_variant(deployment: Deployment, change: str) -> dict[str, str]:
    """A copy of the catalog with one change, as the environment an operator's edit would synthesize."""
    catalog: dict[str, Any] = yaml.safe_load(CATALOG_FILE.read_text())
    services = catalog["services"]
    if change == "route":
        services["core"]["routes"][0]["subdomain"] = "api-moved"
    elif change == "new-service":
        # Modelled on an entry that uses no shared broker or Redis: one that does also gets its own users
        # there, which is a layer2 change (applied before the platform can read the new login).
        services["e2e-added"] = {
            **services["web"],
            "repository": "e2e-added-service",
            "port": 3000,
            "routes": [{"subdomain": "e2e-added"}],
        }
    path = deployment.workdir / f"catalog-{change}.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return {"SPROCKET_CATALOG": str(path)}


@pytest.fixture
def restore_synth(deployment: Deployment) -> Iterator[None]:
    """Drills synthesize changed inputs; put the deployed ones back for the next test and for destroy."""
    yield
    deployment.synth()


def _addresses(changes: dict[str, list[str]], resource_type: str) -> set[str]:
    return {address for address in changes if address.startswith(f"{resource_type}.")}


@pytest.mark.usefixtures("restore_synth")
def test_changing_a_route_updates_services_in_place(deployment: Deployment) -> None:
    """core's host moves: its router label changes in place; the apps whose rendered settings carry that
    URL (core itself, web) get a new content-addressed config and an in-place update. Nothing is replaced
    but those configs, and no other stack changes."""
    deployment.synth(_catalog_variant(deployment, "route"))
    changes = deployment.plan("platform")
    services = {
        address: change for address, change in changes.items() if address.startswith("docker_service.")
    }
    assert all(change["actions"] == ["update"] for change in services.values()), changes.keys()
    (core,) = [change for address, change in services.items() if "_core_" in address]
    assert core["before"]["labels"] != core["after"]["labels"]
    others = {address: change["actions"] for address, change in changes.items() if address not in services}
    assert all(address.startswith("docker_config.") for address in others), others
    assert all(actions == ["create", "delete"] for actions in others.values()), others
    assert deployment.planned_changes("layer1") == {}


@pytest.mark.usefixtures("restore_synth")
def test_adding_a_routed_catalog_service_adds_it_and_its_status_check(deployment: Deployment) -> None:
    """The new service and its secrets are created; Gatus, in the same stack, gets a new endpoints config
    naming the new host and an in-place update; layer1 and layer2 don't change at all."""
    deployment.synth(_catalog_variant(deployment, "new-service"))
    changes = deployment.planned_changes("platform")
    added = {address for address, actions in changes.items() if actions == ["create"]}
    assert any(address.startswith("docker_service.") and "e2e-added" in address for address in added), changes
    rest = {address: actions for address, actions in changes.items() if address not in added}
    gatus = [address for address in rest if address.startswith("docker_service.gatus_")]
    assert gatus, "Gatus does not pick up the new host"
    assert rest[gatus[0]] == ["update"], rest
    configs = {address: actions for address, actions in rest.items() if address.startswith("docker_config.")}
    assert all("gatus" in address and actions == ["create", "delete"] for address, actions in configs.items())
    assert set(rest) == {*gatus, *configs}, rest
    assert deployment.planned_changes("layer2") == {}


def test_rotating_a_credential_rolls_only_its_consumers(deployment: Deployment) -> None:
    """``-replace`` of one generated password: its Vault write, its Docker secrets and the services
    mounting them change; nothing else does."""
    layer2 = read_stacks(deployment.outdir)["layer2"]["resource"]
    password = next(name for name in sorted(layer2["random_password"]) if "redis-password" in name)
    changes = deployment.planned_changes("layer2", f"-replace=random_password.{password}")
    assert changes.get(f"random_password.{password}") in (["delete", "create"], ["create", "delete"])
    rolled_secrets = {address.split(".", 1)[1] for address in _addresses(changes, "docker_secret")}
    assert rolled_secrets, "no Docker secret carries the rotated value"
    consumers = {
        f"docker_service.{name}"
        for name, service in layer2["docker_service"].items()
        if any(f"docker_secret.{secret}." in json.dumps(service) for secret in rolled_secrets)
    }
    assert _addresses(changes, "docker_service") == consumers, changes
    unexpected = {
        address
        for address in changes
        if not address.startswith(
            ("random_password.", "vault_kv_secret_v2.", "docker_secret.", "docker_service.")
        )
    }
    assert not unexpected, changes


def test_layer2_and_platform_deploy_with_vault_admin_alone(
    deployment: Deployment, openbao: DevServer
) -> None:
    """The whole deploy above ran with a vault-admin AppRole token (tests/e2e/vault_admin_checks.py): the
    stand-in initial root token is revoked and its file gone, and layer2's login quotas are in OpenBao."""
    assert vault_admin_problems(deployment, openbao, read_stacks(deployment.outdir)) == []


def _unprotected(deployment: Deployment) -> dict[str, str]:
    """The environment's files with ``layer2.vault.protect_mounts: false``: the documented tear-down."""
    directory = deployment.workdir / "config-unprotected"
    shutil.copytree(CONFIG_DIR, directory, dirs_exist_ok=True)
    path = directory / f"{deployment.environment}.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("layer2", {}).setdefault("vault", {})["protect_mounts"] = False
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return {"SPROCKET_CONFIG_DIR": str(directory)}


def test_destroy_leaves_swarm_and_openbao_as_they_were(
    deployment: Deployment, swarm: Swarm, openbao: DevServer
) -> None:
    """Where the mounts are protected (lan), destroy stops at them with every secret intact; with the
    protection lifted as docs/runbook.md says, it goes through and leaves the baseline."""
    if load_environment(deployment.environment).layer2.vault.protect_mounts:
        refused = deployment.cdktf("destroy", *STACK_NAMES, ok_codes=(1,))
        assert "prevent_destroy" in refused.stdout + refused.stderr
        assert _vault_inventory(openbao)["mounts"] > deployment.baseline["mounts"]
    deployment.cdktf("destroy", *STACK_NAMES, extra_env=_unprotected(deployment))
    deployment.destroyed = True
    after = {**_swarm_inventory(swarm), **_vault_inventory(openbao)}
    assert after == deployment.baseline
