"""The JSON shapes OpenTofu, the providers and OpenBao required in the first real deploy (``make e2e``).

Each test pins the corrected form of one class of bug the engines found, over every environment and
stack, so that class cannot come back unnoticed between e2e runs:

* ``depends_on`` / ``replace_triggered_by`` with ``${...}``: rejected by ``tofu init``;
* ``networks_advanced.name``: the provider reads attachments back as ids -> replacement on every plan;
* durations spelled otherwise than the provider reads them back (``120s`` vs ``2m``) -> diff on every plan;
* overlay ``options`` compared although Swarm adds its own -> network (and services) replaced every plan;
* ``docker.io/`` image prefixes: Swarm keeps the short form -> every service updated on every plan;
* Docker secret names built from the KV data source's ``version`` (an input, null at plan) -> no plan;
* on OpenBao: audit devices through the API and the GitHub auth method are refused; token roles drop
  ``token_ttl``/``token_max_ttl``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cdktf_cdktf_provider_docker.network import Network as DockerNetwork
from cdktf_cdktf_provider_docker.secret import Secret as DockerSecret
from cdktf_cdktf_provider_docker.service import Service as DockerService
from cdktf_cdktf_provider_vault.audit import Audit as VaultAudit
from cdktf_cdktf_provider_vault.github_auth_backend import GithubAuthBackend as VaultGithubAuthBackend
from cdktf_cdktf_provider_vault.token_auth_backend_role import (
    TokenAuthBackendRole as VaultTokenAuthBackendRole,
)

from sprocket_infra import naming
from sprocket_infra.config import CONFIG_DIR, ConfigError, load_environment
from sprocket_infra.constructs.swarm_service import swarm_duration
from sprocket_infra.constructs.vault_with_s3_backend import CONFIG_PATH
from sprocket_infra.providers import PROVIDER_VERSIONS
from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import ENVIRONMENTS, Stacks
from tests.synth_json import mounted_file, resources, services

SynthStacks = Callable[[str], Stacks]
_GO_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DURATION_KEYS = {"interval", "timeout", "start_period", "delay", "window", "monitor"}


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _all_stacks(synth_stacks: SynthStacks) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for environment in ENVIRONMENTS:
        for stack in STACK_NAMES:
            yield environment, stack, synth_stacks(environment)[stack]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (5, "5s"), (90, "1m30s"), (120, "2m"), (3600, "1h"), (3601, "1h0m1s")]
)
def test_swarm_duration_is_the_providers_read_back_form(seconds: int, text: str) -> None:
    assert swarm_duration(seconds) == text


def test_dependencies_are_plain_addresses(synth_stacks: SynthStacks) -> None:
    checked = 0
    for environment, stack, document in _all_stacks(synth_stacks):
        for path, value in _walk(document):
            if path.endswith((".depends_on", ".replace_triggered_by")):
                assert all(isinstance(item, str) and "${" not in item for item in value), (
                    f"{environment}/{stack}{path}: {value}"
                )
                checked += 1
    assert checked > 0


def test_services_attach_networks_by_id_only(synth_stacks: SynthStacks) -> None:
    for environment, stack, document in _all_stacks(synth_stacks):
        for name, body in resources(document, DockerService.TF_RESOURCE_TYPE).items():
            for attachment in body["task_spec"]["networks_advanced"]:
                assert set(attachment) == {"id"}, f"{environment}/{stack}/{name}: {attachment}"
                assert re.fullmatch(r"\$\{[^}]+id\}", attachment["id"]), attachment


def test_durations_are_spelled_as_the_provider_reads_them_back(synth_stacks: SynthStacks) -> None:
    seen = 0
    for environment, stack, document in _all_stacks(synth_stacks):
        for name, body in resources(document, DockerService.TF_RESOURCE_TYPE).items():
            for path, value in _walk(body):
                if path.rsplit(".", 1)[-1] in _DURATION_KEYS and isinstance(value, str):
                    match = _GO_DURATION.match(value)
                    assert match, f"{environment}/{stack}/{name}{path}: {value!r}"
                    hours, minutes, secs = (int(part or 0) for part in match.groups())
                    assert swarm_duration(hours * 3600 + minutes * 60 + secs) == value, (
                        f"{environment}/{stack}/{name}{path}: {value!r}"
                    )
                    seen += 1
    assert seen > 0


def test_overlay_options_added_by_swarm_are_not_compared(synth_stacks: SynthStacks) -> None:
    for environment, stack, document in _all_stacks(synth_stacks):
        for name, body in resources(document, DockerNetwork.TF_RESOURCE_TYPE).items():
            assert body["driver"] == "overlay"
            assert body["lifecycle"]["ignore_changes"] == ["options"], f"{environment}/{stack}/{name}"


def test_docker_hub_images_are_written_in_short_form(synth_stacks: SynthStacks) -> None:
    for environment, stack, document in _all_stacks(synth_stacks):
        for name, body in resources(document, DockerService.TF_RESOURCE_TYPE).items():
            image = body["task_spec"]["container_spec"]["image"]
            assert not image.startswith(("docker.io/", "index.docker.io/")), f"{environment}/{stack}/{name}"


def test_secret_names_never_read_the_kv_version_argument(synth_stacks: SynthStacks) -> None:
    for environment, stack, document in _all_stacks(synth_stacks):
        for name, body in resources(document, DockerSecret.TF_RESOURCE_TYPE).items():
            assert ".version" not in body["name"], f"{environment}/{stack}/{name}: {body['name']}"


def test_stacks_pin_the_provider_releases_the_e2e_deploy_proves(synth_stacks: SynthStacks) -> None:
    for environment, stack, document in _all_stacks(synth_stacks):
        for provider, requirement in document["terraform"]["required_providers"].items():
            if provider in PROVIDER_VERSIONS:
                assert requirement["version"] == PROVIDER_VERSIONS[provider], f"{environment}/{stack}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_openbao_gets_its_audit_device_from_its_config_file(
    synth_stacks: SynthStacks, environment: str
) -> None:
    openbao = load_environment(environment).vault.is_openbao
    layer1, layer2 = synth_stacks(environment)["layer1"], synth_stacks(environment)["layer2"]
    hcl = mounted_file(layer1, services(layer1)["vault"], CONFIG_PATH)
    assert ('audit "file" "stdout"' in hcl) is openbao
    assert bool(resources(layer2, VaultAudit.TF_RESOURCE_TYPE)) is not openbao
    assert bool(resources(layer2, VaultGithubAuthBackend.TF_RESOURCE_TYPE)) is not openbao
    for name, role in resources(layer2, VaultTokenAuthBackendRole.TF_RESOURCE_TYPE).items():
        assert role["token_explicit_max_ttl"] > 0, name
        assert ("token_ttl" in role) is not openbao, name


def test_an_environment_with_a_docker_io_prefix_is_refused(tmp_path: Path) -> None:
    source = (CONFIG_DIR / "prod.yaml").read_text()
    (tmp_path / "prod.yaml").write_text(source.replace("registry: asaxplayinghorse", "registry: docker.io/x"))
    with pytest.raises(ConfigError, match="without the registry host: 'x'") as raised:
        load_environment("prod", config_dir=tmp_path)
    assert str(tmp_path / "prod.yaml") in str(raised.value)


_SWARM_NAME = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$")


def test_config_and_secret_names_fit_swarm_once_rendered(synth_stacks: SynthStacks) -> None:
    """Swarm refuses names over 64 characters; a tag expression renders to ``TAG_LENGTH`` characters."""
    checked = 0
    for environment, stack, document in _all_stacks(synth_stacks):
        for resource_type in ("docker_config", "docker_secret"):
            for name, body in resources(document, resource_type).items():
                rendered = re.sub(r"\$\{.*\}$", "t" * naming.TAG_LENGTH, body["name"])
                assert len(rendered) <= naming.SWARM_NAME_MAX, f"{environment}/{stack}/{name}: {rendered}"
                assert _SWARM_NAME.match(rendered), f"{environment}/{stack}/{name}: {rendered}"
                checked += 1
    assert checked > 0


def test_long_stems_are_cut_but_stay_distinct() -> None:
    first = naming.swarm_object_name("lan-image-generation-frontend-postgres-platform-password", "0123456789")
    second = naming.swarm_object_name(
        "lan-image-generation-frontend-postgres-platform-passwords", "0123456789"
    )
    assert len(first) == len(second) == naming.SWARM_NAME_MAX
    assert first != second
    assert naming.swarm_object_name("redis-config", "0123456789") == "redis-config-0123456789"
