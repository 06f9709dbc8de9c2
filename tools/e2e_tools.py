"""Build the pinned engines and servers the e2e and integration tests run, from the Go module proxy.

Every tool is a small Go module of ours under ``tools/go/<name>/`` whose ``go.mod`` names one ``tool``
(the wrapper exists because the upstream modules declare paths or carry ``replace`` directives that
``go install pkg@version`` refuses). A built binary is cached under ``.cache/tools/bin/<name>-<key>``
where the key hashes the wrapper's ``go.mod`` and ``go.sum``: changing a pin rebuilds that tool, nothing
else does, and a second run costs nothing.

Providers are then laid out as an OpenTofu filesystem mirror and a CLI configuration pointing at it is
written, so ``tofu init`` never asks a registry. Standard library only: this runs before any venv exists.

Usage: ``python3 tools/e2e_tools.py [tool ...]`` (default: all); prints one line per tool.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "tools" / "go"
CACHE = Path(os.environ.get("SPROCKET_TOOLS_CACHE", ROOT / ".cache" / "tools"))
BIN = CACHE / "bin"
MIRROR = CACHE / "providers"
CLI_CONFIG = CACHE / "tofurc"
# OpenTofu resolves a bare ``kreuzwerker/docker`` source to its own registry's hostname.
REGISTRY_HOST = "registry.opentofu.org"


@dataclass(frozen=True)
class Provider:
    """Where a provider binary goes in the mirror: ``<host>/<namespace>/<type>/<version>/<os_arch>/``."""

    namespace: str
    type: str
    version: str
    """The release the built commit carries; must equal the ``required_providers`` pin the JSON has."""


@dataclass(frozen=True)
class Tool:
    name: str
    """Directory under ``tools/go/`` and the binary's name in ``.cache/tools/bin``."""
    provider: Provider | None = None
    tags: tuple[str, ...] = ()
    """Go build tags, e.g. Telegraf's ``custom`` plus only the plugins we configure."""
    go_toolchain: str | None = None
    """``GOTOOLCHAIN`` for a module whose ``go.mod`` needs a newer Go than the machine's; the go command
    fetches that toolchain from the module proxy once."""
    link: bool = False
    """Also point ``.cache/tools/bin/<name>`` at the build, so a Makefile calls it by a fixed path."""


TOOLS = (
    Tool("tofu"),
    Tool("provider-docker", Provider("kreuzwerker", "docker", "4.6.0")),
    Tool("provider-vault", Provider("hashicorp", "vault", "5.9.0")),
    Tool("provider-random", Provider("hashicorp", "random", "3.9.0")),
    # The telegraf image pins 1.40.1, whose go.mod needs Go 1.27 (GOTOOLCHAIN=go1.27.3). Only the plugins
    # observability/telegraf.py configures are compiled in.
    Tool(
        "telegraf",
        go_toolchain="go1.27.3",
        tags=(
            "custom",
            "inputs.cpu",
            "inputs.disk",
            "inputs.diskio",
            "inputs.docker",
            "inputs.internal",
            "inputs.mem",
            "inputs.net",
            "inputs.processes",
            "inputs.prometheus",
            "inputs.redis",
            "inputs.swap",
            "inputs.system",
            "outputs.health",
            "outputs.influxdb",
            "secretstores.docker",
        ),
    ),
    # Lints .github/workflows in `make lint`.
    Tool("actionlint", link=True),
    # Let's Encrypt's ACME test server: lan's certificate resolver is pointed at it to prove that Traefik
    # obtains and serves a certificate from the synthesized static config (test_lan_tls.py).
    Tool("pebble"),
    # DGraph v24.1.3 (the catalog's dgraph/dgraph:v24.1.3 pin): the alpha is started from its synthesized
    # command and admin-token config file to prove that the token gates admin operations
    # (test_rendered_dgraph.py). go.sum pins every module; the checksum database does not list this tag.
    Tool("dgraph"),
)


def cache_key(tool: Tool) -> str:
    module = MODULES / tool.name
    digest = hashlib.sha256(",".join(tool.tags).encode())
    for name in ("go.mod", "go.sum"):
        digest.update((module / name).read_bytes())
    return digest.hexdigest()[:12]


def tool_package(module: Path) -> str:
    """The one package the wrapper's ``go.mod`` lists under ``tool``."""
    packages = [
        line.split()[1]
        for line in (module / "go.mod").read_text().splitlines()
        if line.startswith("tool ") and len(line.split()) == 2
    ]
    if len(packages) != 1:
        sys.exit(f"error: {module / 'go.mod'}: expected exactly one `tool <package>` line, found {packages}")
    return packages[0]


def binary(tool: Tool) -> Path:
    """The cached binary of ``tool`` at its current pins (it may not be built yet)."""
    return BIN / f"{tool.name}-{cache_key(tool)}"


def build(tool: Tool) -> Path:
    target = binary(tool)
    if not target.exists():
        _compile(tool, target)
    else:
        print(f"e2e-tools: {tool.name}: cached ({target.name})", flush=True)
    if tool.link:
        fixed = BIN / tool.name
        fixed.unlink(missing_ok=True)
        fixed.symlink_to(target.name)
    return target


def _compile(tool: Tool, target: Path) -> None:
    module = MODULES / tool.name
    package = tool_package(module)
    print(f"e2e-tools: {tool.name}: building {package} (cold builds take minutes) ...", flush=True)
    started = time.monotonic()
    BIN.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    environment = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"}
    if tool.go_toolchain:
        environment["GOTOOLCHAIN"] = tool.go_toolchain
    tags = f"-tags={','.join(tool.tags)}"
    result = subprocess.run(
        ["go", "build", "-trimpath", "-ldflags=-s -w", tags, "-o", str(partial), package],
        cwd=module,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"error: building {tool.name} from {module / 'go.mod'} failed (exit {result.returncode})")
    partial.rename(target)
    print(f"e2e-tools: {tool.name}: built in {time.monotonic() - started:.0f} s", flush=True)


def os_arch() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{platform.system().lower()}_{machine}"


def publish_mirror(built: dict[Tool, Path]) -> None:
    """Lay providers out as a filesystem mirror and point OpenTofu's CLI configuration at it only."""
    if MIRROR.exists():
        shutil.rmtree(MIRROR)
    for tool, path in built.items():
        provider = tool.provider
        if provider is None:
            continue
        folder = MIRROR / REGISTRY_HOST / provider.namespace / provider.type / provider.version / os_arch()
        folder.mkdir(parents=True)
        (folder / f"terraform-provider-{provider.type}_v{provider.version}").symlink_to(path)
    CLI_CONFIG.write_text(
        "# Written by tools/e2e_tools.py: providers come from the local mirror only, never a registry.\n"
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{MIRROR}"\n    include = ["*/*/*"]\n  }}\n'
        "}\n"
    )
    tofu = BIN / "tofu"
    tofu.unlink(missing_ok=True)
    tofu.symlink_to(binary(next(tool for tool in TOOLS if tool.name == "tofu")))


def main(names: list[str]) -> None:
    unknown = set(names) - {tool.name for tool in TOOLS}
    if unknown:
        sys.exit(f"error: unknown tools {sorted(unknown)}; known: {[tool.name for tool in TOOLS]}")
    selected = [tool for tool in TOOLS if not names or tool.name in names]
    started = time.monotonic()
    built = {tool: build(tool) for tool in selected}
    if not names:
        publish_mirror(built)
    print(f"e2e-tools: ready in {time.monotonic() - started:.0f} s ({CACHE})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
