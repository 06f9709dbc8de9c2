"""Checking inputs starts no jsii kernel: neither cdktf nor a provider binding is imported on that path.

Importing cdktf starts a Node process and costs about a second; an operator's typo must be reported faster
than that. Each test runs in a fresh interpreter and reads ``sys.modules`` when it exits: after
``load_inputs`` of every shipped environment, and after ``main.py`` refused a broken config or catalog.
``sprocket_infra.providers`` registers the provider packages as empty namespaces at import, so those
top-level names may exist; none of their modules may.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sprocket_infra.catalog import CATALOG_FILE
from sprocket_infra.config import CONFIG_DIR
from sprocket_infra.providers import PROVIDER_PACKAGES

ROOT = Path(__file__).resolve().parents[2]

REPORT = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
)


def _binding_modules(modules: list[str]) -> list[str]:
    """Modules that mean cdktf, jsii or a provider binding really ran."""
    return [
        name
        for name in modules
        if name.split(".")[0] in {"cdktf", "jsii", "constructs"}
        or (name.split(".")[0] in PROVIDER_PACKAGES and name not in PROVIDER_PACKAGES)
    ]


def _modules(code: str, env: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", REPORT + code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *messages, modules = result.stderr.strip().splitlines()
    return result.returncode, json.loads(modules), "\n".join(messages)


@pytest.mark.parametrize("environment", ["local", "lan", "prod"])
def test_loading_inputs_imports_no_binding(environment: str) -> None:
    code, modules, messages = _modules(
        f"from sprocket_infra.inputs import load_inputs; load_inputs({environment!r})"
    )
    assert code == 0, messages
    assert "sprocket_infra.input_checks" in modules  # the cross-checks ran
    assert _binding_modules(modules) == []


@pytest.mark.parametrize("broken", ["config", "catalog"])
def test_main_refuses_a_bad_input_without_importing_a_binding(tmp_path: Path, broken: str) -> None:
    shutil.copytree(CONFIG_DIR, tmp_path / "config")
    shutil.copy(CATALOG_FILE, tmp_path / "services.yaml")
    if broken == "config":
        path = tmp_path / "config" / "local.yaml"
        path.write_text(path.read_text().replace("domain: localhost", "domain: Local Host"))
    else:
        path = tmp_path / "services.yaml"
        path.write_text(path.read_text().replace("port: 3001", "port: 70000", 1))
    env = {
        "SPROCKET_CONFIG_DIR": str(tmp_path / "config"),
        "SPROCKET_CATALOG": str(tmp_path / "services.yaml"),
    }
    code, modules, messages = _modules("import runpy; runpy.run_path('main.py', run_name='__main__')", env)
    assert code == 1
    assert messages.startswith(f"error: {path}: "), messages
    assert _binding_modules(modules) == []
