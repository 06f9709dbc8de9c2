"""cdktf entry point: synthesize layer1, layer2 and platform for $SPROCKET_ENV (default: local)."""

import sys

from sprocket_infra.config import ConfigError, load_environment

try:
    environment = load_environment()
except ConfigError as error:
    # Checked before any stack exists, so a bad file writes nothing to cdktf.out.
    sys.exit(f"error: {error}")

from sprocket_infra.app import build_app

build_app(environment).synth()
