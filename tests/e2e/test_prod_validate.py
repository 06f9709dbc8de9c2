"""prod cannot be deployed here (no DigitalOcean API, no Let's Encrypt), but OpenTofu can still read it.

Every prod stack goes through OpenTofu's own configuration loader (``tofu providers`` decodes the whole
configuration: expressions, references, ``depends_on``/``replace_triggered_by``, lifecycle blocks). The
stack whose providers we build (platform: docker, vault) is also ``init``-ed with the real providers and
``validate``-d against their schemas. layer1 and layer2 need the DigitalOcean (and, for buckets on AWS,
the AWS) provider, which the Go module proxy does not serve (ADR 0005): a registry-backed ``tofu validate``
of those two is an operator's step in docs/deployment.md.
"""

from __future__ import annotations

import json

import pytest

from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import read_stacks
from tests.e2e.engine import Deployment, require_tools

pytestmark = pytest.mark.e2e

BUILT_PROVIDERS = {"docker", "vault", "random"}


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    require_tools()
    # prod's state is encrypted: OpenTofu derives the key (from any passphrase) before loading anything.
    key = {"TF_VAR_state_passphrase": "e2e-loader-passphrase-only"}
    deployment = Deployment(environment="prod", workdir=tmp_path_factory.mktemp("prod"), credentials=key)
    deployment.synth()
    return deployment


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_opentofu_loads_every_prod_stack(prod: Deployment, stack: str) -> None:
    """The configuration without its S3 backend block (which ``tofu providers`` would first want to
    initialize, against Spaces) goes through OpenTofu's loader and names every provider at its pin."""
    document = read_stacks(prod.outdir)[stack]
    assert "s3" in document["terraform"].pop("backend")
    copy = prod.workdir / "loader" / stack
    copy.mkdir(parents=True)
    (copy / "cdk.tf.json").write_text(json.dumps(document))
    listed = prod.run(["tofu", "providers", "-no-color"], what=f"tofu providers {stack}", cwd=copy).stdout
    for requirement in document["terraform"]["required_providers"].values():
        assert f"{requirement['source']}] {requirement['version']}" in listed, listed


def test_prod_platform_validates_with_the_real_providers(prod: Deployment) -> None:
    assert set(read_stacks(prod.outdir)["platform"]["terraform"]["required_providers"]) <= BUILT_PROVIDERS
    prod.tofu("platform", "init", "-backend=false", "-input=false")
    result = prod.tofu("platform", "validate", "-json")
    report = json.loads(result.stdout)
    assert report["valid"], report["diagnostics"]
    assert [d for d in report["diagnostics"] if d["severity"] == "error"] == []
