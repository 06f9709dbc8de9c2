"""Who each shared service runs as and what it may do inside its container: one table, read by the service
constructs (to set the spec), by the secret files (to own them) and by the tests and docs (to pin it).

Every service here runs with ``cap_drop: ALL`` and gets no capability back: none of them binds a port
below 1024, changes file ownership or switches users once started. Where the image's entrypoint would
start as root only to ``chown`` its data and drop to its own user (gosu, su-exec, setpriv), the service
starts as that user directly: a named volume is created with the owner of the image's directory it is
mounted on (Docker copies it on first use), and volumes of earlier deploys were already chowned to that
user by the entrypoint, so the chown has nothing left to do. The uids come from each image's Dockerfile
(``source``); no image is pulled or started in this repository's tests, so the entries are checked
against those files, not against a running container (docs/service-hardening.md).

A service that must stay uid 0 says why (``root_reason``), and one whose root filesystem must stay
writable says why too (``writable_root_reason``); the tests refuse an entry without its reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from sprocket_infra.constructs.swarm_service import DockerObject, SecretFile, SwarmServiceProps, TmpfsMount

SECRET_MODE = 0o400
"""Readable by the service's own uid only (each file is owned by it)."""
SHARED_SECRET_MODE = 0o444
"""For a service without an entry here (its image's user is not known): owned by root, readable by any
uid, still visible only inside that one service's containers."""


@dataclass(frozen=True, kw_only=True)
class Scratch:
    """A tmpfs at ``target`` and the write that needs it."""

    target: str
    why: str
    size_mib: int = 64


@dataclass(frozen=True, kw_only=True)
class Hardening:
    uid: int
    gid: int
    source: str
    """Where ``uid``/``gid`` come from (the image's Dockerfile or entrypoint, at the pinned version)."""
    read_only: bool = True
    scratch: tuple[Scratch, ...] = ()
    """Paths outside the volumes the server writes to; each becomes a tmpfs."""
    cap_add: tuple[str, ...] = ()
    root_reason: str | None = None
    """Why uid 0 (required when ``uid`` is 0)."""
    writable_root_reason: str | None = None
    """Why the root filesystem stays writable (required when not ``read_only``)."""

    def __post_init__(self) -> None:
        if (self.uid == 0) != (self.root_reason is not None):
            raise ValueError(f"uid {self.uid}: root_reason is required for uid 0 and only for it")
        if self.read_only == (self.writable_root_reason is not None):
            raise ValueError("writable_root_reason is required when read_only is off, and only then")

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"

    def apply(self, props: SwarmServiceProps) -> SwarmServiceProps:
        """``props`` running as this entry says: explicit user, no capabilities, read-only root, scratch."""
        scratch = tuple(TmpfsMount(target=item.target, size_mib=item.size_mib) for item in self.scratch)
        return dataclasses.replace(
            props,
            user=self.user,
            read_only=self.read_only,
            cap_drop=("ALL",),
            cap_add=self.cap_add,
            mounts=(*props.mounts, *scratch),
        )

    def secret_file(self, secret: DockerObject, target: str) -> SecretFile:
        """``secret`` at ``target``, owned by this service's uid and gid, mode 0400."""
        return SecretFile(secret=secret, target=target, mode=SECRET_MODE, uid=self.uid, gid=self.gid)


TMP = "/tmp"  # noqa: S108 - a tmpfs of the container's own, not a shared host directory
_TMP_WHY = "temporary files"
SERVICES: Mapping[str, Hardening] = {
    "redis": Hardening(
        uid=999,
        gid=999,
        source="redis/docker-library-redis debian/Dockerfile (groupadd -g 999, useradd -u 999; /data "
        "owned by redis); its entrypoint drops privileges only when started as uid 0",
    ),
    "rabbitmq": Hardening(
        uid=100,
        gid=101,
        source="docker-library/rabbitmq 4.2/alpine/Dockerfile at 4.2.3 (addgroup -g 101, adduser -u 100; "
        "/var/lib/rabbitmq owned by rabbitmq); the entrypoint runs su-exec only as uid 0",
        scratch=(
            Scratch(
                target="/var/log/rabbitmq",
                why="RabbitMQ's file log (on by default beside the console log)",
            ),
            Scratch(target=TMP, why=_TMP_WHY),
        ),
    ),
    "influxdb": Hardening(
        uid=1000,
        gid=1000,
        source="influxdata/influxdata-docker influxdb/2.7/alpine/Dockerfile (addgroup -g 1000, adduser "
        "-u 1000; both volume paths owned by influxdb); entrypoint.sh chowns and su-execs only as uid 0",
        scratch=(Scratch(target=TMP, why="the first-start setup writes /tmp/config.json"),),
    ),
    "grafana": Hardening(
        uid=472,
        gid=0,
        source="grafana/grafana Dockerfile (GF_UID 472, GF_GID 0, USER 472): the image's own user and "
        "group; gid 0 owns its data and plugin directories",
        scratch=(Scratch(target=TMP, why=_TMP_WHY),),
    ),
    "n8n": Hardening(
        uid=1000,
        gid=1000,
        source="n8n-io/n8n docker/images/n8n/Dockerfile (USER node) on node:<v>-alpine (addgroup -g 1000 "
        "node, adduser -u 1000)",
        scratch=(
            Scratch(
                target="/home/node/.cache",
                why="n8n writes the editor's static files and node types to ~/.cache/n8n/public",
                size_mib=128,
            ),
            Scratch(target=TMP, why=_TMP_WHY),
        ),
    ),
    "neo4j": Hardening(
        uid=7474,
        gid=7474,
        source="neo4j/docker-neo4j-publish 5.26.8/bullseye/community/Dockerfile (addgroup --gid 7474, "
        "adduser --uid 7474; NEO4J_HOME, /data and /logs mode 777); the entrypoint uses su-exec only "
        "as uid 0",
        read_only=False,
        writable_root_reason="the image's entrypoint writes every NEO4J_* setting into "
        "$NEO4J_HOME/conf/neo4j.conf at each start, next to the shipped defaults (JVM flags) a tmpfs "
        "there would hide, and /logs is an anonymous volume of the image",
    ),
    "loki": Hardening(
        uid=10001,
        gid=10001,
        source="grafana/loki cmd/loki/Dockerfile at v3.7.6 (distroless, /loki owned by 10001, USER 10001)",
    ),
    "telegraf": Hardening(
        uid=65534,
        gid=65534,
        source="influxdata/influxdata-docker telegraf alpine Dockerfile: its telegraf user is made with "
        "adduser -S (no fixed uid), so nobody (65534, in Alpine's base passwd) is used; the entrypoint "
        "setcaps and drops privileges only as uid 0. Telegraf writes nothing and reads host files that "
        "are world-readable",
    ),
    "alloy": Hardening(
        uid=0,
        gid=473,
        source="grafana/alloy Dockerfile at v1.16.0 (no USER: root; groupadd --gid 473 alloy; "
        "/var/lib/alloy owned 473:473 mode 770)",
        root_reason="dockerd writes each container's json-file log as root:root 0640 in root-only "
        "directories; uid 0 reads them as their owner, with no capability. gid 473 is the image's "
        "alloy group, which owns the storage volume (mode 770)",
    ),
    "gatus": Hardening(
        uid=0,
        gid=0,
        source="TwiN/gatus Dockerfile at v5.20.0 (FROM scratch, no USER, no /data directory)",
        root_reason="the image has no /data to copy an owner from, so its new volume is root:root 0755, "
        "and a scratch image has no shell to chown it; uid 0 writes it as its owner, with no capability",
        scratch=(Scratch(target=TMP, why="SQLite's temporary files"),),
    ),
}
"""Every shared service of layer2 (and Gatus, in the platform stack) by its Swarm service name."""

NOT_HARDENED_HERE: Mapping[str, str] = {
    "forward-auth": "built by the edge (constructs/forward_auth.py): its image's Dockerfile is not public "
    "here, so its user is not known; its secret files stay 0444",
}
"""layer2 services without an entry, and why."""


def secret_file(owner: str, secret: DockerObject, target: str) -> SecretFile:
    """``secret`` mounted for service ``owner``: 0400 and owned by its uid when it has an entry."""
    entry = SERVICES.get(owner)
    if entry is None:
        return SecretFile(secret=secret, target=target, mode=SHARED_SECRET_MODE)
    return entry.secret_file(secret, target)
