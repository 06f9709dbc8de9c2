"""Read synthesized Terraform JSON the way a reviewer would: by resource type and name, not logical id."""

from __future__ import annotations

import base64
from typing import Any

from cdktf_cdktf_provider_docker.config import Config as DockerConfig
from cdktf_cdktf_provider_docker.service import Service as DockerService


def resources(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """``{logical id: body}`` of every resource of ``resource_type`` (empty when there is none)."""
    return dict(stack.get("resource", {}).get(resource_type, {}))


def data_sources(stack: dict[str, Any], data_type: str) -> dict[str, dict[str, Any]]:
    return dict(stack.get("data", {}).get(data_type, {}))


def services(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Swarm services by their service name."""
    return {body["name"]: body for body in resources(stack, DockerService.TF_RESOURCE_TYPE).values()}


def service_labels(service: dict[str, Any]) -> dict[str, str]:
    return {item["label"]: item["value"] for item in service.get("labels", [])}


def config_text(stack: dict[str, Any], reference: str) -> str:
    """Decoded content of the ``docker_config`` a service mounts through ``${docker_config.<id>.id}``."""
    logical_id = reference.removeprefix("${docker_config.").split(".")[0]
    return base64.b64decode(resources(stack, DockerConfig.TF_RESOURCE_TYPE)[logical_id]["data"]).decode()


def mounted_file(stack: dict[str, Any], service: dict[str, Any], target: str) -> str:
    """Content of the config file ``service`` mounts at ``target``."""
    for config in service["task_spec"]["container_spec"].get("configs", []):
        if config["file_name"] == target:
            return config_text(stack, config["config_id"])
    raise KeyError(f"{service['name']} mounts no config at {target}")
