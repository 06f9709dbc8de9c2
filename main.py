"""cdktf entry point: synthesize layer1, layer2 and platform for $SPROCKET_ENV (default: local)."""

import sys

from sprocket_infra.app import build_app
from sprocket_infra.config import ConfigError
from sprocket_infra.inputs import load_inputs

try:
    # Reading and checking the inputs imports no cdktf and starts no jsii kernel: a bad file is reported
    # in well under a second (tests/unit/test_input_imports.py). build_app imports cdktf.
    inputs = load_inputs()
    app = build_app(inputs.environment, catalog=inputs.catalog)
except ConfigError as error:
    # Files are checked before any stack exists and routes while the stacks are built; nothing is written
    # until synth(), so a bad input leaves cdktf.out as it was.
    sys.exit(f"error: {error}")

app.synth()
