"""The servers ``make e2e-tools`` builds from the Go module proxy, as the tests that run them find them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.e2e_tools import TOOLS, binary


def built_tool(name: str) -> Path:
    """The cached binary of tool ``name`` (``tools/go/<name>``); the test fails, saying how to build it,
    when it is missing."""
    (tool,) = (tool for tool in TOOLS if tool.name == name)
    path = binary(tool)
    if not path.exists():
        needs = f" ({name} needs GOTOOLCHAIN={tool.go_toolchain})" if tool.go_toolchain else ""
        pytest.fail(f"{path} is not built: run `make e2e-tools`{needs}")
    return path
