"""The PostgreSQL grants service as Swarm takes it, on the e2e's one-node Swarm.

prod (the one environment with a DigitalOcean cluster) cannot be deployed here, so the stack holds only
``PostgresGrants``, built for prod's consumers, with two things standing in for what only prod has: the
admin login is two Docker secrets holding test values (not Vault reads) and the cluster's host and CA are
literals. What the engines answer:

* OpenTofu and the Docker provider create the service, and Swarm's spec of it is the synthesized one:
  uid 70, read-only root, no capabilities, the admin secrets 0400 owned by uid 70, the script, SQL and CA
  mounted, no overlay network, no secret in the environment;
* the second plan is empty;
* a new consumer (a changed script) plans a new SQL config and an in-place update of the service (so
  Swarm starts a new task, which applies the new script), never a replacement.

The pinned ``postgres`` image is not in this dockerd and no registry is reachable, so the task never
runs here; the SQL itself runs in ``tests/integration/test_postgres_grants.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_docker.secret import Secret
from constructs import Construct

from sprocket_infra import naming, providers
from sprocket_infra.constructs.postgres_grants import NAME, PostgresGrants, PostgresGrantsProps
from sprocket_infra.constructs.vault_docker_secrets import VaultKey
from sprocket_infra.constructs.vault_secrets import VaultSecretKey
from sprocket_infra.endpoints import Login, ServiceEndpoint
from sprocket_infra.inputs import load_inputs
from sprocket_infra.postgres_grants import DIGITALOCEAN_MAINTENANCE_DATABASE, DatabaseGrant
from sprocket_infra.vault.access import INFRASTRUCTURE
from tests.e2e.engine import Deployment
from tests.e2e.swarm import Swarm

pytestmark = pytest.mark.e2e

STACK = "postgres-grants"
TEST_CA = "-----BEGIN CERTIFICATE-----\nnot a real CA\n-----END CERTIFICATE-----\n"


class StandInSecrets:
    """Stand-in for ``Layer2Secrets``: each admin key becomes a Docker secret with a test value."""

    def __init__(self, scope: Construct) -> None:
        self._scope = scope

    def docker_secret(self, ref: VaultKey, *, owner: str) -> Secret:
        value = base64.b64encode(f"e2e-{ref.key}".encode()).decode()
        return Secret(self._scope, f"{owner}-{ref.key}", name=f"e2e-{owner}-{ref.key}", data=value)


def _key(key: str) -> VaultKey:
    return VaultSecretKey(
        name=f"postgres-admin-{key}", mount=INFRASTRUCTURE, path="e2e/postgres-admin", key=key
    )


def synth(outdir: Path, consumers: tuple[str, ...]) -> None:
    environment = load_inputs("prod").environment
    app = App(outdir=str(outdir))
    stack = TerraformStack(app, STACK)
    providers.docker_provider(stack)
    PostgresGrants(
        stack,
        "grants",
        PostgresGrantsProps(
            environment=environment,
            endpoint=ServiceEndpoint(host="db.invalid", port=25060),
            ca_certificate=TEST_CA,
            grants=[
                DatabaseGrant(
                    consumer=consumer,
                    database=naming.database_name(environment, consumer),
                    login=naming.database_user(environment, consumer),
                )
                for consumer in consumers
            ],
            maintenance_database=DIGITALOCEAN_MAINTENANCE_DATABASE,
            admin=Login(username=_key("username"), password=_key("password")),
            secrets=StandInSecrets(stack),
        ),
    )
    app.synth()


def consumers() -> tuple[str, ...]:
    return tuple(load_inputs("prod").environment.layer2.database_consumers)


@pytest.fixture(scope="module")
def deployed(swarm: Swarm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = Deployment(
        environment="local",
        workdir=tmp_path_factory.mktemp("grants"),
        credentials={"DOCKER_HOST": swarm.host},
    )
    synth(deployment.outdir, consumers())
    deployment.tofu(STACK, "init", "-input=false")
    deployment.tofu(STACK, "apply", "-input=false", "-auto-approve")
    yield deployment
    synth(deployment.outdir, consumers())
    deployment.tofu(STACK, "destroy", "-input=false", "-auto-approve")
    assert NAME not in swarm.names("service")


def _spec(swarm: Swarm) -> dict[str, Any]:
    (service,) = json.loads(swarm.docker("service", "inspect", NAME))
    spec: dict[str, Any] = service["Spec"]
    return spec


def test_swarm_holds_the_synthesized_spec(deployed: Deployment, swarm: Swarm) -> None:
    spec = _spec(swarm)
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["User"] == "70:70"
    assert container["ReadOnly"] is True
    assert container["CapabilityDrop"] == ["ALL"]
    secrets = {s["File"]["Name"]: s["File"] for s in container["Secrets"]}
    assert set(secrets) == {"/run/secrets/postgres-admin-user", "/run/secrets/postgres-admin-password"}
    assert {(f["UID"], f["GID"], f["Mode"]) for f in secrets.values()} == {("70", "70", 0o400)}
    assert {c["File"]["Name"] for c in container["Configs"]} == {
        "/etc/sprocket/apply-grants.sh",
        "/etc/sprocket/grants.sql",
        "/etc/sprocket/postgres-ca.pem",
    }
    env = dict(item.split("=", 1) for item in container["Env"])
    assert env["PGSSLMODE"] == "verify-full"
    assert not any("e2e-password" in value for value in env.values())
    assert container["Args"] == ["sleep", "2147483647"]
    assert not spec["TaskTemplate"].get("Networks")
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}


def test_the_second_plan_is_empty(deployed: Deployment) -> None:
    assert deployed.plan(STACK) == {}


def test_a_new_consumer_updates_the_service_in_place(deployed: Deployment) -> None:
    synth(deployed.outdir, (*consumers(), "e2e-extra"))
    changes = deployed.planned_changes(STACK)
    sql = [address for address in changes if "grants-sql" in address]
    assert len(sql) == 1
    assert changes[sql[0]] == ["create", "delete"]  # create_before_destroy: a new config by its hash
    services = {
        address: actions for address, actions in changes.items() if address.startswith("docker_service.")
    }
    assert list(services.values()) == [["update"]]
    assert set(changes) == {sql[0], *services}
