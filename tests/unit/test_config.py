"""Environment files: the shipped ones load, broken ones fail with file, key and expectation named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sprocket_infra.config import CONFIG_DIR, ConfigError, load_environment, parse_environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["local", "lan", "prod"])
def test_shipped_environment_loads(name: str) -> None:
    assert load_environment(name).name == name


def test_environment_defaults_to_sprocket_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPROCKET_ENV", "lan")
    assert load_environment().name == "lan"
    monkeypatch.delenv("SPROCKET_ENV")
    assert load_environment().name == "local"


def _local() -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / "local.yaml").read_text())


def _with(path: str, value: Any) -> dict[str, Any]:
    data = _local()
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_with("routing.domain", "Not A Domain"), "routing.domain: expected a lower-case DNS name"),
        (_with("routing.server_ip", "192.168.1.300"), "routing.server_ip:"),
        (_with("routing.tailscale_ip", "8.8.8.8"), "routing.tailscale_ip: expected a Tailscale address"),
        (_with("routing.acme", {"ca": "production"}), "acme.email is required when acme.ca is 'production'"),
        (_with("routing.acme", {"ca": "sometimes"}), "routing.acme.ca: Input should be 'none', 'staging' or"),
        (_with("routing.colour", "blue"), "routing.colour: unknown key"),
        (_with("images.traefik", "traefik:latest"), "images.traefik: expected a pinned image tag"),
        (_with("images.traefik", "traefik"), "images.traefik: expected 'repository:tag'"),
        (_with("vault.storage", {"kind": "s3"}), "vault.storage.s3.bucket: required key is missing"),
        (_with("vault.storage", {"kind": "file"}), "vault.storage: Input tag 'file' found using 'kind'"),
        (
            _with("vault.storage", {"kind": "s3", "bucket": "b"}),
            "storage kind 's3' needs HashiCorp Vault (binary: vault)",
        ),
        (_with("vault.unseal", {"key_shares": 2, "key_threshold": 3}), "key_threshold (3) must not exceed"),
        (_with("state", {"kind": "s3"}), "state.s3.bucket: required key is missing"),
        (_with("digitalocean.region", "new-york"), "digitalocean.region: String should match pattern"),
    ],
)
def test_fails_when_setting_is_invalid(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_environment(data, source="config/test.yaml")
    assert str(error.value).startswith("config/test.yaml: ")
    assert expected in str(error.value)


def test_fails_with_every_problem_at_once() -> None:
    data = _with("routing.domain", "BAD")
    data["vault"] = {"storage": {"kind": "s3"}}
    with pytest.raises(ConfigError) as error:
        parse_environment(data, source="config/x.yaml")
    lines = str(error.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith("config/x.yaml: ") for line in lines)


def test_fails_when_file_name_and_name_disagree(tmp_path: Path) -> None:
    (tmp_path / "staging.yaml").write_text((CONFIG_DIR / "local.yaml").read_text())
    with pytest.raises(ConfigError, match=r"name: expected 'staging' to match the file name \(got 'local'\)"):
        load_environment("staging", config_dir=tmp_path)


def test_fails_when_environment_is_unknown() -> None:
    with pytest.raises(
        ConfigError,
        match=r"config/nowhere.yaml: no such environment file \(known environments: lan, local, prod",
    ):
        load_environment("nowhere")


def test_fails_when_yaml_is_broken(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_environment("broken", config_dir=tmp_path)


def test_bad_environment_exits_non_zero_and_writes_nothing(tmp_path: Path) -> None:
    """main.py validates before building any stack, so a failed run leaves no output directory."""
    outdir = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env={**os.environ, "SPROCKET_ENV": "nowhere", "CDKTF_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "config/nowhere.yaml: no such environment file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not outdir.exists()
