"""Synthesize one environment once, in this fresh process, and report what it cost as JSON.

``--eager`` first imports every provider package the way a plain ``import cdktf_cdktf_provider_x`` does
(its ``__init__`` pulls in every submodule), which is what the project avoids. Both the benchmark and the
lazy-import tests run this script in a subprocess, so each measurement starts from a cold interpreter.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

PROVIDERS = {
    "aws": "cdktf_cdktf_provider_aws",
    "digitalocean": "cdktf_cdktf_provider_digitalocean",
    "docker": "cdktf_cdktf_provider_docker",
    "random": "cdktf_cdktf_provider_random",
    "vault": "cdktf_cdktf_provider_vault",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("environment")
    parser.add_argument("outdir")
    parser.add_argument("--eager", default="", help="comma-separated providers to import eagerly first")
    options = parser.parse_args()

    started = time.perf_counter()
    for provider in filter(None, options.eager.split(",")):
        importlib.import_module(PROVIDERS[provider])

    from sprocket_infra.app import build_app, load_inputs

    # The inputs main.py reads (SPROCKET_CATALOG included), so lazy and eager runs synthesize the same.
    inputs = load_inputs(options.environment)
    build_app(inputs.environment, catalog=inputs.catalog, outdir=options.outdir).synth()
    # Only submodules count: every provider package itself is registered up front as an empty namespace.
    loaded = sorted(name for name in sys.modules if name.startswith("cdktf_cdktf_provider_") and "." in name)
    print(
        json.dumps(
            {
                "seconds": round(time.perf_counter() - started, 3),
                "provider_modules": len(loaded),
                "providers": sorted(
                    {name.split(".")[0].removeprefix("cdktf_cdktf_provider_") for name in loaded}
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
