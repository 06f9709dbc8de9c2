"""Build the three stacks of one environment into a cdktf App; :mod:`sprocket_infra.inputs` reads inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sprocket_infra.catalog import Catalog, load_catalog
from sprocket_infra.config import Environment
from sprocket_infra.inputs import Inputs, environment_source, load_inputs

if TYPE_CHECKING:
    from cdktf import App

__all__ = ["Inputs", "build_app", "load_inputs"]


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
    catalog = catalog or load_catalog()
    layer1 = Layer1Stack(app, environment, source=environment_source(environment.name), catalog=catalog)
    layer2 = Layer2Stack(app, environment, layer1, catalog=catalog)
    PlatformStack(app, environment, layer1, layer2, catalog=catalog)
    layer1.publish_dns()  # only now does layer1's Routing hold every stack's routes
    return app
