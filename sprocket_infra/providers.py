"""Provider set-up, and the import trick that keeps synth fast.

Each prebuilt provider package's ``__init__`` imports every one of its submodules: for AWS that is about
2,200 modules, ~20 s and 1.6 GB before a single resource is declared. The submodules themselves only need
the package's ``_jsii`` assembly loader. :func:`use_light_provider_packages` registers each provider package
in ``sys.modules`` as a bare namespace (its ``__path__`` and nothing else), so
``from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket`` runs that one submodule and the loader, and
nothing more. The classes, their jsii registrations and so the synthesized JSON are the same objects an
eager import creates; ``tests/unit/test_lazy_providers.py`` compares both byte for byte.

Provider *packages* are also only touched by the stacks that need them: a ``local`` synth never imports
the AWS or DigitalOcean bindings at all.

Credentials are never configured here. Every provider reads them from the environment at deploy time
(``DOCKER_HOST``, ``DIGITALOCEAN_TOKEN``, ``SPACES_ACCESS_KEY_ID``/``SPACES_SECRET_ACCESS_KEY``,
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``VAULT_ADDR``/``VAULT_TOKEN``), so synth needs none.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs import Construct

PROVIDER_PACKAGES = (
    "cdktf_cdktf_provider_aws",
    "cdktf_cdktf_provider_digitalocean",
    "cdktf_cdktf_provider_docker",
    "cdktf_cdktf_provider_random",
    "cdktf_cdktf_provider_vault",
)


def use_light_provider_packages() -> None:
    """Register provider packages as bare namespaces so importing one submodule imports only that one.

    Packages already imported (eagerly, by someone else) are left alone.
    """
    for name in PROVIDER_PACKAGES:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            continue
        package = types.ModuleType(name, doc=f"{name}, registered without its eager __init__")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        package.__package__ = name
        sys.modules[name] = package


PROVIDER_VERSIONS = {"docker": "4.6.0", "vault": "5.9.0", "random": "3.9.0"}
"""Provider releases the stacks pin, where they differ from the ones the prebuilt bindings were generated
from (docker 3.6.2, vault 5.6.0, random 3.7.2): these are the releases the e2e deploy builds and proves,
and the bindings' resources and attributes are unchanged in them (ADR 0005)."""


def _pin(scope: Construct, provider: str) -> None:
    from cdktf import TerraformStack

    TerraformStack.of(scope).add_override(
        f"terraform.required_providers.{provider}.version", PROVIDER_VERSIONS[provider]
    )


def docker_provider(scope: Construct) -> None:
    """The Swarm manager's Docker API; ``DOCKER_HOST`` (e.g. ``ssh://deploy@node``) chooses it at deploy."""
    from cdktf_cdktf_provider_docker.provider import DockerProvider

    DockerProvider(scope, "docker")
    _pin(scope, "docker")


def random_provider(scope: Construct) -> None:
    """Generated credentials: their values live in state and Vault, never in the synthesized JSON."""
    from cdktf_cdktf_provider_random.provider import RandomProvider

    RandomProvider(scope, "random")
    _pin(scope, "random")


def vault_provider(scope: Construct) -> None:
    """Vault as configured by layer1; ``VAULT_ADDR`` and ``VAULT_TOKEN`` come from the environment."""
    from cdktf_cdktf_provider_vault.provider import VaultProvider

    VaultProvider(scope, "vault", skip_child_token=True)
    _pin(scope, "vault")


def digitalocean_provider(scope: Construct) -> None:
    """DigitalOcean API and Spaces; ``DIGITALOCEAN_TOKEN`` and ``SPACES_*`` keys come from the environment."""
    from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider

    DigitaloceanProvider(scope, "digitalocean")


def aws_s3_provider(scope: Construct, *, endpoint: str, region: str) -> None:
    """The AWS provider used only as an S3 client (AWS itself, or any S3-compatible endpoint)."""
    from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderEndpoints

    AwsProvider(
        scope,
        "aws",
        region=region,
        endpoints=[AwsProviderEndpoints(s3=endpoint)],
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_region_validation=True,
    )


def aws_kms_provider(scope: Construct, *, region: str) -> None:
    """AWS itself, for the KMS key and IAM user of Vault's ``awskms`` seal (layer1). ``AWS_ACCESS_KEY_ID``/
    ``AWS_SECRET_ACCESS_KEY`` (or a profile) come from the environment at deploy time, never the JSON."""
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    AwsProvider(scope, "aws", region=region)
