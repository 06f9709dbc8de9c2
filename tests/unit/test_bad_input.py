"""Broken inputs, end to end: ``main.py`` exits 1 with one clear line per problem and writes nothing.

Each case copies the shipped environment files and catalog, breaks one thing, and runs the real entry
point in a subprocess (as ``cdktf synth`` does), pointed at the copies through ``SPROCKET_CONFIG_DIR`` and
``SPROCKET_CATALOG``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sprocket_infra.catalog import CATALOG_FILE
from sprocket_infra.config import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[2]
Mutation = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Case:
    environment: str
    target: str
    """``config`` (the environment's file) or ``catalog``."""
    mutate: Mutation
    expected: str
    """Text the error line must contain after ``<file>: `` (key path and expectation)."""


def setting(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return mutate


def removed(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[leaf]

    return mutate


def each_of(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


CASES = {
    "missing domain": Case(
        "local", "config", removed("routing.domain"), "routing.domain: required key is missing"
    ),
    "bad LAN IP": Case("lan", "config", setting("routing.server_ip", "192.168.4.300"), "routing.server_ip: "),
    "Tailscale IP outside 100.64/10": Case(
        "lan",
        "config",
        setting("routing.tailscale_ip", "10.0.0.1"),
        "routing.tailscale_ip: expected a Tailscale",
    ),
    "floating image tag": Case(
        "local",
        "config",
        setting("images.traefik", "traefik:latest"),
        "images.traefik: expected a pinned image tag",
    ),
    "malformed image reference": Case(
        "local",
        "config",
        setting("images.socket_proxy", "tecnativa/docker-socket-proxy"),
        "images.socket_proxy: ",
    ),
    "ACME production without email": Case(
        "prod", "config", removed("routing.acme.email"), "acme.email is required when acme.ca is 'production'"
    ),
    "s3 Vault storage without bucket": Case(
        "prod", "config", removed("vault.storage.bucket"), "vault.storage.s3.bucket: required key is missing"
    ),
    "unknown bucket provider": Case(
        "prod",
        "config",
        setting("layer2.buckets.general.provider", "gcs"),
        "layer2.buckets.general.provider: ",
    ),
    "unseal threshold above shares": Case(
        "prod",
        "config",
        setting("vault.unseal.key_threshold", 6),
        "key_threshold (6) must not exceed key_shares (5)",
    ),
    "misspelt key": Case(
        "local", "config", setting("routing.domian", "x.example"), "routing.domian: unknown key"
    ),
    "floating app tag": Case(
        "prod",
        "config",
        setting("platform.image_tag", "latest"),
        "platform.image_tag: expected a pinned image tag",
    ),
    "override for an unknown service": Case(
        "prod",
        "config",
        setting("platform.image_tags", {"nonexistent": "v1.0.0"}),
        "platform.image_tags.nonexistent: ",
    ),
    "catalog entry with unknown dependency": Case(
        "local", "catalog", setting("services.core.uses", ["rabbitmq", "mongodb"]), "services.core.uses."
    ),
    "dangling queue": Case(
        "local",
        "catalog",
        setting("services.matchmaking.consumes", ["matchmaking", "nobody-publishes"]),
        "services.matchmaking.consumes",
    ),
    "port out of range": Case(
        "local", "catalog", setting("services.core.port", 70000), "services.core.port: "
    ),
    "duplicate host across services": Case(
        "local",
        "catalog",
        setting("services.image-generation-frontend.routes", [{"subdomain": "api"}]),
        "services.image-generation-frontend.routes.0: host api is already routed to services.core.routes.0",
    ),
    "unknown secret": Case(
        "local",
        "catalog",
        setting("services.core.secrets", {"no-such-secret": "x"}),
        "services.core.secrets: unknown secret 'no-such-secret'",
    ),
    "two services answering on IPs": Case(
        "lan",
        "catalog",
        setting("services.core.routes", [{"subdomain": "api", "answers_on_ips": True}]),
        "answers_on_ips",
    ),
}


def break_inputs(case: Case, workdir: Path) -> dict[str, str]:
    """Copies of the config dir and catalog with ``case`` applied; returns the env vars pointing at them."""
    config_dir = workdir / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    catalog = workdir / "services.yaml"
    shutil.copy(CATALOG_FILE, catalog)
    broken = config_dir / f"{case.environment}.yaml" if case.target == "config" else catalog
    data = yaml.safe_load(broken.read_text())
    case.mutate(data)
    broken.write_text(yaml.safe_dump(data, sort_keys=False))
    return {"SPROCKET_CONFIG_DIR": str(config_dir), "SPROCKET_CATALOG": str(catalog)}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_fails_with_one_clear_error_and_writes_nothing(case: Case, tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    env = {
        **os.environ,
        **break_inputs(case, tmp_path),
        "SPROCKET_ENV": case.environment,
        "CDKTF_OUTDIR": str(outdir),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    broken_file = f"{case.environment}.yaml" if case.target == "config" else "services.yaml"
    lines = result.stderr.removeprefix("error: ").strip().splitlines()
    matching = [line for line in lines if case.expected in line]
    assert matching, f"expected {case.expected!r} in:\n{result.stderr}"
    assert all(broken_file in line.split(": ")[0] for line in matching), result.stderr
    assert not outdir.exists(), "nothing may be written for a bad input"


def test_the_table_covers_at_least_fifteen_breakages() -> None:
    assert len(CASES) >= 15
