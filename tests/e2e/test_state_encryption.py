"""OpenTofu's state encryption, on the real engines: ``local`` deployed with ``opentofu_encryption: on``.

The environment is ``config/local.yaml`` with only ``state.opentofu_encryption`` set to ``on`` (as an
environment file would set it), synthesized in-process and applied stack by stack with ``tofu`` into the
session's private Swarm and OpenBao. layer1 deploys fully; layer2's first apply stops, as documented, at
the first operator secret; the secrets bootstrap writes made-up operator secrets into Vault and layer2's
second apply completes, reading them into its state. Then:

* every generated password, every operator secret and the passphrase (the canaries) is readable through
  ``tofu show`` (the deploy works and OpenTofu decrypts), and found 0 times in the state files and the
  plan file on disk;
* layer2 read layer1's outputs through its encrypted remote state (the apply could not have got that
  far otherwise), and a second plan of layer1 is empty;
* a wrong passphrase reads nothing.

Everything applied is destroyed again, so the other e2e tests find Swarm and OpenBao as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.app import build_app, load_inputs
from sprocket_infra.secrets.external import external_secrets
from tests.e2e.engine import VENV_BIN, Deployment, progress
from tests.e2e.swarm import Swarm
from tests.integration.openbao_dev import DevServer

pytestmark = pytest.mark.e2e

PASSPHRASE = "e2e-state-passphrase-5b1d0c9e"
APPLIED = ("layer1", "layer2")
OPERATOR_SECRETS = {
    variable: f"e2e-{variable.lower()}-value" for variable in external_secrets("local").env_vars
}
"""A made-up value per operator-provided secret; Vault reads put them into layer2's state."""


def _synth_encrypted(deployment: Deployment) -> None:
    inputs = load_inputs("local")
    environment = inputs.environment
    encrypted = environment.model_copy(
        update={"state": environment.state.model_copy(update={"opentofu_encryption": "on"})}
    )
    build_app(encrypted, catalog=inputs.catalog, outdir=str(deployment.outdir)).synth()


def _apply(deployment: Deployment, stack: str, ok_codes: tuple[int, ...] = (0,)) -> str:
    deployment.tofu(stack, "init", "-input=false")
    result = deployment.tofu(
        stack, "apply", "-auto-approve", "-input=false", "-lock-timeout=60s", ok_codes=ok_codes
    )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def encrypted(
    swarm: Swarm, openbao: DevServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    deployment = Deployment(
        environment="local",
        workdir=tmp_path_factory.mktemp("encrypted-state"),
        credentials={
            "DOCKER_HOST": swarm.host,
            "VAULT_ADDR": openbao.addr,
            "VAULT_TOKEN": openbao.root_token,
            "TF_VAR_state_passphrase": PASSPHRASE,
        },
    )
    _synth_encrypted(deployment)
    try:
        _apply(deployment, "layer1")
        output = _apply(deployment, "layer2", ok_codes=(0, 1))
        assert "Error" not in output or "no secret found" in output, output[-3000:]
        deployment.run(
            [str(VENV_BIN / "sprocket-infra"), "secrets", "bootstrap", "--env", "local"],
            what="secrets bootstrap",
            extra_env=OPERATOR_SECRETS,
        )
        _apply(deployment, "layer2")
        yield deployment
    finally:
        progress("local (encrypted state): destroying")
        for stack in reversed(APPLIED):
            deployment.tofu(stack, "destroy", "-auto-approve", "-input=false", "-lock-timeout=60s")


def _state_file(deployment: Deployment, stack: str) -> Path:
    return deployment.workdir / "state" / "local" / f"{stack}.tfstate"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _canaries(deployment: Deployment) -> set[str]:
    """Every generated password as OpenTofu reads it back from the encrypted state, every operator secret
    the stacks read from Vault, and the passphrase."""
    passwords = {
        values["result"]
        for stack in APPLIED
        for address, values in deployment.state_resources(stack).items()
        if address.startswith("random_password.")
    }
    shown = "".join(deployment.tofu(stack, "show", "-json").stdout for stack in APPLIED)
    operator = {value for value in OPERATOR_SECRETS.values() if value in shown}
    assert operator, "layer2 reads operator secrets from Vault into its state"
    return passwords | operator | {PASSPHRASE}


def test_state_on_disk_is_ciphertext(encrypted: Deployment) -> None:
    for stack in APPLIED:
        document = json.loads(_state_file(encrypted, stack).read_text())
        assert "resources" not in document, f"{stack}: state written in clear"
        assert document.get("encryption_version"), sorted(document)


def test_no_secret_is_readable_in_state_or_plan_files(encrypted: Deployment) -> None:
    canaries = _canaries(encrypted)
    assert len(canaries) > 5, "layer2's generated passwords should be in its state by now"
    plan_file = encrypted.workdir / "layer1.tfplan"
    encrypted.plan("layer1")
    files = [_state_file(encrypted, stack) for stack in APPLIED] + [plan_file]
    readable = {
        (path.name, canary) for path in files for canary in canaries if canary.encode() in path.read_bytes()
    }
    assert readable == set()


def test_deploy_reads_its_encrypted_state_back(encrypted: Deployment) -> None:
    assert encrypted.planned_changes("layer1") == {}
    layer2 = encrypted.state_resources("layer2")
    assert any(address.startswith("docker_service.") for address in layer2), sorted(layer2)
    remote = [
        item
        for item in json.loads(encrypted.tofu("layer2", "show", "-json").stdout)["values"]["root_module"][
            "resources"
        ]
        if item["type"] == "terraform_remote_state"
    ]
    assert remote, "layer2 reads layer1 through terraform_remote_state"
    assert all(item["values"]["outputs"] for item in remote)


def test_a_wrong_passphrase_reads_nothing(encrypted: Deployment) -> None:
    result = encrypted.run(
        ["tofu", "show", "-json"],
        what="tofu show with a wrong passphrase",
        cwd=encrypted.stack_dir("layer1"),
        extra_env={"TF_VAR_state_passphrase": "not-the-state-passphrase"},
        ok_codes=(1,),
    )
    assert "decrypt" in (result.stdout + result.stderr).lower()
    for canary in _canaries(encrypted) - {PASSPHRASE}:
        assert canary not in result.stdout
