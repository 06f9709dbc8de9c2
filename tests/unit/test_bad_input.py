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
TextEdit = Callable[[str], str | bytes]


@dataclass(frozen=True)
class Case:
    environment: str
    target: str
    """``config`` (the environment's file) or ``catalog``."""
    mutate: Mutation | TextEdit
    expected: str
    """Text the error line must contain after ``<file>: `` (key path and expectation)."""
    text: bool = False
    """``mutate`` edits the file's text (for what parsed data cannot show: repeated keys, bad bytes)."""


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
    # --- strict YAML (issue 13 item 1) ---
    "repeated key": Case(
        "prod",
        "config",
        lambda text: text + "layer2:\n  buckets: {}\n",
        "duplicate key 'layer2' (first on line",
        text=True,
    ),
    "repeated catalog entry": Case(
        "local",
        "catalog",
        lambda text: text + "  core:\n    description: again\n",
        "duplicate key 'core' (first on line",
        text=True,
    ),
    "not UTF-8": Case(
        "local", "config", lambda text: text.encode() + b"x: \xff\n", "not UTF-8 text", text=True
    ),
    # --- engine rules (item 2) ---
    "bucket name S3 refuses": Case(
        "prod",
        "config",
        setting("state.bucket", "Sprocket_State"),
        "state.s3.bucket: not a valid S3/Spaces bucket",
    ),
    "unknown DigitalOcean region": Case(
        "prod", "config", setting("digitalocean.region", "nyc4"), "digitalocean.region: unknown DigitalOcean"
    ),
    "bucket in a region without Spaces": Case(
        "prod", "config", setting("layer2.buckets.general.region", "nyc1"), "'nyc1' offers no Spaces"
    ),
    "placement constraint grammar": Case(
        "local", "config", setting("swarm.placement.storage", ["role=manager"]), "swarm.placement.storage.0: "
    ),
    "image repository grammar": Case(
        "local",
        "config",
        setting("layer2.images.loki", "grafana/Loki:3.7.6"),
        "layer2.images.loki: repository",
    ),
    "seal threshold of one": Case(
        "prod", "config", setting("vault.unseal.key_threshold", 1), "key_threshold must be at least 2"
    ),
    "ACME for a private name": Case(
        "lan",
        "config",
        setting("routing.acme", {"ca": "production", "email": "ops@sprocket.lan"}),
        "needs a public DNS name",
    ),
    "IP as the domain": Case("lan", "config", setting("routing.domain", "192.168.4.39"), "not an IP address"),
    "database host with a port": Case(
        "lan", "config", setting("layer2.postgres.host", "db.lan:5432"), "layer2.postgres.external.host: "
    ),
    "firewall open to anyone": Case(
        "prod",
        "config",
        setting("layer2.postgres.trusted_sources", [{"type": "ip_addr", "value": "0.0.0.0/0"}]),
        "admits anyone",
    ),
    "keys directory /": Case(
        "prod", "config", setting("vault.unseal.keys_dir", "/"), "is a system directory"
    ),
    "bool where a number goes": Case(
        "prod", "config", setting("vault.unseal.key_shares", True), "vault.unseal.shamir-file.key_shares: "
    ),
    # --- one host, one owner (item 3) ---
    "catalog route on an admin UI's host": Case(
        "local",
        "catalog",
        setting("services.image-generation-frontend.routes", [{"subdomain": "grafana"}]),
        "host grafana.localhost is already routed to layer2's Grafana",
    ),
    "Vault on an app's host": Case(
        "local", "config", setting("vault.subdomain", "api"), "host api.localhost is already routed to Vault"
    ),
    "server IP is the Tailscale IP": Case(
        "lan", "config", setting("routing.server_ip", "100.110.185.84"), "are both 100.110.185.84"
    ),
    # --- natural YAML (item 4) ---
    "a tag YAML reads as a number": Case(
        "prod",
        "config",
        lambda text: text.replace("image_tag: v1.0.0", "image_tag: 1.10"),
        "write it in quotes",
        text=True,
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
    if case.text:
        edited = case.mutate(broken.read_text())  # type: ignore[arg-type]
        broken.write_bytes(edited if isinstance(edited, bytes) else str(edited).encode())
    else:
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
    assert all(broken_file in line for line in matching), result.stderr
    assert not outdir.exists(), "nothing may be written for a bad input"


def test_the_table_covers_at_least_thirty_breakages() -> None:
    assert len(CASES) >= 30
