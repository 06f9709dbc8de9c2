"""Container hardening in the synthesized JSON: users, read-only roots, capabilities, tmpfs, secret
ownership and host mounts of every shared service, and capabilities of every catalog service.

The rules themselves live in tests/e2e/hardening_checks.py, which the e2e deploy also runs on the live
Swarm specs; here they run on ``cdk.tf.json``, each one is shown to fail on a spec that breaks it, and the
JSON of every service is pinned with literal values.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sprocket_infra.app import build_app
from sprocket_infra.catalog import CATALOG_FILE, parse_catalog
from sprocket_infra.catalog.model import Security
from sprocket_infra.catalog.vocabulary import default_vocabulary
from sprocket_infra.config import load_environment
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.hardening import Hardening
from sprocket_infra.constructs.observability.telegraf import DISK_PATH
from tests.conftest import ENVIRONMENTS, Stacks
from tests.e2e.hardening_checks import (
    Mount,
    SecretMount,
    ServiceView,
    figures,
    from_synthesized,
    live_report,
    problems,
    split,
)
from tests.synth_json import mounted_file, services

MIB = 1024 * 1024

# service -> (user, read-only root, tmpfs (target, MiB), host paths bound read-only)
PINNED: dict[str, tuple[str, bool, tuple[tuple[str, int], ...], tuple[str, ...]]] = {
    "redis": ("999:999", True, (), ()),
    "rabbitmq": ("100:101", True, (("/var/log/rabbitmq", 64), ("/tmp", 64)), ()),
    "influxdb": ("1000:1000", True, (("/tmp", 64),), ()),
    "grafana": ("472:0", True, (("/tmp", 64),), ()),
    "n8n": ("1000:1000", True, (("/home/node/.cache", 128), ("/tmp", 64)), ()),
    "neo4j": ("7474:7474", False, (), ()),
    "loki": ("10001:10001", True, (), ()),
    "telegraf": ("65534:65534", True, (), ("/proc", "/sys")),
    "alloy": ("0:473", True, (), ("/var/lib/docker/containers",)),
    "gatus": ("0:0", True, (("/tmp", 64),), ()),
}


def _views(stacks: Stacks) -> tuple[dict[str, ServiceView], dict[str, ServiceView]]:
    by_stack = {stack: services(stacks[stack]) for stack in ("layer2", "platform")}
    apps = set(by_stack["platform"]) - set(hardening.SERVICES)
    shared, catalog = split(by_stack, apps)
    return (
        {name: from_synthesized(name, body) for name, body in shared.items()},
        {name: from_synthesized(name, body) for name, body in catalog.items()},
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_shared_and_catalog_service_meets_the_rules(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    shared, catalog = _views(synth_stacks(environment))
    assert set(PINNED) <= set(shared)
    assert catalog, "no catalog services found"
    assert problems(shared, catalog) == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("name", sorted(PINNED))
def test_container_spec_is_pinned(synth_stacks: Callable[[str], Stacks], environment: str, name: str) -> None:
    user, read_only, tmpfs, binds = PINNED[name]
    stack = "platform" if name == "gatus" else "layer2"
    container = services(synth_stacks(environment)[stack])[name]["task_spec"]["container_spec"]
    assert container["user"] == user
    assert container["read_only"] is read_only
    assert container["cap_drop"] == ["ALL"]
    assert "cap_add" not in container
    mounts = container.get("mounts", [])
    assert [(m["target"], m["tmpfs_options"]["size_bytes"]) for m in mounts if m["type"] == "tmpfs"] == [
        (target, size * MIB) for target, size in tmpfs
    ]
    assert [(m["source"], m["read_only"]) for m in mounts if m["type"] == "bind"] == [
        (source, True) for source in binds
    ]
    uid, gid = user.split(":")
    assert {(s["file_mode"], s.get("file_uid"), s.get("file_gid")) for s in container.get("secrets", [])} <= {
        (0o400, uid, gid)
    }


def test_the_pins_are_the_table() -> None:
    """The table and this file say the same; changing one without the other is a deliberate act."""
    assert {name: entry.user for name, entry in hardening.SERVICES.items()} == {
        name: pin[0] for name, pin in PINNED.items()
    }
    assert {name: entry.read_only for name, entry in hardening.SERVICES.items()} == {
        name: pin[1] for name, pin in PINNED.items()
    }
    assert all(entry.cap_add == () for entry in hardening.SERVICES.values())


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_telegraf_measures_disk_on_its_own_read_only_volume(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    stacks = synth_stacks(environment)
    body = services(stacks["layer2"])["telegraf"]
    container = body["task_spec"]["container_spec"]
    volumes = [m for m in container["mounts"] if m["type"] == "volume"]
    assert volumes == [{"read_only": True, "source": "telegraf-disk", "target": DISK_PATH, "type": "volume"}]
    assert container["env"]["HOST_PROC_MOUNTINFO"] == "/proc/self/mountinfo"
    assert "HOST_MOUNT_PREFIX" not in container["env"]
    conf = mounted_file(stacks["layer2"], body, "/etc/telegraf/telegraf.conf")
    assert f'[[inputs.disk]]\n  mount_points = ["{DISK_PATH}"]\n' in conf


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_catalog_service_drops_every_capability(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    _, catalog = _views(synth_stacks(environment))
    assert len(catalog) == 13
    assert {view.cap_drop for view in catalog.values()} == {("ALL",)}
    assert {view.cap_add for view in catalog.values()} == {()}


def test_figures_for_the_readme(synth_stacks: Callable[[str], Stacks]) -> None:
    shared, catalog = _views(synth_stacks("prod"))
    counted = figures(shared, catalog)
    print(counted.line())  # the figures the README quotes (visible with -s)
    assert counted.capabilities_added == 0
    assert counted.host_binds == 5  # telegraf /proc and /sys, alloy's log directory, two sockets
    assert counted.non_root == counted.shared - 5  # alloy, gatus, two socket proxies, forward-auth
    assert counted.read_only == counted.shared - 2  # neo4j, forward-auth


# --- each rule fails on a spec that breaks it ------------------------------------------------------

_GOOD = ServiceView(
    name="redis",
    user="999:999",
    read_only=True,
    cap_drop=("ALL",),
    cap_add=(),
    mounts=(Mount(kind="volume", target="/data", source="redis-data"),),
    secrets=(SecretMount(target="/run/secrets/x", uid="999", gid="999", mode=0o400),),
)
_APP = dataclasses.replace(_GOOD, name="local-web", user=None, secrets=())
_BROKEN = {
    "root": (dataclasses.replace(_GOOD, user="0:0"), "user '0:0'"),
    "no user": (dataclasses.replace(_GOOD, user=None), "without a reason"),
    "capabilities kept": (dataclasses.replace(_GOOD, cap_drop=()), "not ['ALL']"),
    "capability added": (dataclasses.replace(_GOOD, cap_add=("CHOWN",)), "cap_add ['CHOWN']"),
    "writable root": (dataclasses.replace(_GOOD, read_only=False), "read_only False"),
    "stray tmpfs": (
        dataclasses.replace(_GOOD, mounts=(Mount(kind="tmpfs", target="/tmp", size_bytes=MIB),)),
        "tmpfs",
    ),
    "secret readable by all": (
        dataclasses.replace(_GOOD, secrets=(SecretMount(target="/s", uid=None, gid=None, mode=0o444),)),
        "secret /s",
    ),
    "host root bound": (
        dataclasses.replace(_GOOD, mounts=(Mount(kind="bind", target="/h", source="/", read_only=True),)),
        "binds host path /",
    ),
    "host path writable": (
        dataclasses.replace(
            _GOOD,
            name="telegraf",
            user="65534:65534",
            secrets=(),
            mounts=(Mount(kind="bind", target="/p", source="/proc"),),
        ),
        "bound writable",
    ),
    "unknown and root": (
        dataclasses.replace(_GOOD, name="newcomer", user=None),
        "not in the hardening table",
    ),
}


@pytest.mark.parametrize("case", sorted(_BROKEN))
def test_fails_when_a_shared_service_breaks_a_rule(case: str) -> None:
    view, expected = _BROKEN[case]
    found = problems({view.name: view}, {})
    assert any(expected in line for line in found), found


def test_fails_when_a_catalog_service_keeps_its_capabilities() -> None:
    assert problems({}, {"local-web": _APP}) == []
    found = problems({}, {"local-web": dataclasses.replace(_APP, cap_drop=())})
    assert found == ["local-web: catalog service keeps capabilities (cap_drop [])"]


def test_fails_when_the_not_hardened_list_is_out_of_date() -> None:
    hardened = dataclasses.replace(_GOOD, name="forward-auth", secrets=())
    assert problems({"forward-auth": hardened}, {}) == [
        "forward-auth: listed as not hardened here, but it is: update NOT_HARDENED_HERE"
    ]


def test_a_service_outside_the_table_passes_when_it_hardens_itself() -> None:
    own = dataclasses.replace(
        _GOOD,
        name="postgres-grants",
        user="70:70",
        secrets=(SecretMount(target="/s", uid="70", gid="70", mode=0o400),),
    )
    assert problems({own.name: own}, {}) == []


# --- the table's own checks --------------------------------------------------------------------------


def test_fails_when_uid_0_has_no_reason() -> None:
    with pytest.raises(ValueError, match="root_reason is required for uid 0"):
        Hardening(uid=0, gid=0, source="x")


def test_fails_when_a_writable_root_has_no_reason() -> None:
    with pytest.raises(ValueError, match="writable_root_reason is required"):
        Hardening(uid=1, gid=1, source="x", read_only=False)


def test_fails_when_a_non_root_entry_gives_a_root_reason() -> None:
    with pytest.raises(ValueError, match="only for it"):
        Hardening(uid=1, gid=1, source="x", root_reason="because")


def test_docs_table_names_every_entry_and_its_user() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "service-hardening.md").read_text()
    for name, entry in hardening.SERVICES.items():
        assert f"| {name} | `{entry.user}` |" in doc, name
    for name in hardening.NOT_HARDENED_HERE:
        assert f"| {name} |" in doc, name


# --- the catalog's security block ------------------------------------------------------------------


def test_fails_when_a_catalog_user_is_root() -> None:
    with pytest.raises(ValidationError, match="is root"):
        Security(user="0:1000")


def test_fails_when_a_catalog_tmpfs_is_the_volume() -> None:
    data = yaml.safe_load(CATALOG_FILE.read_text())
    data["services"]["elo-dgraph-zero"]["security"] = {"tmpfs": ["/dgraph"]}
    with pytest.raises(Exception, match="repeats a path or the volume"):
        parse_catalog(data, source="test", vocabulary=default_vocabulary())


def test_a_catalog_user_owns_its_secrets_and_gets_its_tmpfs(tmp_path: Path) -> None:
    data = yaml.safe_load(CATALOG_FILE.read_text())
    data["services"]["core"]["security"] = {"user": "1000:1000", "read_only": True, "tmpfs": ["/tmp"]}
    catalog = parse_catalog(data, source="test", vocabulary=default_vocabulary())
    build_app(load_environment("local"), catalog=catalog, outdir=str(tmp_path)).synth()
    platform: dict[str, Any] = json.loads((tmp_path / "stacks" / "platform" / "cdk.tf.json").read_text())
    container = services(platform)["local-core"]["task_spec"]["container_spec"]
    assert (container["user"], container["read_only"], container["cap_drop"]) == ("1000:1000", True, ["ALL"])
    assert [m["target"] for m in container["mounts"] if m["type"] == "tmpfs"] == ["/tmp"]
    owned = {(s["file_mode"], s.get("file_uid"), s.get("file_gid")) for s in container["secrets"]}
    assert owned == {(0o400, "1000", "1000")}
    untouched = services(platform)["local-web"]["task_spec"]["container_spec"]
    assert "user" not in untouched
    assert {s["file_mode"] for s in untouched["secrets"]} == {0o444}


# --- the e2e report, on a stand-in for the live Swarm ------------------------------------------------


def _as_swarm_keeps_it(body: dict[str, Any]) -> dict[str, Any]:
    """A stand-in for ``docker service inspect``: the container spec fields the checks read, in the
    Engine API's names, as Swarm stores what the provider sends (the e2e deploy reads the real one)."""
    container = body["task_spec"]["container_spec"]
    spec: dict[str, Any] = {
        "User": container.get("user", ""),
        "ReadOnly": container.get("read_only", False),
        "CapabilityDrop": container.get("cap_drop"),
        "CapabilityAdd": container.get("cap_add"),
        "Mounts": [
            {
                "Type": m["type"],
                "Target": m["target"],
                "Source": m.get("source", ""),
                "ReadOnly": m.get("read_only", False),
                **(
                    {"TmpfsOptions": {"SizeBytes": m["tmpfs_options"]["size_bytes"]}}
                    if "tmpfs_options" in m
                    else {}
                ),
            }
            for m in reversed(container.get("mounts", []))
        ],
        "Secrets": [
            {
                "File": {
                    "Name": s["file_name"],
                    "UID": s.get("file_uid", "0"),
                    "GID": s.get("file_gid", "0"),
                    "Mode": s["file_mode"],
                }
            }
            for s in container.get("secrets", [])
        ],
    }
    return {"Spec": {"Name": body["name"], "TaskTemplate": {"ContainerSpec": spec}}}


class _StandInSwarm:
    def __init__(self, stacks: Stacks, change: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.specs = {
            name: _as_swarm_keeps_it(body)
            for stack in ("layer2", "platform")
            for name, body in services(stacks[stack]).items()
        }
        for name, spec in self.specs.items():
            if change is not None:
                change(name, spec["Spec"]["TaskTemplate"]["ContainerSpec"])

    def inspect(self, kind: str, names: list[str]) -> dict[str, dict[str, Any]]:
        assert kind == "service"
        return {name: self.specs[name] for name in names if name in self.specs}


def test_live_report_is_clean_when_swarm_keeps_what_was_synthesized(
    synth_stacks: Callable[[str], Stacks],
) -> None:
    stacks = synth_stacks("local")
    report = live_report(stacks, _StandInSwarm(stacks))
    assert report.problems == []
    assert report.checked == 26
    assert report.figures.non_root == 8


def test_live_report_fails_when_swarm_lost_a_setting(synth_stacks: Callable[[str], Stacks]) -> None:
    def writable_redis(name: str, container: dict[str, Any]) -> None:
        if name == "redis":
            container["ReadOnly"] = False

    stacks = synth_stacks("local")
    report = live_report(stacks, _StandInSwarm(stacks, writable_redis))
    assert any(line.startswith("redis: Swarm keeps") for line in report.problems), report.problems
    assert "redis: read_only False, the table says True" in report.problems
