"""OpenTofu itself reads the poisoned fields as literals: ``tofu validate`` of the synthesized stacks.

``validate`` evaluates constant function calls, so an unescaped ``${file("/nonexistent/...")}`` fails it
("no file exists"). The stacks synthesized from the poisoned catalog and environment
(tests/unit/test_literal_strings.py) validate clean; the same synth with the escaping switched off fails
on exactly that file, so the check can tell the two apart. Uses the OpenTofu and providers that
``make e2e-tools`` builds (platform and local layer2 need only docker, vault and random).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sprocket_infra.constructs import swarm_service
from tests.e2e.engine import require_tools
from tests.unit.test_literal_strings import synth_poisoned
from tools.e2e_tools import BIN, CLI_CONFIG

pytestmark = [pytest.mark.integration, pytest.mark.e2e]  # needs the OpenTofu `make e2e-tools` builds

STACKS = ("layer2", "platform")
"""Where the poisoned fields land (forward-auth's command; the catalog's services)."""
TOFU_TIMEOUT_S = 600


def _validate(stack_dir: Path) -> dict[str, object]:
    env = {"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": str(CLI_CONFIG), "HOME": str(stack_dir)}
    tofu = str(BIN / "tofu")
    init = subprocess.run(
        [tofu, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=stack_dir, env=env, capture_output=True, text=True, timeout=TOFU_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr
    result = subprocess.run(
        [tofu, "validate", "-json", "-no-color"],
        cwd=stack_dir, env=env, capture_output=True, text=True, timeout=TOFU_TIMEOUT_S, check=False,
    )  # fmt: skip
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("stack", STACKS)
def test_opentofu_treats_poisoned_fields_literally(tmp_path: Path, stack: str) -> None:
    require_tools()
    synth_poisoned(tmp_path / "cdktf.out")
    report = _validate(tmp_path / "cdktf.out" / "stacks" / stack)
    assert report["valid"] is True, report["diagnostics"]


def test_without_escaping_opentofu_evaluates_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tools()
    monkeypatch.setattr(swarm_service, "literal", lambda value: value)
    synth_poisoned(tmp_path / "cdktf.out")
    report = _validate(tmp_path / "cdktf.out" / "stacks" / "platform")
    assert report["valid"] is False
    assert "/nonexistent/sprocket-literal-canary" in json.dumps(report["diagnostics"])
