"""cdktf entry point: synthesize layer1, layer2 and platform for $SPROCKET_ENV (default: local)."""

import sys

from sprocket_infra.app import build_app, load_inputs
from sprocket_infra.config import ConfigError

try:
    inputs = load_inputs()
except ConfigError as error:
    # Every input is checked before any stack exists, so a bad file writes nothing to cdktf.out.
    sys.exit(f"error: {error}")

build_app(inputs.environment, catalog=inputs.catalog).synth()
