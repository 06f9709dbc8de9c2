"""Provider packages are imported piecemeal, only by the stacks that need them, with identical output."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def synth_in_subprocess(environment: str, outdir: Path, eager: str = "") -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "synth_once.py"), environment, str(outdir), f"--eager={eager}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def same_tree(left: Path, right: Path) -> list[str]:
    """Relative paths of files that differ or exist on one side only (empty when identical)."""
    comparison = filecmp.dircmp(left, right)
    differences = [
        *comparison.left_only,
        *comparison.right_only,
        *comparison.diff_files,
        *comparison.funny_files,
    ]
    for name in comparison.common_dirs:
        differences += [f"{name}/{item}" for item in same_tree(left / name, right / name)]
    return differences


def test_local_synth_needs_no_cloud_provider(tmp_path: Path) -> None:
    report = synth_in_subprocess("local", tmp_path)
    assert "aws" not in report["providers"]
    assert "digitalocean" not in report["providers"]
    # The light import loads tens of submodules, not the hundreds an eager import would.
    assert report["provider_modules"] < 60


@pytest.mark.parametrize("environment", ["local", "prod"])
def test_lazy_and_eager_imports_synthesize_identical_json(tmp_path: Path, environment: str) -> None:
    lazy = synth_in_subprocess(environment, tmp_path / "lazy")
    eager = synth_in_subprocess(environment, tmp_path / "eager", eager=",".join(lazy["providers"]))
    assert eager["provider_modules"] > lazy["provider_modules"], "the eager run did not import eagerly"
    assert same_tree(tmp_path / "lazy", tmp_path / "eager") == []
