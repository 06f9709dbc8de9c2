"""Build the three stacks of one environment into a cdktf App."""

from __future__ import annotations

from cdktf import App

from sprocket_infra.config import Environment
from sprocket_infra.stacks.layer1 import Layer1Stack
from sprocket_infra.stacks.layer2 import Layer2Stack
from sprocket_infra.stacks.platform import PlatformStack


def build_app(environment: Environment, *, outdir: str | None = None) -> App:
    """layer1 -> layer2 -> platform; each later stack takes the earlier stack objects it reads from."""
    app = App(outdir=outdir) if outdir else App()
    layer1 = Layer1Stack(app, environment)
    layer2 = Layer2Stack(app, environment, layer1)
    PlatformStack(app, environment, layer1, layer2)
    return app
