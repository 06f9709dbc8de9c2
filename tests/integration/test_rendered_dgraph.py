"""DGraph's alpha, started from its synthesized command and admin-token config file, refuses admin
operations without the token.

Real parts: ``dgraph`` v24.1.3 (the ``dgraph/dgraph:v24.1.3`` pin) built from the Go module proxy by
``make e2e-tools``; zero and alpha as two processes on 127.0.0.1. The config file is the platform's Docker
secret as synthesized (``format("<template>", <Vault read>)``) with a made-up token where the Vault value
goes. Adaptations, each asserted to apply: the alpha's ``--my``/``--zero`` addresses (Swarm service names)
-> 127.0.0.1 and ports offset so as not to collide; ``--config`` -> the file's temp path; data directories
in the temp dir. Loopback is on DGraph's allow-list whatever the file says, so here the whitelist is only
proven to parse (a malformed one stops the alpha); that it keeps out Traefik's edge address follows from
the subnets (tests/unit/test_platform_stack.py), not from this run.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sprocket_infra.app import build_app, load_inputs
from tests.built_tools import built_tool
from tests.conftest import read_stacks
from tests.integration.processes import ServerProcess, free_port, running, wait_until
from tests.synth_json import services

# The binary is built by `make e2e-tools`, so this runs with the real deploy in `make e2e`.
pytestmark = [pytest.mark.integration, pytest.mark.e2e]

TOKEN = "e2e0dgraph0admin0token0made0up0for0this0test"
START_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
SCHEMA = "name: string @index(exact) ."
_FORMAT = re.compile(
    r'^\$\{base64encode\(format\("((?:[^"\\]|\\.)*)", data\.vault_kv_secret_v2\.[^)]*\)\)\}$'
)


@dataclass(frozen=True)
class Synthesized:
    command: list[str]
    config_path: str
    config_text: str
    """The config file with TOKEN where Vault's value goes."""


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    inputs = load_inputs("local")
    build_app(inputs.environment, catalog=inputs.catalog, outdir=str(outdir)).synth()
    platform = read_stacks(outdir)["platform"]
    alpha = services(platform)["local-elo-dgraph-alpha"]
    container = alpha["task_spec"]["container_spec"]
    (mounted,) = container["secrets"]
    secret = mounted["secret_id"].removeprefix("${docker_secret.").removesuffix(".id}")
    match = _FORMAT.match(platform["resource"]["docker_secret"][secret]["data"])
    assert match, "the config file is no longer one template around one Vault read"
    template = json.loads(f'"{match[1]}"')
    assert template.count("%s") == 1
    return Synthesized(
        command=list(container["command"]),
        config_path=mounted["file_name"],
        config_text=template.replace("%s", TOKEN),
    )


@dataclass(frozen=True)
class Alpha:
    http: str
    process: ServerProcess


def _localized(command: list[str], *, config: Path, alpha_offset: int, zero_port: int) -> list[str]:
    """The synthesized command with each adaptation of the module docstring, asserted to apply."""
    rules = {
        r"^--my=local-elo-dgraph-alpha:7080$": f"--my=127.0.0.1:{7080 + alpha_offset}",
        r"^--zero=local-elo-dgraph-zero:5080$": f"--zero=127.0.0.1:{zero_port}",
        r"^--config=/etc/dgraph/alpha\.yaml$": f"--config={config}",
    }
    localized, applied = [], set()
    for arg in command:
        for pattern, replacement in rules.items():
            if re.match(pattern, arg):
                arg = replacement
                applied.add(pattern)
        localized.append(arg)
    assert applied == set(rules), f"adaptations that no longer apply: {sorted(set(rules) - applied)}"
    assert localized[:2] == ["dgraph", "alpha"]
    return [str(built_tool("dgraph")), *localized[1:]]


def _free_offset() -> int:
    """A port offset under which the alpha's three ports (7080, 8080, 9080 + offset) are free."""
    for _ in range(50):
        offset = free_port() % 1000 + 100
        if all(_port_is_free(port + offset) for port in (7080, 8080, 9080)):
            return offset
    raise RuntimeError("no free port offset for the alpha")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as answer:  # noqa: S310 - 127.0.0.1
            return int(answer.status)
    except (urllib.error.URLError, OSError):
        return 0


@pytest.fixture(scope="module")
def alpha(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alpha]:
    root = tmp_path_factory.mktemp("dgraph")
    config = root / Path(synthesized.config_path).name
    config.write_text(synthesized.config_text)
    zero_offset = _free_offset()
    zero = ServerProcess(
        argv=[str(built_tool("dgraph")), "zero", f"--my=127.0.0.1:{5080 + zero_offset}", f"-o={zero_offset}"],
        log=root / "zero.log",
        cwd=root,
    )
    (root / "alpha").mkdir()
    offset = _free_offset()
    argv = _localized(synthesized.command, config=config, alpha_offset=offset, zero_port=5080 + zero_offset)
    alpha_process = ServerProcess(argv=[*argv, f"-o={offset}"], log=root / "alpha.log", cwd=root / "alpha")
    http = f"http://127.0.0.1:{8080 + offset}"
    with running(zero), running(alpha_process):
        wait_until(
            lambda: _get(f"{http}/health") == 200 or not alpha_process.running(),
            timeout_s=START_TIMEOUT_S,
            what="the DGraph alpha's /health",
        )
        assert alpha_process.running(), alpha_process.output()[-3000:]
        yield Alpha(http=http, process=alpha_process)


def _alter(alpha: Alpha, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        f"{alpha.http}/alter", data=SCHEMA.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:  # noqa: S310
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as refused:
        return dict(json.loads(refused.read()))


def test_the_synthesized_config_file_holds_the_token_and_the_dgraph_subnet(synthesized: Synthesized) -> None:
    assert synthesized.config_text.startswith("security:\n")
    assert f'token: "{TOKEN}"' in synthesized.config_text
    assert 'whitelist: "10.240.' in synthesized.config_text
    assert not any("security" in arg or "token" in arg for arg in synthesized.command)


def test_a_schema_change_without_the_token_is_refused(alpha: Alpha) -> None:
    answer = _alter(alpha, {})
    assert "errors" in answer, answer
    assert "Token needed for Admin operations" in json.dumps(answer), answer


def test_a_schema_change_with_a_wrong_token_is_refused(alpha: Alpha) -> None:
    answer = _alter(alpha, {"X-Dgraph-AuthToken": "not-the-token"})
    assert "errors" in answer, answer
    assert "token" in json.dumps(answer).lower(), answer


def test_a_schema_change_with_the_token_is_applied(alpha: Alpha) -> None:
    answer = _alter(alpha, {"X-Dgraph-AuthToken": TOKEN})
    assert "errors" not in answer, answer
    assert answer.get("data", {}) == {"code": "Success", "message": "Done"}, answer
