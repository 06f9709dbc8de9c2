"""``SwarmService``: one Docker Swarm service with the operational policy every service must have.

The original deployment had healthchecks, restart policies and limits on one or two services out of 29.
Here they are not optional: a healthcheck and resource limits are required props, and the restart,
update/rollback and logging policy comes from one :class:`ServiceDefaults`.
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal, Protocol

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_docker.config import Config as DockerConfig
from cdktf_cdktf_provider_docker.service import (
    Service,
    ServiceEndpointSpecPorts,
    ServiceLabels,
    ServiceTaskSpecContainerSpecConfigs,
    ServiceTaskSpecContainerSpecMounts,
    ServiceTaskSpecContainerSpecMountsTmpfsOptions,
    ServiceTaskSpecContainerSpecSecrets,
)
from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.terraform_literal import has_token, literal

_NANO = 1_000_000_000
_MIB = 1024 * 1024


class NamedNetwork(Protocol):
    """A ``docker_network`` resource, of this stack or an earlier one (cdktf carries it across stacks)."""

    @property
    def name(self) -> str: ...
    @property
    def id(self) -> str: ...


class DockerObject(Protocol):
    """A ``docker_secret`` (or config) resource: the service mounts it by id and name."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class Healthcheck:
    """Container healthcheck; Swarm replaces tasks that stay unhealthy and rolls back bad updates."""

    test: tuple[str, ...]
    """Docker form, e.g. ``("CMD", "redis-cli", "ping")`` or ``("CMD-SHELL", "...")``."""
    interval_s: int = 30
    timeout_s: int = 5
    retries: int = 3
    start_period_s: int = 30
    """Grace after start before failures count; raise it for slow starters (JVMs, migrations)."""


@dataclass(frozen=True, kw_only=True)
class Resources:
    """Hard limits (the scheduler kills above them) and what is reserved on the node for the service."""

    cpus: float
    memory_mib: int
    reserved_memory_mib: int | None = None
    """Left out: a quarter of ``memory_mib``, so one node can pack several services."""


@dataclass(frozen=True, kw_only=True)
class ConfigFile:
    """A non-secret file delivered as a Docker config; a new content hash makes a new config.

    ``content`` may be a cdktf token (a Terraform expression, e.g. a document holding another stack's
    database host); then Terraform encodes and hashes it at deploy time.
    """

    target: str
    content: str
    mode: int = 0o444


@dataclass(frozen=True, kw_only=True)
class SecretFile:
    """A Docker secret mounted as a file, by default under ``/app/secret``; never an env var."""

    secret: DockerObject
    target: str
    mode: int = 0o400
    uid: int | None = None
    """Owner of the file in the container. Left out: root; set it to a non-root service's uid, since
    the default 0400 leaves the file readable by its owner only."""
    gid: int | None = None


@dataclass(frozen=True, kw_only=True)
class VolumeMount:
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, kw_only=True)
class BindMount:
    """A host path; only for node-local state that must survive the volume driver (unseal keys)."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, kw_only=True)
class TmpfsMount:
    """Memory-backed scratch space, for a server that writes outside its volume under a read-only root.

    Swarm creates it empty at every task start, owned by root with mode 1777 (the kernel's default when
    no mode is given), so a non-root service can write into it."""

    target: str
    size_mib: int = 64
    """Upper bound; writes beyond it fail with ENOSPC. It counts towards the task's memory limit."""


@dataclass(frozen=True, kw_only=True)
class PublishedPort:
    target: int
    published: int
    protocol: Literal["tcp", "udp"] = "tcp"
    mode: Literal["host", "ingress"] = "host"
    """``host`` keeps the client's source IP (Traefik's access log and rate limits need it)."""


@dataclass(frozen=True, kw_only=True)
class ServiceDefaults:
    """Restart, update, rollback and logging policy shared by every service."""

    restart_max_attempts: int = 5
    restart_delay_s: int = 10
    restart_window_s: int = 120
    update_monitor_s: int = 30
    update_delay_s: int = 10
    log_max_size_mib: int = 10
    log_max_files: int = 5


DEFAULTS = ServiceDefaults()


@dataclass(frozen=True, kw_only=True)
class SwarmServiceProps:
    name: str
    """Swarm service name, also its DNS name on every network it joins."""
    image: str
    """Pinned image reference from config or the catalog."""
    healthcheck: Healthcheck
    resources: Resources
    networks: Sequence[NamedNetwork]
    env: Mapping[str, str] = field(default_factory=dict)
    """Plain settings only. Secrets go in ``secrets``; tests reject secret-looking values here."""
    command: Sequence[str] | None = None
    """Overrides the image entrypoint. Left out: the image's."""
    args: Sequence[str] | None = None
    configs: Sequence[ConfigFile] = ()
    secrets: Sequence[SecretFile] = ()
    mounts: Sequence[VolumeMount | BindMount | TmpfsMount] = ()
    ports: Sequence[PublishedPort] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    """Service-level labels (Traefik reads these, not container labels)."""
    replicas: int | None = 1
    """``None`` runs one task on every node (global mode), e.g. for node agents."""
    placement: Sequence[str] = ()
    max_replicas_per_node: int | None = None
    """Swarm's limit of this service's tasks on one node (spreads replicas). Left out: no limit."""
    stateful: bool = False
    """Stateful services update stop-first: two tasks must never share one data directory."""
    update_order: Literal["start-first", "stop-first"] | None = None
    """Rolling-update order. Left out: ``stop-first`` if ``stateful``, else ``start-first``. Set
    ``stop-first`` for services where two running tasks would do the work twice (a Discord bot)."""
    hostname: str | None = None
    user: str | None = None
    """``uid:gid`` the process runs as. Left out: the image's ``USER`` (often root)."""
    read_only: bool = False
    """Read-only root filesystem; writes go only to volumes and tmpfs mounts."""
    cap_drop: Sequence[str] = ()
    """Linux capabilities removed (``ALL`` for every one). Left out: Docker's default set stays."""
    cap_add: Sequence[str] = ()
    """Capabilities given back after ``cap_drop``: only the few the process needs."""
    defaults: ServiceDefaults = DEFAULTS

    def __post_init__(self) -> None:
        if self.replicas is not None and self.replicas < 0:
            raise ValueError(f"service {self.name}: replicas must be >= 0 (got {self.replicas})")
        if self.stateful and self.replicas not in (0, 1):
            raise ValueError(f"service {self.name}: a stateful service runs at most one replica")
        if self.stateful and self.update_order == "start-first":
            raise ValueError(f"service {self.name}: a stateful service must update stop-first")
        targets = [item.target for item in (*self.configs, *self.secrets, *self.mounts)]
        if len(set(targets)) != len(targets):
            raise ValueError(
                f"service {self.name}: two files or mounts share a target path in {sorted(targets)}"
            )


class SwarmService(Construct):
    """A ``docker_service`` plus the Docker configs it mounts."""

    def __init__(self, scope: Construct, construct_id: str, props: SwarmServiceProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        configs = [self._config(file) for file in props.configs]
        self.service = Service(
            self,
            "service",
            name=props.name,
            labels=[
                ServiceLabels(label=literal(key), value=literal(value))
                for key, value in sorted(props.labels.items())
            ],
            task_spec=self._task_spec(configs),
            mode=(
                {"global_": True} if props.replicas is None else {"replicated": {"replicas": props.replicas}}
            ),
            # A failed update rolls back; a failed rollback pauses rather than looping.
            update_config=self._rollout("rollback"),
            rollback_config=self._rollout("pause"),
            endpoint_spec=self._endpoint_spec(),
        )
        # Networks are attached by id: the provider reads an attachment back as its network id, so a
        # name would differ from state on every plan and force a replacement of the service. The
        # bindings (generated from provider 3.6.2) have no ``id`` field, hence the override (ADR 0005).
        self.service.add_override(
            "task_spec.networks_advanced", [{"id": _network_id(network)} for network in props.networks]
        )

    @property
    def name(self) -> str:
        """The Swarm service name; other services reach this one by it."""
        return self.props.name

    def _config(self, file: ConfigFile) -> ServiceTaskSpecContainerSpecConfigs:
        slug = PurePosixPath(file.target).name.replace(".", "-").replace("_", "-")
        if has_token(file.content):
            suffix, data = (
                Fn.substr(Fn.sha256(file.content), 0, naming.TAG_LENGTH),
                Fn.base64encode(file.content),
            )
        else:
            suffix, data = naming.content_suffix(file.content), _base64(file.content)
        config = DockerConfig(
            self,
            f"config-{slug}",
            name=naming.swarm_object_name(f"{self.props.name}-{slug}", suffix),
            data=data,
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        return ServiceTaskSpecContainerSpecConfigs(
            config_id=config.id, config_name=config.name, file_name=literal(file.target), file_mode=file.mode
        )

    def _task_spec(self, configs: list[ServiceTaskSpecContainerSpecConfigs]) -> dict[str, Any]:
        props = self.props
        defaults = props.defaults
        container: dict[str, Any] = {
            "image": props.image,
            # Every string here may come from config or the catalog: Terraform must not evaluate it.
            "env": {literal(key): literal(value) for key, value in sorted(props.env.items())},
            "configs": configs,
            "secrets": [
                ServiceTaskSpecContainerSpecSecrets(
                    secret_id=s.secret.id,
                    secret_name=s.secret.name,
                    file_name=literal(s.target),
                    file_mode=s.mode,
                    file_uid=None if s.uid is None else str(s.uid),
                    file_gid=None if s.gid is None else str(s.gid),
                )
                for s in props.secrets
            ],
            "mounts": [_mount(mount) for mount in props.mounts],
            "healthcheck": {
                "test": [literal(part) for part in props.healthcheck.test],
                "interval": swarm_duration(props.healthcheck.interval_s),
                "timeout": swarm_duration(props.healthcheck.timeout_s),
                "retries": props.healthcheck.retries,
                "start_period": swarm_duration(props.healthcheck.start_period_s),
            },
            "read_only": props.read_only,
        }
        optional = {
            "command": props.command,
            "args": props.args,
            "hostname": props.hostname,
            "user": props.user,
            "cap_drop": list(props.cap_drop) or None,
            "cap_add": list(props.cap_add) or None,
        }
        container |= {
            key: [literal(part) for part in value] if not isinstance(value, str) else literal(value)
            for key, value in optional.items()
            if value is not None
        }
        reserved = props.resources.reserved_memory_mib or max(props.resources.memory_mib // 4, 16)
        return {
            "container_spec": container,
            "resources": {
                "limits": {
                    "nano_cpus": round(props.resources.cpus * _NANO),
                    "memory_bytes": props.resources.memory_mib * _MIB,
                },
                "reservation": {"memory_bytes": reserved * _MIB},
            },
            "restart_policy": {
                "condition": "any",
                "delay": swarm_duration(defaults.restart_delay_s),
                "max_attempts": defaults.restart_max_attempts,
                "window": swarm_duration(defaults.restart_window_s),
            },
            "placement": {"constraints": list(props.placement)}
            | ({} if props.max_replicas_per_node is None else {"max_replicas": props.max_replicas_per_node}),
            "log_driver": {
                "name": "json-file",
                "options": {
                    "max-size": f"{defaults.log_max_size_mib}m",
                    "max-file": str(defaults.log_max_files),
                },
            },
        }

    def _rollout(self, failure_action: Literal["rollback", "pause"]) -> dict[str, Any]:
        defaults = self.props.defaults
        return {
            "parallelism": 1,
            "delay": swarm_duration(defaults.update_delay_s),
            "failure_action": failure_action,
            "monitor": swarm_duration(defaults.update_monitor_s),
            "max_failure_ratio": "0.0",
            "order": self.props.update_order or ("stop-first" if self.props.stateful else "start-first"),
        }

    def _endpoint_spec(self) -> dict[str, Any]:
        return {
            "mode": "vip",
            "ports": [
                ServiceEndpointSpecPorts(
                    target_port=p.target, published_port=p.published, protocol=p.protocol, publish_mode=p.mode
                )
                for p in self.props.ports
            ],
        }


def swarm_duration(seconds: int) -> str:
    """``seconds`` in the form the Docker provider reads durations back in (Go's ``Duration.String``
    without a trailing ``0s`` after minutes or ``0m`` after hours: ``90`` -> ``1m30s``, ``120`` -> ``2m``).

    Any other spelling of the same duration (``120s``) differs from state on every plan.
    """
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        text = f"{hours}h{minutes}m{secs}s"
    elif minutes:
        text = f"{minutes}m{secs}s"
    else:
        return f"{secs}s"
    text = text.removesuffix("m0s") + "m" if text.endswith("m0s") else text
    return text.removesuffix("h0m") + "h" if text.endswith("h0m") else text


def _mount(mount: VolumeMount | BindMount | TmpfsMount) -> ServiceTaskSpecContainerSpecMounts:
    if isinstance(mount, TmpfsMount):
        return ServiceTaskSpecContainerSpecMounts(
            type="tmpfs",
            target=literal(mount.target),
            tmpfs_options=ServiceTaskSpecContainerSpecMountsTmpfsOptions(size_bytes=mount.size_mib * _MIB),
        )
    kind = "volume" if isinstance(mount, VolumeMount) else "bind"
    return ServiceTaskSpecContainerSpecMounts(
        type=kind, source=literal(mount.source), target=literal(mount.target), read_only=mount.read_only
    )


_NETWORK_IDS: weakref.WeakKeyDictionary[NamedNetwork, str] = weakref.WeakKeyDictionary()
"""Each network's ``id`` token, read once: most services join the same few overlays, and every read of
an attribute is a round trip to the jsii kernel. The token renders per stack where it is used, so one
token serves every stack (a later stack gets its cross-stack reference as before)."""


def _network_id(network: NamedNetwork) -> str:
    if network not in _NETWORK_IDS:
        _NETWORK_IDS[network] = network.id
    return _NETWORK_IDS[network]


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
