"""``PlatformService``: one catalog entry as a Swarm service, routed by Traefik when it has routes.

Everything about the service comes from its entry and the environment: the image at the environment's
pinned tag, the settings file rendered for this environment (and the database's CA certificate, when it
has one), one Docker secret per secret it needs (read from Vault at deploy time), the overlays of the
dependencies it uses, its routers with their forward-auth rules. Adding an entry to the catalog therefore
adds a complete service without touching code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import Token
from constructs import Construct

from sprocket_infra import naming, placement
from sprocket_infra.catalog.dependencies import Dependency
from sprocket_infra.catalog.model import ALPHA_GATE_RULE, Route, ServiceEntry
from sprocket_infra.catalog.model import Healthcheck as HealthcheckSpec
from sprocket_infra.constructs.edge import Routing
from sprocket_infra.constructs.swarm_service import (
    Healthcheck,
    NamedNetwork,
    Resources,
    SecretFile,
    SwarmServiceProps,
    TmpfsMount,
    VolumeMount,
)
from sprocket_infra.constructs.vault_docker_secrets import VaultDockerSecrets
from sprocket_infra.edge_networks import zone_of
from sprocket_infra.platform_config.admin_tokens import admin_token_files
from sprocket_infra.platform_config.context import RenderContext
from sprocket_infra.platform_config.dependencies import Layer2Outputs
from sprocket_infra.platform_config.render import app_config_file, database_ca_file, filled, filled_env
from sprocket_infra.platform_config.secret_refs import secret_ref
from sprocket_infra.routing import HttpRoute

SHARED_SECRET_MODE = 0o444
"""For an entry that names no ``security.user``: the image may drop root and a Swarm secret file is owned
by root, so any uid may read it. The file exists only inside this service's containers."""
OWN_SECRET_MODE = 0o400
"""For an entry that names its ``security.user``: the file is owned by that uid and readable by it alone."""


@dataclass(frozen=True, kw_only=True)
class PlatformServiceProps:
    context: RenderContext
    """The entry, its environment, the catalog and layer2."""
    routing: Routing
    """layer1's edge; the entry's routes (if any) are attached through it."""
    networks: Mapping[str, NamedNetwork]
    """The platform's own overlays by purpose (``platform``, ``dgraph``)."""
    dependency_networks: Mapping[Dependency, NamedNetwork]
    """layer2's overlay per dependency (``redis`` -> data network); managed ones have none."""
    vault_secrets: VaultDockerSecrets
    """The stack's one reader of Vault, shared by all services so each secret path is read once."""

    def __post_init__(self) -> None:
        missing = sorted(set(self.context.entry.networks) - set(self.networks))
        if missing:
            raise ValueError(f"service {self.context.key}: no platform network for purposes {missing}")


class PlatformService(Construct):
    """Public attributes: ``name`` (the Swarm service name) and ``service`` (its :class:`SwarmService`)."""

    def __init__(self, scope: Construct, construct_id: str, props: PlatformServiceProps) -> None:
        super().__init__(scope, construct_id)
        ctx = props.context
        entry = ctx.entry
        self.name = ctx.service_name(ctx.key)
        configs = tuple(file for file in (app_config_file(ctx), database_ca_file(ctx)) if file is not None)
        service = SwarmServiceProps(
            name=self.name,
            image=_image(ctx),
            healthcheck=_healthcheck(entry, ctx.layer2),
            resources=Resources(cpus=entry.resources.cpus, memory_mib=entry.resources.memory_mib),
            networks=_networks(entry, props),
            env=filled_env(ctx),
            command=None if entry.command is None else filled(ctx, entry.command),
            configs=configs,
            secrets=(
                *self._secrets(ctx, props.vault_secrets),
                *admin_token_files(ctx, props.vault_secrets, owner=self.name, mode=SHARED_SECRET_MODE),
            ),
            mounts=_mounts(ctx),
            user=entry.security.user,
            read_only=entry.security.read_only,
            cap_drop=("ALL",),
            cap_add=entry.security.cap_add,
            replicas=placement.platform_replicas(ctx.environment, ctx.key, entry),
            placement=placement.volume_placement(ctx.environment) if entry.stateful else (),
            max_replicas_per_node=placement.max_replicas_per_node(ctx.environment, entry),
            stateful=entry.stateful,
            update_order=entry.rollout,
        )
        routing = props.routing
        self.service = routing.route(
            self,
            "service",
            service,
            routes=[_route(ctx, routing, route, self.name) for route in entry.routes],
            origin=f"{ctx.catalog.source}: services.{ctx.key}.routes",
            edge=naming.platform_zone(ctx.environment, zone_of(entry)),
        )

    def _secrets(self, ctx: RenderContext, vault_secrets: VaultDockerSecrets) -> tuple[SecretFile, ...]:
        files = []
        owner = ctx.entry.security.uid_gid
        uid, gid = owner if owner is not None else (None, None)
        mode = SHARED_SECRET_MODE if owner is None else OWN_SECRET_MODE
        for name, stem in sorted(ctx.entry.secret_files.items()):
            ref = secret_ref(ctx.environment, ctx.layer2, name, app=ctx.key)
            if ref is None:  # a dependency this environment does not offer
                continue
            secret = vault_secrets.docker_secret(ref, owner=self.name, owner_id=ctx.key)
            files.append(
                SecretFile(secret=secret, target=naming.secret_file(stem), mode=mode, uid=uid, gid=gid)
            )
        return tuple(files)


def _mounts(ctx: RenderContext) -> tuple[VolumeMount | TmpfsMount, ...]:
    """The entry's volume (if any), then a tmpfs for each ``security.tmpfs`` path."""
    entry = ctx.entry
    volume = (
        ()
        if entry.volume is None
        else (VolumeMount(source=naming.volume_name(ctx.environment, ctx.key), target=entry.volume),)
    )
    return (*volume, *(TmpfsMount(target=path) for path in entry.security.tmpfs))


def _image(ctx: RenderContext) -> str:
    entry = ctx.entry
    if entry.repository is not None:
        return naming.app_image(ctx.environment, entry.repository, ctx.key)
    assert entry.image is not None  # the catalog model requires one of the two
    return entry.image


def _networks(entry: ServiceEntry, props: PlatformServiceProps) -> list[NamedNetwork]:
    """The entry's platform overlays, then its dependencies' (each once, in a fixed order).

    Networks are told apart by object: another stack's network name is a fresh token on every read.
    """
    chosen = [props.networks[purpose] for purpose in entry.networks]
    chosen += [props.dependency_networks[dep] for dep in entry.uses if dep in props.dependency_networks]
    unique: dict[int, NamedNetwork] = {}
    for network in chosen:
        unique.setdefault(id(network), network)
    return list(unique.values())


def _route(ctx: RenderContext, routing: Routing, route: Route, service_name: str) -> HttpRoute:
    environment = ctx.environment
    rules = [route.forward_auth] if route.forward_auth else []
    if route.alpha_gate and environment.platform.alpha_restrictions:
        rules.append(ALPHA_GATE_RULE)
    return HttpRoute(
        name=naming.router_name(service_name, route.name),
        hosts=naming.host_forms(
            environment.routing, None if route.apex else route.subdomain, answers_on_ips=route.answers_on_ips
        ),
        port=route.port or ctx.entry.port or 0,
        middlewares=tuple(routing.middleware(rule) for rule in rules),
    )


def _healthcheck(entry: ServiceEntry, layer2: Layer2Outputs) -> Healthcheck:
    spec = entry.healthcheck
    return Healthcheck(
        test=tuple(_probe(spec, entry.port, layer2)),
        interval_s=spec.interval_s,
        timeout_s=spec.timeout_s,
        retries=spec.retries,
        start_period_s=spec.start_period_s,
    )


def _probe(spec: HealthcheckSpec, port: int | None, layer2: Layer2Outputs) -> Sequence[str]:
    if spec.command is not None:
        return spec.command
    if spec.http is not None:
        # Node is in every Sprocket app image; curl and wget are not.
        url = json.dumps(f"http://127.0.0.1:{port}{spec.http}")
        script = (
            f"require('http').get({url}, r => process.exit(r.statusCode < 500 ? 0 : 1))"
            ".on('error', () => process.exit(1))"
        )
        return ("CMD", "node", "-e", script)
    dependency = layer2.redis if spec.connected_to == "redis" else layer2.rabbitmq
    # An int is never a token; only anything else costs a round trip to the jsii kernel to ask.
    if not isinstance(dependency.port, int) and Token.is_unresolved(dependency.port):
        raise ValueError(
            f"healthcheck 'connected_to: {spec.connected_to}' needs a fixed port, not a reference"
        )
    # An established TCP connection (state 01) to the dependency's port, read from the kernel's table.
    pattern = f":{int(dependency.port):04X} 01 "
    return ("CMD-SHELL", f"grep -q '{pattern}' /proc/net/tcp /proc/net/tcp6")
