"""What Docker Swarm would run, read back from the Terraform JSON that cdktf synthesizes.

The routing tests must exercise the labels exactly as ``cdktf synth`` writes them, not a re-typed copy, so
this module turns ``resource.docker_service`` / ``resource.docker_network`` entries of one or more parsed
``cdk.tf.json`` stacks into a small model: each service's name, its service-level labels, the networks its
tasks attach to, and a loopback address standing in for its task IP. Terraform references such as
``${docker_network.ingress_1A2B.name}`` or cross-stack remote-state outputs are resolved the way Terraform
would; anything we cannot resolve raises instead of being guessed, because a guess could hide a wiring bug.

It also reads the Traefik labels (routers, services, middlewares) into plain data so tests can derive the
requests to send, and it checks the Swarm topology Traefik relies on (Traefik and every routed service share
the network named by ``traefik.swarm.network``; forward-auth hosts are services Traefik can reach).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

Stack = Mapping[str, Any]
"""One parsed ``cdk.tf.json``."""

_REFERENCE = re.compile(r"^\$\{(?P<expr>[^${}]+)\}$")


class SynthesizedStackError(ValueError):
    """The synthesized JSON has a shape or reference the tests cannot interpret faithfully."""


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    """A Terraform nested block as a list: cdktf writes single blocks as an object or a one-item list."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
        return value
    raise SynthesizedStackError(f"expected a block (object or list of objects), got {value!r}")


@dataclass(frozen=True)
class TerraformRef:
    """Where a resource lives: which stack, which resource type and logical id."""

    stack: str
    kind: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}:{self.kind}.{self.logical_id}"


class ReferenceResolver:
    """Resolve the few Terraform expressions that name networks in our stacks.

    Supported: a literal string; ``${docker_network.<id>.name|id}`` and
    ``${data.docker_network.<id>.name|id}`` (both resolve to the network *name*, since the stand-in uses
    the name as the network's identity too); ``${data.terraform_remote_state.<rs>.outputs.<out>}``
    (cdktf's cross-stack references), looked up in whichever stack declares output ``<out>``.
    """

    def __init__(self, stacks: Mapping[str, Stack]) -> None:
        self._stacks = stacks

    def network_name(self, value: Any, stack: str) -> str:
        if not isinstance(value, str):
            raise SynthesizedStackError(f"network reference {value!r} in stack {stack} is not a string")
        match = _REFERENCE.match(value)
        if match is None:
            if "${" in value:
                raise SynthesizedStackError(f"cannot resolve interpolation {value!r} in stack {stack}")
            return value
        parts = match["expr"].strip().split(".")
        if len(parts) == 3 and parts[0] == "docker_network" and parts[2] in {"name", "id"}:
            return self._network_attr(stack, "resource", parts[1])
        if len(parts) == 4 and parts[:2] == ["data", "docker_network"] and parts[3] in {"name", "id"}:
            return self._network_attr(stack, "data", parts[2])
        if len(parts) == 5 and parts[:2] == ["data", "terraform_remote_state"] and parts[3] == "outputs":
            return self._remote_output(parts[4], stack)
        raise SynthesizedStackError(f"unsupported network reference {value!r} in stack {stack}")

    def _network_attr(self, stack: str, section: str, logical_id: str) -> str:
        networks = self._stacks[stack].get(section, {}).get("docker_network", {})
        if logical_id not in networks:
            raise SynthesizedStackError(f"{section} docker_network.{logical_id} not found in stack {stack}")
        return self.network_name(networks[logical_id].get("name"), stack)

    def _remote_output(self, output: str, consumer: str) -> str:
        producers = [name for name, body in self._stacks.items() if output in body.get("output", {})]
        if len(producers) != 1:
            raise SynthesizedStackError(
                f"stack {consumer} reads remote output {output!r}, declared by {producers or 'no stack'}"
            )
        producer = producers[0]
        return self.network_name(self._stacks[producer]["output"][output].get("value"), producer)


@dataclass(frozen=True)
class HttpRouter:
    """``traefik.http.routers.<name>.*`` labels of one service."""

    name: str
    rule: str
    entrypoints: tuple[str, ...]
    tls: bool
    certresolver: str | None
    middlewares: tuple[str, ...]
    service: str | None
    tls_domains: tuple[str, ...] = ()
    """``tls.domains[n].main`` / ``.sans``: when set, ACME asks for these instead of the rule's hosts."""


@dataclass(frozen=True)
class TcpRouter:
    """``traefik.tcp.routers.<name>.*`` labels of one service."""

    name: str
    rule: str
    entrypoints: tuple[str, ...]
    tls: bool
    passthrough: bool
    certresolver: str | None
    service: str | None


@dataclass(frozen=True)
class TraefikLabels:
    """The Traefik v3 configuration one service's labels declare, as plain data."""

    enabled: bool
    network: str | None
    http_routers: dict[str, HttpRouter]
    http_service_ports: dict[str, int]
    middlewares: dict[str, dict[str, str]]
    """Middleware name -> its options below ``traefik.http.middlewares.<name>.``, lower-cased."""
    tcp_routers: dict[str, TcpRouter]
    tcp_service_ports: dict[str, int]

    @property
    def forwardauth_addresses(self) -> dict[str, str]:
        """Forward-auth middleware name -> the address Traefik calls."""
        return {
            name: conf["forwardauth.address"]
            for name, conf in self.middlewares.items()
            if "forwardauth.address" in conf
        }

    @classmethod
    def parse(cls, labels: Mapping[str, str]) -> TraefikLabels:
        def group(prefix: str) -> dict[str, dict[str, str]]:
            found: dict[str, dict[str, str]] = {}
            for key, value in labels.items():
                if key.startswith(prefix):
                    # Traefik matches option names case-insensitively (forwardAuth == forwardauth).
                    name, _, rest = key[len(prefix) :].partition(".")
                    found.setdefault(name, {})[rest.lower()] = value
            return found

        def names(value: str | None) -> tuple[str, ...]:
            return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()

        def port(owner: str, value: str | None) -> int:
            if value is None or not value.isdigit():
                raise SynthesizedStackError(f"{owner}: loadbalancer.server.port {value!r} is not a port")
            return int(value)

        http_routers = {
            name: HttpRouter(
                name=name,
                rule=conf.get("rule", ""),
                entrypoints=names(conf.get("entrypoints")),
                tls=conf.get("tls", "").lower() == "true" or "tls.certresolver" in conf,
                certresolver=conf.get("tls.certresolver"),
                middlewares=names(conf.get("middlewares")),
                service=conf.get("service"),
                tls_domains=tuple(
                    domain
                    for key, value in sorted(conf.items())
                    if key.startswith("tls.domains[") and key.endswith(("].main", "].sans"))
                    for domain in names(value)
                ),
            )
            for name, conf in group("traefik.http.routers.").items()
        }
        tcp_routers = {
            name: TcpRouter(
                name=name,
                rule=conf.get("rule", ""),
                entrypoints=names(conf.get("entrypoints")),
                tls=conf.get("tls", "").lower() == "true" or "tls.certresolver" in conf,
                passthrough=conf.get("tls.passthrough", "").lower() == "true",
                certresolver=conf.get("tls.certresolver"),
                service=conf.get("service"),
            )
            for name, conf in group("traefik.tcp.routers.").items()
        }
        return cls(
            enabled=labels.get("traefik.enable", "").lower() == "true",
            network=labels.get("traefik.swarm.network"),
            http_routers=http_routers,
            http_service_ports={
                name: port(f"http service {name}", conf.get("loadbalancer.server.port"))
                for name, conf in group("traefik.http.services.").items()
            },
            middlewares=group("traefik.http.middlewares."),
            tcp_routers=tcp_routers,
            tcp_service_ports={
                name: port(f"tcp service {name}", conf.get("loadbalancer.server.port"))
                for name, conf in group("traefik.tcp.services.").items()
            },
        )


@dataclass(frozen=True)
class SwarmService:
    """One ``docker_service`` as Swarm would schedule it, with a loopback address for its single task."""

    ref: TerraformRef
    name: str
    image: str
    args: tuple[str, ...]
    healthcheck: tuple[str, ...]
    """The healthcheck ``test`` as synthesized, e.g. ``("CMD", "traefik", "healthcheck", ...)``."""
    config_files: dict[str, str]
    """Container path -> the ``config_id`` expression of the Docker config mounted there."""
    labels: dict[str, str]
    networks: tuple[str, ...]
    address: str
    global_mode: bool
    endpoint_mode: str

    @property
    def traefik(self) -> TraefikLabels:
        return TraefikLabels.parse(self.labels)

    @property
    def is_traefik(self) -> bool:
        """Traefik's own service (recognised by its image), which the harness replaces by a local process."""
        repository = self.image.split("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]
        return repository.rsplit("/", 1)[-1] == "traefik"

    def http_router_service(self, router: HttpRouter) -> str:
        """The Traefik service a router sends to, applying Traefik's rule for an omitted ``service``."""
        if router.service:
            return router.service
        declared = self.traefik.http_service_ports
        if len(declared) == 1:
            return next(iter(declared))
        raise SynthesizedStackError(
            f"{self.name}: router {router.name} names no service and the labels declare {len(declared)}"
        )

    def tcp_router_service(self, router: TcpRouter) -> str:
        if router.service:
            return router.service
        declared = self.traefik.tcp_service_ports
        if len(declared) == 1:
            return next(iter(declared))
        raise SynthesizedStackError(
            f"{self.name}: TCP router {router.name} names no service and the labels declare {len(declared)}"
        )


@dataclass
class SwarmModel:
    """All services and networks of an environment's stacks, plus the label rewrites the stand-in applies."""

    services: dict[str, SwarmService]
    networks: tuple[str, ...]
    label_rewrites: list[str] = field(default_factory=list)

    def routed(self) -> Iterator[SwarmService]:
        """Services Traefik would pick up (``exposedByDefault: false``, so ``traefik.enable=true`` only)."""
        return (svc for svc in self.services.values() if svc.traefik.enabled)

    def middleware(self, reference: str) -> tuple[str, dict[str, str]]:
        """Find a router's middleware reference (``name`` or ``name@swarm``) among all services' labels.

        Returns the middleware type (``forwardauth``, ``headers``...) and its options. Middlewares from
        other providers cannot exist in this setup (only the swarm provider is configured), so they raise.
        """
        name, _, provider = reference.partition("@")
        if provider not in {"", "swarm"}:
            raise SynthesizedStackError(f"middleware {reference!r} comes from provider {provider!r}")
        found = [svc.traefik.middlewares[name] for svc in self.routed() if name in svc.traefik.middlewares]
        if not found:
            raise SynthesizedStackError(
                f"middleware {reference!r} is not defined by the labels of any routed service, "
                "so Traefik disables every router using it (middleware does not exist)"
            )
        if len(found) > 1:
            raise SynthesizedStackError(
                f"middleware {reference!r} is defined by {len(found)} routed services"
            )
        types = {key.split(".", 1)[0] for key in found[0]}
        if len(types) != 1:
            raise SynthesizedStackError(f"middleware {reference!r} mixes types {sorted(types)}")
        kind = types.pop()
        return kind, {key.split(".", 1)[1]: value for key, value in found[0].items() if "." in key}

    def traefik_service(self) -> SwarmService:
        candidates = [svc for svc in self.services.values() if svc.is_traefik]
        if len(candidates) != 1:
            raise SynthesizedStackError(f"expected one Traefik docker_service, found {len(candidates)}")
        return candidates[0]

    def by_host(self, host: str) -> SwarmService | None:
        """The service Swarm's DNS would answer for ``host`` (``<name>`` or ``tasks.<name>``)."""
        return self.services.get(host.removeprefix("tasks."))

    def served_labels(self, service: SwarmService) -> dict[str, str]:
        """Labels as the stand-in serves them: forward-auth URLs pointing at a Swarm service name get that
        service's loopback address instead, because on a real node Swarm's embedded DNS resolves the name
        to the service (VIP) and here nothing would resolve it. Nothing else is changed."""
        served = dict(service.labels)
        for key, value in service.labels.items():
            if key.startswith("traefik.http.middlewares.") and key.endswith(".forwardauth.address"):
                served[key] = self._swarm_dns(value)
        return served

    def _swarm_dns(self, url: str) -> str:
        parts = urlsplit(url)
        target = self.by_host(parts.hostname or "")
        if target is None:
            return url
        netloc = target.address if parts.port is None else f"{target.address}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def topology_problems(self, default_network: str | None = None) -> list[str]:
        """Wiring mistakes that would break routing on a real Swarm, described precisely.

        ``default_network`` is ``providers.swarm.network`` from the static config, used when a service has
        no ``traefik.swarm.network`` label.
        """
        problems: list[str] = []
        traefik = self.traefik_service()
        for svc in self.routed():
            network = svc.traefik.network or default_network
            if network is None:
                problems.append(f"{svc.name}: no traefik.swarm.network label and no provider default")
                continue
            if network not in svc.networks:
                problems.append(
                    f"{svc.name}: traefik.swarm.network={network!r} "
                    f"but its tasks attach to {list(svc.networks)}"
                )
            if network not in traefik.networks:
                problems.append(
                    f"{svc.name}: Traefik ({traefik.name}) is not attached to network {network!r} "
                    f"(it attaches to {list(traefik.networks)})"
                )
            for middleware, address in svc.traefik.forwardauth_addresses.items():
                host = urlsplit(address).hostname or ""
                target = self.by_host(host)
                if target is None:
                    problems.append(
                        f"{svc.name}: forward-auth middleware {middleware} calls {address!r}; "
                        f"{host!r} is not a service of these stacks, so Swarm DNS cannot resolve it"
                    )
                elif not set(target.networks) & set(traefik.networks):
                    problems.append(
                        f"{svc.name}: forward-auth target {target.name} shares no network with Traefik"
                    )
        return problems


def _labels(raw: Any, ref: TerraformRef, resolver: ReferenceResolver) -> dict[str, str]:
    """Service labels as Terraform would apply them: a value that is exactly a network reference (e.g.
    ``traefik.swarm.network = ${docker_network.ingress.name}``) becomes that network's name; any other
    interpolation raises, since its applied value is unknown here."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise SynthesizedStackError(f"{ref}: labels should be a list of {{label, value}}, got {raw!r}")
    labels: dict[str, str] = {}
    for item in raw:
        key, value = item.get("label"), item.get("value")
        if not isinstance(key, str) or not isinstance(value, str) or "${" in key:
            raise SynthesizedStackError(f"{ref}: malformed label entry {item!r}")
        if "${" in value:
            try:
                value = resolver.network_name(value, ref.stack)
            except SynthesizedStackError as exc:
                raise SynthesizedStackError(f"{ref}: label {key}: {exc}") from exc
        if key in labels:
            raise SynthesizedStackError(f"{ref}: label {key} is set twice")
        labels[key] = value
    return labels


def build_swarm_model(stacks: Mapping[str, Stack], subnet: str) -> SwarmModel:
    """Read every ``docker_service`` of ``stacks`` and give each its own address in ``subnet`` (a /24
    inside 127.0.0.0/8), in name order so a run is reproducible."""
    network = ipaddress.ip_network(subnet)
    if not network.subnet_of(ipaddress.ip_network("127.0.0.0/8")) or network.prefixlen != 24:
        raise ValueError(f"{subnet} must be a /24 inside 127.0.0.0/8")
    resolver = ReferenceResolver(stacks)

    raw_services: list[tuple[TerraformRef, Mapping[str, Any]]] = []
    network_names: set[str] = set()
    for stack_name, stack in stacks.items():
        for body in stack.get("resource", {}).get("docker_network", {}).values():
            network_names.add(resolver.network_name(body.get("name"), stack_name))
        for logical_id, body in stack.get("resource", {}).get("docker_service", {}).items():
            raw_services.append((TerraformRef(stack_name, "docker_service", logical_id), body))

    drafts: list[dict[str, Any]] = []
    for ref, body in raw_services:
        name = body.get("name")
        if not isinstance(name, str) or "${" in name:
            raise SynthesizedStackError(f"{ref}: service name {name!r} is not a literal string")
        task_specs = _blocks(body.get("task_spec"))
        if len(task_specs) != 1:
            raise SynthesizedStackError(f"{ref}: expected one task_spec block, got {len(task_specs)}")
        networks = tuple(
            resolver.network_name(attachment.get("id"), ref.stack)
            for attachment in _blocks(task_specs[0].get("networks_advanced"))
        )
        network_names.update(networks)
        containers = _blocks(task_specs[0].get("container_spec"))
        container: Mapping[str, Any] = containers[0] if containers else {}
        healthchecks = _blocks(container.get("healthcheck"))
        modes = _blocks(body.get("mode"))
        endpoint = _blocks(body.get("endpoint_spec"))
        drafts.append(
            {
                "ref": ref,
                "name": name,
                "image": str(container.get("image", "")),
                "args": tuple(str(arg) for arg in container.get("args") or ()),
                "healthcheck": tuple(str(arg) for arg in healthchecks[0].get("test", ()))
                if healthchecks
                else (),
                "config_files": {
                    str(item.get("file_name")): str(item.get("config_id", ""))
                    for item in _blocks(container.get("configs"))
                },
                "labels": _labels(body.get("labels"), ref, resolver),
                "networks": networks,
                "global_mode": bool(modes and modes[0].get("global")),
                "endpoint_mode": str(endpoint[0].get("mode", "vip")) if endpoint else "vip",
            }
        )

    hosts = list(network.hosts())[1:]  # .1 is left alone: other local servers like to bind it
    drafts.sort(key=lambda draft: draft["name"])
    if len(drafts) > len(hosts):
        raise SynthesizedStackError(f"{len(drafts)} services do not fit in {subnet}")
    services: dict[str, SwarmService] = {}
    for draft, address in zip(drafts, hosts, strict=False):
        if draft["name"] in services:
            raise SynthesizedStackError(f"service name {draft['name']!r} is used twice ({draft['ref']})")
        services[draft["name"]] = SwarmService(address=str(address), **draft)

    model = SwarmModel(services=services, networks=tuple(sorted(network_names)))
    for svc in services.values():
        for key, value in model.served_labels(svc).items():
            if value != svc.labels[key]:
                model.label_rewrites.append(f"{svc.name}: {key}: {svc.labels[key]} -> {value} (Swarm DNS)")
    return model
