"""One Discord OAuth application per environment: no two environment files share a forward-auth client id."""

from __future__ import annotations

import shutil
from pathlib import Path

from sprocket_infra.config import CONFIG_DIR, load_environment
from sprocket_infra.input_checks import client_id_problems


def test_shipped_environments_share_no_client_id() -> None:
    for name in ("local", "lan", "prod"):
        assert list(client_id_problems(load_environment(name), f"config/{name}.yaml")) == [], name


def test_fails_when_two_environments_name_one_client_id(tmp_path: Path) -> None:
    shutil.copy(CONFIG_DIR / "defaults.yaml", tmp_path / "defaults.yaml")
    shutil.copy(CONFIG_DIR / "prod.yaml", tmp_path / "prod.yaml")
    staging = (CONFIG_DIR / "prod.yaml").read_text().replace("name: prod", "name: staging", 1)
    (tmp_path / "staging.yaml").write_text(staging)
    prod = load_environment("prod", config_dir=tmp_path)
    (problem,) = client_id_problems(prod, "config/prod.yaml", config_dir=tmp_path)
    assert problem.file == "config/prod.yaml"
    assert problem.key == "layer2.forward_auth.client_id"
    assert "846086564479631372 is also the client id of" in problem.message
    assert "staging.yaml" in problem.message


def test_unregistered_environments_share_nothing(tmp_path: Path) -> None:
    shutil.copy(CONFIG_DIR / "defaults.yaml", tmp_path / "defaults.yaml")
    for name in ("local", "lan"):
        shutil.copy(CONFIG_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    local = load_environment("local", config_dir=tmp_path)
    assert local.layer2.forward_auth.client_id == "unregistered"
    assert list(client_id_problems(local, "config/local.yaml", config_dir=tmp_path)) == []
