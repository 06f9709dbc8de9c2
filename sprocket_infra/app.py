"""Load and check every input file, then build the three stacks of one environment into a cdktf App."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sprocket_infra.catalog import CATALOG_FILE, Catalog, load_catalog
from sprocket_infra.catalog.checks import check_environment
from sprocket_infra.config import CONFIG_DIR, Environment, load_environment

if TYPE_CHECKING:
    from cdktf import App


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """Everything a synth reads from files, already validated."""

    environment: Environment
    catalog: Catalog


def load_inputs(name: str | None = None) -> Inputs:
    """Read the environment file and the service catalog and check them against each other.

    Every problem raises :class:`~sprocket_infra.config.ConfigError` here, before a single construct
    exists, so a bad input never leaves a half-written ``cdktf.out``. ``SPROCKET_CONFIG_DIR`` and
    ``SPROCKET_CATALOG`` point at other files (e.g. environment files kept outside the repository).
    """
    config_dir = Path(os.environ.get("SPROCKET_CONFIG_DIR") or CONFIG_DIR)
    environment = load_environment(name, config_dir=config_dir)
    catalog = load_catalog(Path(os.environ.get("SPROCKET_CATALOG") or CATALOG_FILE))
    check_environment(catalog, environment)
    return Inputs(environment=environment, catalog=catalog)


def build_app(environment: Environment, *, catalog: Catalog | None = None, outdir: str | None = None) -> App:
    """layer1 -> layer2 -> platform; each later stack takes the earlier stack objects it reads from.

    cdktf (and with it the jsii Node process) is imported here, not at module level, so that checking
    inputs stays a sub-second affair.
    """
    from cdktf import App

    from sprocket_infra.stacks.layer1 import Layer1Stack
    from sprocket_infra.stacks.layer2 import Layer2Stack
    from sprocket_infra.stacks.platform import PlatformStack

    app = App(outdir=outdir) if outdir else App()
    layer1 = Layer1Stack(app, environment)
    layer2 = Layer2Stack(app, environment, layer1)
    PlatformStack(app, environment, layer1, layer2, catalog=catalog)
    return app
