"""The container hardening rules, checked on one view of a service that both sources fill in: the
synthesized Terraform JSON (unit tests) and the live Swarm service spec after a deploy (e2e).

Rules, each one a line of :func:`problems`:

* every shared service (layer2, and Gatus in the platform stack) is in the hardening table
  (``sprocket_infra.constructs.hardening.SERVICES``), in its list of services not hardened here, is one
  of the agents' socket proxies, or meets the table's default by itself (non-root, no capability,
  read-only, own secrets 0400), so a new service cannot arrive without a decision;
* each of them runs as an explicit non-root ``user`` unless the table says why not, drops ``ALL``
  capabilities and gets back exactly what the table gives (nothing, today); its root filesystem is
  read-only unless the table says why not, with a tmpfs exactly where the table says the server writes;
* its secret files are mode 0400 and owned by its uid;
* every catalog service drops ``ALL`` capabilities;
* no service binds a host path but the ones listed in :data:`HOST_BINDS`, each read-only, and none binds
  ``/``.

What Swarm adds when it stores a spec (defaults it fills in) is not read; only these fields are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.docker_socket_proxy import DOCKER_SOCKET
from tests.synth_json import services

AGENTS = ("alloy", "telegraf")
SOCKET_PROXIES = frozenset(naming.agent_socket_proxy(agent) for agent in AGENTS)
"""The agents' proxies in layer2: root by design (the socket's group differs per host), with no
capabilities and a read-only root (constructs/docker_socket_proxy.py)."""
HOST_BINDS: Mapping[str, frozenset[str]] = {
    "telegraf": frozenset({"/proc", "/sys"}),
    "alloy": frozenset({"/var/lib/docker/containers"}),
    **{proxy: frozenset({DOCKER_SOCKET}) for proxy in SOCKET_PROXIES},
}
"""Host paths a service may bind (read-only): the host metrics Telegraf reads, the container logs Alloy
tails (the Docker API's logs route is refused by its proxy), the socket behind each proxy."""
OWN_SECRET_MODE = 0o400
ROOT = "0"
"""Swarm's owner of a secret file when the spec names none."""


@dataclass(frozen=True, kw_only=True)
class Mount:
    kind: str
    target: str
    source: str | None = None
    read_only: bool = False
    size_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class SecretMount:
    target: str
    uid: str | None
    gid: str | None
    mode: int


@dataclass(frozen=True, kw_only=True)
class ServiceView:
    """The hardening-relevant part of one service's container spec."""

    name: str
    user: str | None
    read_only: bool
    cap_drop: tuple[str, ...]
    cap_add: tuple[str, ...]
    mounts: tuple[Mount, ...]
    secrets: tuple[SecretMount, ...]

    @property
    def uid(self) -> int | None:
        """The numeric uid of ``user`` (``root`` counts as 0); None when no user is set."""
        if self.user is None:
            return None
        first = self.user.split(":", 1)[0]
        return 0 if first == "root" else int(first)


def from_synthesized(name: str, body: dict[str, Any]) -> ServiceView:
    """The view of a ``docker_service`` as synthesized (``cdk.tf.json``)."""
    container = body["task_spec"]["container_spec"]
    return ServiceView(
        name=name,
        user=container.get("user"),
        read_only=bool(container.get("read_only", False)),
        cap_drop=tuple(container.get("cap_drop") or ()),
        cap_add=tuple(container.get("cap_add") or ()),
        mounts=_sorted(
            Mount(
                kind=mount["type"],
                target=mount["target"],
                source=mount.get("source"),
                read_only=bool(mount.get("read_only", False)),
                size_bytes=(mount.get("tmpfs_options") or {}).get("size_bytes"),
            )
            for mount in container.get("mounts") or []
        ),
        secrets=_sorted(
            SecretMount(
                target=secret["file_name"],
                uid=secret.get("file_uid") or ROOT,
                gid=secret.get("file_gid") or ROOT,
                mode=int(secret["file_mode"]),
            )
            for secret in container.get("secrets") or []
        ),
    )


def from_live(name: str, inspected: dict[str, Any]) -> ServiceView:
    """The view of a service as Swarm keeps it (``docker service inspect``)."""
    container = inspected["Spec"]["TaskTemplate"]["ContainerSpec"]
    return ServiceView(
        name=name,
        user=container.get("User") or None,
        read_only=bool(container.get("ReadOnly", False)),
        cap_drop=tuple(container.get("CapabilityDrop") or ()),
        cap_add=tuple(container.get("CapabilityAdd") or ()),
        mounts=_sorted(
            Mount(
                kind=mount["Type"],
                target=mount["Target"],
                source=mount.get("Source") or None,
                read_only=bool(mount.get("ReadOnly", False)),
                size_bytes=(mount.get("TmpfsOptions") or {}).get("SizeBytes"),
            )
            for mount in container.get("Mounts") or []
        ),
        secrets=_sorted(
            SecretMount(
                target=secret["File"]["Name"],
                uid=secret["File"].get("UID") or ROOT,
                gid=secret["File"].get("GID") or ROOT,
                mode=int(secret["File"]["Mode"]),
            )
            for secret in container.get("Secrets") or []
        ),
    )


def _sorted(items: Iterable[Mount | SecretMount]) -> tuple[Any, ...]:
    """Mounts and secrets in a fixed order: the provider keeps them as sets, Swarm in its own order."""
    return tuple(sorted(items, key=repr))


def problems(shared: Mapping[str, ServiceView], catalog: Mapping[str, ServiceView]) -> list[str]:
    """Every broken rule, one line each. ``shared``: layer2's services and Gatus; ``catalog``: the apps."""
    found: list[str] = []
    for _, view in sorted(shared.items()):
        found += _shared_problems(view)
    for name, view in sorted(catalog.items()):
        if view.cap_drop != ("ALL",):
            found.append(f"{name}: catalog service keeps capabilities (cap_drop {list(view.cap_drop)})")
        found += _bind_problems(view)
    return found


def _shared_problems(view: ServiceView) -> list[str]:
    name = view.name
    if name in hardening.NOT_HARDENED_HERE:
        if view.cap_drop == ("ALL",) or view.user is not None:
            return [f"{name}: listed as not hardened here, but it is: update NOT_HARDENED_HERE"]
        return _bind_problems(view)
    found = _bind_problems(view)
    if view.cap_drop != ("ALL",):
        found.append(f"{name}: cap_drop is {list(view.cap_drop)}, not ['ALL']")
    if name in SOCKET_PROXIES:
        if view.uid != 0 or not view.read_only or view.cap_add:
            found.append(f"{name}: a socket proxy runs as root, read-only, with no capability")
        return found
    entry = hardening.SERVICES.get(name)
    if entry is None:
        return [*found, *_baseline_problems(view)]
    if view.user != entry.user:
        found.append(f"{name}: user {view.user!r}, the table says {entry.user!r}")
    if view.uid in (None, 0) and entry.root_reason is None:
        found.append(f"{name}: runs as root without a reason in the table")
    if view.read_only != entry.read_only:
        found.append(f"{name}: read_only {view.read_only}, the table says {entry.read_only}")
    if view.cap_add != entry.cap_add:
        found.append(f"{name}: cap_add {list(view.cap_add)}, the table says {list(entry.cap_add)}")
    tmpfs = {(m.target, m.size_bytes) for m in view.mounts if m.kind == "tmpfs"}
    expected = {(s.target, s.size_mib * 1024 * 1024) for s in entry.scratch}
    if tmpfs != expected:
        found.append(f"{name}: tmpfs {sorted(tmpfs)}, the table says {sorted(expected)}")
    for secret in view.secrets:
        owner = (str(entry.uid), str(entry.gid), OWN_SECRET_MODE)
        if (secret.uid, secret.gid, secret.mode) != owner:
            found.append(
                f"{name}: secret {secret.target} is {secret.uid}:{secret.gid} {secret.mode:o}, "
                f"not {entry.user} {OWN_SECRET_MODE:o}"
            )
    return found


def _baseline_problems(view: ServiceView) -> list[str]:
    """A shared service outside the table (built by another construct that hardens it itself) must meet
    the table's default: non-root, no capability back, read-only root, secrets 0400 owned by its uid."""
    uid, _, gid = (view.user or "").partition(":")
    own = all((s.uid, s.gid, s.mode) == (uid, gid, OWN_SECRET_MODE) for s in view.secrets)
    if view.uid in (None, 0) or view.cap_add or not view.read_only or not own:
        return [
            f"{view.name}: not in the hardening table (constructs/hardening.py) and not hardened "
            f"(user {view.user!r}, read_only {view.read_only}, cap_add {list(view.cap_add)}, secrets "
            f"{[(s.uid, s.gid, oct(s.mode)) for s in view.secrets]})"
        ]
    return []


def _bind_problems(view: ServiceView) -> list[str]:
    found = []
    allowed = HOST_BINDS.get(view.name, frozenset())
    for mount in view.mounts:
        if mount.kind != "bind":
            continue
        if mount.source == "/" or mount.source not in allowed:
            found.append(f"{view.name}: binds host path {mount.source} (allowed: {sorted(allowed)})")
        elif not mount.read_only:
            found.append(f"{view.name}: host path {mount.source} is bound writable")
    return found


@dataclass(frozen=True, kw_only=True)
class Figures:
    """README figures: shared services non-root / read-only of the total, capabilities given back,
    host paths bound, catalog services without capabilities."""

    shared: int
    non_root: int
    read_only: int
    capabilities_added: int
    host_binds: int
    catalog: int
    catalog_without_capabilities: int

    def line(self) -> str:
        return (
            f"{self.non_root} of {self.shared} shared services non-root, {self.read_only} read-only, "
            f"{self.capabilities_added} capabilities added, {self.host_binds} host paths bound; "
            f"{self.catalog_without_capabilities} of {self.catalog} catalog services with no capability"
        )


def figures(shared: Mapping[str, ServiceView], catalog: Mapping[str, ServiceView]) -> Figures:
    return Figures(
        shared=len(shared),
        non_root=sum(1 for view in shared.values() if view.uid not in (None, 0)),
        read_only=sum(1 for view in shared.values() if view.read_only),
        capabilities_added=sum(len(view.cap_add) for view in (*shared.values(), *catalog.values())),
        host_binds=sum(1 for view in shared.values() for mount in view.mounts if mount.kind == "bind"),
        catalog=len(catalog),
        catalog_without_capabilities=sum(1 for view in catalog.values() if view.cap_drop == ("ALL",)),
    )


def split(
    stacks: Mapping[str, Mapping[str, dict[str, Any]]], catalog_names: Iterable[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """``(shared, catalog)`` service bodies by name from ``{stack: {service name: body}}``: layer2's
    services and Gatus, then the platform's catalog services (named by ``catalog_names``)."""
    apps = set(catalog_names)
    shared = dict(stacks["layer2"])
    shared |= {name: body for name, body in stacks["platform"].items() if name in hardening.SERVICES}
    catalog = {name: body for name, body in stacks["platform"].items() if name in apps}
    return shared, catalog


class Inspector(Protocol):
    """What :func:`live_report` needs of the e2e Swarm (``tests.e2e.swarm.Swarm``)."""

    def inspect(self, kind: str, names: list[str]) -> dict[str, dict[str, Any]]: ...


@dataclass(frozen=True, kw_only=True)
class LiveReport:
    problems: list[str]
    figures: Figures
    checked: int


def live_report(stacks: Mapping[str, dict[str, Any]], swarm: Inspector) -> LiveReport:
    """The rules on the live specs of every layer2 and platform service of ``stacks`` (the synthesized
    JSON that was deployed), and each live view against its synthesized one."""
    by_stack = {stack: services(stacks[stack]) for stack in ("layer2", "platform")}
    apps = set(by_stack["platform"]) - set(hardening.SERVICES)
    shared, catalog = split(by_stack, apps)
    live = swarm.inspect("service", sorted((*shared, *catalog)))
    missing = sorted((set(shared) | set(catalog)) - set(live))
    found = [f"{name}: not in Swarm" for name in missing]
    live_shared = {name: from_live(name, live[name]) for name in shared if name in live}
    live_catalog = {name: from_live(name, live[name]) for name in catalog if name in live}
    for name, body in (*shared.items(), *catalog.items()):
        declared = from_synthesized(name, body)
        actual = live_shared.get(name) or live_catalog.get(name)
        if actual is not None and actual != declared:
            found.append(f"{name}: Swarm keeps {actual}, synthesized {declared}")
    found += problems(live_shared, live_catalog)
    return LiveReport(
        problems=found,
        figures=figures(live_shared, live_catalog),
        checked=len(live_shared) + len(live_catalog),
    )
