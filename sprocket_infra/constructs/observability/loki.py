"""``Loki``: log storage, single binary on a volume, with retention.

The original ran a ``main-<sha>`` build with the image's default config, which keeps logs forever. Here
the compactor deletes chunks older than ``layer2.retention.logs_days``; the TSDB index and chunks sit on a
named volume. Loki 3.6+ images are distroless (no shell, no wget), so the healthcheck is the binary's own
``-health`` flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.service_context import ServiceContext
from sprocket_infra.constructs.swarm_service import (
    ConfigFile,
    Healthcheck,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)
from sprocket_infra.endpoints import ServiceEndpoint
from sprocket_infra.placement import volume_placement

NAME = "loki"
PORT = 3100
CONFIG_PATH = "/etc/loki/config.yaml"
DATA_DIR = "/loki"


def loki_config(*, retention_days: int) -> dict[str, Any]:
    """Single-process Loki on the filesystem; retention enforced by the compactor."""
    return {
        "auth_enabled": False,
        "server": {"http_listen_port": PORT, "grpc_listen_port": 9096, "log_level": "warn"},
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": DATA_DIR,
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
            "storage": {
                "filesystem": {
                    "chunks_directory": f"{DATA_DIR}/chunks",
                    "rules_directory": f"{DATA_DIR}/rules",
                }
            },
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2024-01-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {
            "retention_period": f"{retention_days * 24}h",
            "reject_old_samples": True,
            "reject_old_samples_max_age": "168h",
        },
        "compactor": {
            "working_directory": f"{DATA_DIR}/compactor",
            "retention_enabled": True,
            "delete_request_store": "filesystem",
            "compaction_interval": "10m",
            "retention_delete_delay": "2h",
        },
        "analytics": {"reporting_enabled": False},
    }


@dataclass(frozen=True, kw_only=True)
class LokiProps:
    context: ServiceContext


class Loki(Construct):
    """Public attributes: ``endpoint``, ``push_url``."""

    def __init__(self, scope: Construct, construct_id: str, props: LokiProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        self.endpoint = ServiceEndpoint(host=NAME, port=PORT)
        self.push_url = f"http://{NAME}:{PORT}/loki/api/v1/push"
        config = loki_config(retention_days=context.environment.layer2.retention.logs_days)
        self.service = context.routing.route(
            self,
            "loki",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.loki,
                    args=[f"-config.file={CONFIG_PATH}"],
                    healthcheck=Healthcheck(test=("CMD", "/usr/bin/loki", "-health"), start_period_s=60),
                    resources=Resources(cpus=1.0, memory_mib=1024),
                    networks=[context.monitoring],
                    configs=[ConfigFile(target=CONFIG_PATH, content=yaml.safe_dump(config, sort_keys=True))],
                    mounts=[VolumeMount(source=naming.service_volume(NAME), target=DATA_DIR)],
                    placement=volume_placement(context.environment),
                    stateful=True,
                )
            ),
        )
