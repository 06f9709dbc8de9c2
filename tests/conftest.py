"""Shared fixtures: one synth per environment for the whole test run (synth is the slow part)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sprocket_infra.app import build_app
from sprocket_infra.config import load_environment
from sprocket_infra.stacks.base import STACK_NAMES

ENVIRONMENTS = ("local", "lan", "prod")

Stacks = dict[str, dict[str, Any]]


def read_stacks(outdir: Path) -> Stacks:
    return {name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text()) for name in STACK_NAMES}


@pytest.fixture(scope="session")
def synth_outdir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``synth_outdir("prod")`` -> the directory holding that environment's synthesized stacks."""
    cache: dict[str, Path] = {}

    def outdir(environment_name: str) -> Path:
        if environment_name not in cache:
            directory = tmp_path_factory.mktemp(f"synth-{environment_name}")
            # The real App, not Testing.synth: only a full App resolves cross-stack references.
            build_app(load_environment(environment_name), outdir=str(directory)).synth()
            cache[environment_name] = directory
        return cache[environment_name]

    return outdir


@pytest.fixture(scope="session")
def synth_stacks(synth_outdir: Callable[[str], Path]) -> Callable[[str], Stacks]:
    """``synth_stacks("local")["layer1"]`` -> parsed ``cdk.tf.json`` of that stack."""
    parsed: dict[str, Stacks] = {}

    def stacks(environment_name: str) -> Stacks:
        if environment_name not in parsed:
            directory = synth_outdir(environment_name)
            parsed[environment_name] = {
                name: json.loads((directory / "stacks" / name / "cdk.tf.json").read_text())
                for name in STACK_NAMES
            }
        return parsed[environment_name]

    return stacks
