"""Secret hygiene: canary values fed to every secret input never show up in an output, a log or a file,
and no synthesized service carries a secret where Docker shows it to anyone who can inspect a service.

Canaries (``canary-<uuid4 hex>``, each unique) go into every place a secret comes from: the variables
the providers, the CLI and the bootstrap read, every sensitive Terraform variable (``TF_VAR_*``), a ``.env``
file and a Doppler JSON download. Then the real entry points run in subprocesses (``main.py`` for every
environment, the ``sprocket-infra`` commands against a real OpenBao dev server) with HOME and TMPDIR inside
the test's directory, and every file written there, every captured stream and the server log are searched
for each canary as written and base64-encoded at all three alignments (configs and secrets are base64 in
the synthesized JSON). The only place a canary may end up is Vault, whose dev storage is in memory; reading
them back from there proves they really went through.

The structural tests read the synthesized services directly: a secret must reach a container as a Docker
secret file, never through its command line, environment or labels, which ``docker service inspect`` prints.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hvac
import pytest

from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.stacks.base import STACK_NAMES
from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.openbao_dev import local_client, openbao_dev_server
from tests.integration.processes import ServerProcess, free_port, running

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "sprocket-infra"
SYNTH_TIMEOUT_S = 240
CLI_TIMEOUT_S = 60

PROVIDER_SECRETS = (
    "VAULT_TOKEN",
    "DIGITALOCEAN_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "SPACES_ACCESS_KEY_ID",
    "SPACES_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
"""Credentials the providers (and the CLI, for VAULT_TOKEN) read from the environment at deploy time."""

# Inherited variables that would point a subprocess at other inputs, another server or other values.
_FOREIGN = re.compile(
    r"^(VAULT_|BAO_|TF_VAR_|CDKTF_OUTDIR$|SPROCKET_ENV$|SPROCKET_CONFIG_DIR$|SPROCKET_CATALOG$|HOME$|TMPDIR$)"
)
_MARKER = b"canary-"


@dataclass(frozen=True)
class Canary:
    origin: str
    """Where the value was put: ``environment``, ``.env`` or ``doppler json``."""
    name: str
    """The variable it was put in, e.g. ``GOOGLE_CLIENT_SECRET``."""
    value: str = field(default_factory=lambda: f"canary-{uuid.uuid4().hex}")

    def forms(self) -> dict[str, bytes]:
        """The value as is, and the part of its base64 encoding that any embedding at that alignment keeps.

        Base64 turns 3 bytes into 4 characters, so the encoding of a value inside a larger text depends on
        its offset modulo 3; the first and last group also mix in the neighbouring bytes and are dropped.
        """
        raw = self.value.encode()
        found = {"as is": raw}
        for offset in range(3):
            encoded = base64.b64encode(bytes(offset) + raw)
            found[f"base64 at offset {offset}"] = encoded[4 if offset else 0 : -4]
        return found


def find_canaries(canaries: Iterable[Canary], outputs: Mapping[str, bytes]) -> list[str]:
    """One line per canary form found in an output; a bare ``canary-`` (a truncated value) counts too."""
    hits = [
        f"  {canary.origin} {canary.name} ({form}) in {where}"
        for canary in canaries
        for form, needle in canary.forms().items()
        for where, content in outputs.items()
        if needle in content
    ]
    return hits or [
        f"  part of a canary in {where}" for where, content in outputs.items() if _MARKER in content
    ]


def listing(lines: list[str], limit: int = 40) -> str:
    """The first ``limit`` lines; one leak usually repeats across many outputs."""
    more = f"\n  ... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def files_under(root: Path, *, inputs: Iterable[Path] = ()) -> dict[str, bytes]:
    """Contents of every regular file below ``root`` except the test's own ``inputs``."""
    skipped = {path.resolve() for path in inputs}
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.resolve() not in skipped
    }


def sensitive_variables(synth_stacks: Callable[[str], Stacks]) -> set[str]:
    """Names of the Terraform variables any stack of any environment declares ``sensitive``."""
    return {
        name
        for environment in ENVIRONMENTS
        for stack in synth_stacks(environment).values()
        for name, declaration in stack.get("variable", {}).items()
        if declaration.get("sensitive")
    }


def manifest_variables() -> list[str]:
    """Every variable the bootstrap reads, over all environments, in manifest order."""
    return list(dict.fromkeys(name for env in ENVIRONMENTS for name in external_secrets(env).env_vars))


def _jsii_package_cache() -> str:
    """The package cache jsii uses for this process (its default on Linux unless configured)."""
    if configured := os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT"):
        return configured
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return str(cache_home / "aws" / "jsii" / "package-cache")


def child_environment(workdir: Path, canaries: Iterable[Canary], **settings: str) -> dict[str, str]:
    """This process's environment with anything foreign blanked, the canaries, and HOME and TMPDIR in
    ``workdir`` (so whatever a child writes to its home or temp directory is searched with the rest).

    Foreign variables are set empty rather than left out because :class:`ServerProcess` lays its ``env``
    over ``os.environ``.
    """
    home, temp = workdir / "home", workdir / "tmp"
    home.mkdir(exist_ok=True)
    temp.mkdir(exist_ok=True)
    secret_names = {*manifest_variables(), *PROVIDER_SECRETS}
    blanked = {key: "" for key in os.environ if _FOREIGN.match(key) or key in secret_names}
    return {
        **os.environ,
        **blanked,
        "HOME": str(home),
        "TMPDIR": str(temp),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "CHECKPOINT_DISABLE": "1",
        # jsii's cache of unpacked provider packages (80 MB) stays where it was: package files only, and
        # unpacking them anew would double the synth time.
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT": _jsii_package_cache(),
        **{canary.name: canary.value for canary in canaries},
        **settings,
    }


def _exit_code(process: ServerProcess) -> int:
    assert process.popen is not None, "process not started"
    return process.popen.wait(timeout=SYNTH_TIMEOUT_S)


def test_synth_of_every_environment_prints_and_writes_no_canary(
    tmp_path: Path, synth_stacks: Callable[[str], Stacks]
) -> None:
    names = [*manifest_variables(), *PROVIDER_SECRETS]
    names += [f"TF_VAR_{name}" for name in sorted(sensitive_variables(synth_stacks))]
    canaries = [Canary("environment", name) for name in names]
    env = child_environment(tmp_path, canaries)
    (tmp_path / "out").mkdir()
    synths = {
        environment: ServerProcess(
            argv=[sys.executable, "main.py"],
            log=tmp_path / f"synth-{environment}.log",
            env={**env, "SPROCKET_ENV": environment, "CDKTF_OUTDIR": str(tmp_path / "out" / environment)},
            cwd=REPO,
        )
        for environment in ENVIRONMENTS
    }
    with contextlib.ExitStack() as stack:
        for synth in synths.values():  # the three run side by side; each is stopped however this ends
            stack.enter_context(running(synth))
        codes = {name: _exit_code(synth) for name, synth in synths.items()}

    assert codes == dict.fromkeys(ENVIRONMENTS, 0), {name: synths[name].output()[-2000:] for name in codes}
    written = {
        (environment, stack)
        for environment in ENVIRONMENTS
        for stack in STACK_NAMES
        if (tmp_path / "out" / environment / "stacks" / stack / "cdk.tf.json").is_file()
    }
    assert len(written) == len(ENVIRONMENTS) * len(STACK_NAMES), "synth wrote fewer stacks than expected"
    leaks = find_canaries(canaries, files_under(tmp_path))
    assert not leaks, "secret values from the environment reached synth output:\n" + listing(leaks)


@dataclass
class CliRun:
    """Runs ``sprocket-infra`` like an operator would and keeps every stream it printed."""

    env: dict[str, str]
    streams: dict[str, bytes] = field(default_factory=dict)

    def __call__(self, *args: str, expect: int = 0, **overrides: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(CLI), *args],
            env={**self.env, **overrides},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        label = " ".join(arg.rsplit("/", 1)[-1] for arg in args)  # input files by name, not temp path
        self.streams[f"stdout of `{label}`"] = done.stdout.encode()
        self.streams[f"stderr of `{label}`"] = done.stderr.encode()
        assert done.returncode == expect, f"`{label}` exited {done.returncode}:\n{done.stderr[-2000:]}"
        return done


@dataclass(frozen=True)
class Sources:
    """Each variable wins from exactly one source; the lower-ranked sources hold other, shadowed values."""

    environment: dict[str, Canary]
    dotenv: dict[str, Canary]
    doppler: dict[str, Canary]

    @classmethod
    def spread(cls, names: list[str]) -> Sources:
        from_env, from_dotenv = names[0::3], names[0::3] + names[1::3]
        return cls(
            environment={name: Canary("environment", name) for name in from_env},
            dotenv={name: Canary(".env", name) for name in from_dotenv},
            doppler={name: Canary("doppler json", name) for name in names},
        )

    def winners(self) -> dict[str, str]:
        """What Vault must hold after the bootstrap: doppler < .env < environment."""
        return {
            name: c.value
            for layer in (self.doppler, self.dotenv, self.environment)
            for name, c in layer.items()
        }

    def all(self) -> list[Canary]:
        return [*self.environment.values(), *self.dotenv.values(), *self.doppler.values()]


def _bootstrap_flow(cli: CliRun, environment: str, inputs: list[str]) -> None:
    """Every command an operator runs for one environment, with the exit code each must have."""
    cli("secrets", "check", "--env", environment, expect=1)  # nothing there yet: all missing
    cli("secrets", "bootstrap", "--env", environment, *inputs, "--dry-run", "--json")
    cli("secrets", "bootstrap", "--env", environment, *inputs)
    cli("secrets", "bootstrap", "--env", environment, *inputs, "--json")  # second run: all unchanged
    cli("secrets", "check", "--env", environment, "--json")
    cli("secrets", "list", "--env", environment)
    cli("secrets", "list", "--env", environment, "--json")
    cli("vault", "policies", "--env", environment)


def _stored(root: hvac.Client, environment: str) -> dict[str, str]:
    """``{variable: value}`` Vault holds for the environment's external secrets."""
    values = {}
    for ref in external_secrets(environment).values():
        read = root.secrets.kv.v2.read_secret_version(
            path=ref.path, mount_point=ref.mount.path, raise_on_deleted_version=True
        )
        values[ref.env_var] = read["data"]["data"][ref.key]
    return values


def test_cli_prints_logs_and_stores_no_canary_outside_vault(tmp_path: Path) -> None:
    names = manifest_variables()
    sources = Sources.spread(names)
    token = Canary("environment", "VAULT_TOKEN")
    # The bootstrap must never read a deploy credential: it would copy the operator's own key into Vault.
    assert sorted(set(names) & set(PROVIDER_SECRETS)) == []
    providers = [Canary("environment", name) for name in PROVIDER_SECRETS if name != token.name]
    dotenv, doppler = tmp_path / "inputs.env", tmp_path / "doppler.json"
    dotenv.write_text("".join(f"{name}='{c.value}'\n" for name, c in sources.dotenv.items()))
    doppler.write_text(
        json.dumps({"DOPPLER_CONFIG": "prd", **{n: c.value for n, c in sources.doppler.items()}})
    )
    inputs = ["--dotenv", str(dotenv), "--doppler-json", str(doppler)]
    (tmp_path / "openbao").mkdir()

    with openbao_dev_server(tmp_path / "openbao") as server:
        root = local_client(server.addr, server.root_token)
        # The operator's token is itself a canary: a root token whose id is the canary value.
        root.auth.token.create(id=token.value, policies=["root"], ttl="30m")
        given = [*sources.environment.values(), token, *providers]
        cli = CliRun(child_environment(tmp_path, given, VAULT_ADDR=server.addr))
        for environment in ENVIRONMENTS:  # mounts are shared: enable them one environment at a time
            cli("vault", "apply", "--env", environment)
        with ThreadPoolExecutor(max_workers=len(ENVIRONMENTS)) as pool:
            list(pool.map(lambda environment: _bootstrap_flow(cli, environment, inputs), ENVIRONMENTS))
        # Error paths print the most context: nothing listening there, and a token Vault doesn't know.
        cli("secrets", "check", "--env", "local", VAULT_ADDR=f"http://127.0.0.1:{free_port()}", expect=1)
        stranger = Canary("environment", "VAULT_TOKEN (one Vault rejects)")
        cli("secrets", "bootstrap", "--env", "local", *inputs, VAULT_TOKEN=stranger.value, expect=1)
        stored = {environment: _stored(root, environment) for environment in ENVIRONMENTS}

    expected = sources.winners()
    wrong = [  # each environment holds the variables its own manifest reads
        f"{env} {name}"
        for env, values in stored.items()
        for name, value in values.items()
        if value != expected[name]
    ]
    assert not wrong, f"Vault does not hold the winning canary (environment > .env > doppler) for: {wrong}"
    outputs = {**cli.streams, **files_under(tmp_path, inputs=[dotenv, doppler])}
    leaks = find_canaries([*sources.all(), token, stranger, *providers], outputs)
    assert not leaks, "secret values escaped the CLI (streams, server log or files):\n" + listing(leaks)


# --- Where Docker shows values: structural checks over every synthesized service -------------------------

_SECRET_ATTRIBUTES = (
    r"random_password\.[\w-]+",
    r"vault_kv_secret_v2\.[\w-]+\.data",  # resource and data source; .version/.path are not secret
    r"vault_generic_secret\.[\w-]+\.data",
    r"digitalocean_spaces_key\.[\w-]+\.secret_key",
    r"digitalocean_database_user\.[\w-]+\.password",
    r"digitalocean_database_cluster\.[\w-]+\.(password|uri|private_uri)",
    r"digitalocean_database_connection_pool\.[\w-]+\.(password|uri|private_uri)",
)
_CROSS_STACK = re.compile(r"data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)")
_SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|_KEY)$|SECRET", re.IGNORECASE)
_FILE_SUFFIX = re.compile(r"_?_FILE$", re.IGNORECASE)
NOT_SECRETS = {
    ("SECRETS", "0"): "docker-socket-proxy's switch for the secrets API; 0 keeps it closed",
}
"""Literal ``(name, value)`` pairs that only look secret, with why."""


@dataclass(frozen=True)
class SecretReferences:
    """Recognises a secret in a Terraform expression, following cross-stack outputs to their source."""

    pattern: re.Pattern[str]
    outputs: dict[str, str]

    @classmethod
    def of(cls, stacks: Stacks, sensitive: set[str]) -> SecretReferences:
        alternatives = list(_SECRET_ATTRIBUTES)
        if sensitive:
            alternatives.append(r"var\.(" + "|".join(map(re.escape, sorted(sensitive))) + r")\b")
        outputs = {
            name: str(block.get("value", ""))
            for stack in stacks.values()
            for name, block in stack.get("output", {}).items()
        }
        return cls(re.compile(r"\b(" + "|".join(alternatives) + ")"), outputs)

    def find(self, text: str) -> str | None:
        """The secret reference in ``text`` (through cross-stack outputs), or None."""
        expanded = _CROSS_STACK.sub(lambda match: self.outputs.get(match.group(1), match.group(0)), text)
        found = self.pattern.search(expanded)
        return found.group(0) if found else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _visible_surfaces(service: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The parts of a service ``docker service inspect`` and ``ps`` print in clear text."""
    container = service.get("task_spec", {}).get("container_spec", {})
    yield "command", container.get("command")
    yield "args", container.get("args")
    yield "healthcheck", container.get("healthcheck", {}).get("test")
    yield "service labels", service.get("labels")
    yield "container labels", container.get("labels")
    for name, value in (container.get("env") or {}).items():
        yield f"env {name}", value


def _env_problem(name: str, value: str, mounted_secrets: set[str]) -> str | None:
    """Why a secret-looking variable is wrong, or None: it must name a file the service gets as a secret."""
    stem = _FILE_SUFFIX.sub("", name)
    if not _SECRET_NAME.search(stem) or (name, value) in NOT_SECRETS:
        return None
    if stem == name:
        return f"looks secret but is set in clear; mount it as a Docker secret and set {name}_FILE"
    if value not in mounted_secrets:
        return f"points at {value!r}, which is not a Docker secret the service mounts"
    return None


def service_problems(stacks: Stacks, sensitive: set[str]) -> list[str]:
    """Every secret in a visible part of a service or in a Docker config, one line each."""
    references = SecretReferences.of(stacks, sensitive)
    problems = []
    for stack_name, stack in stacks.items():
        for service in stack.get("resource", {}).get("docker_service", {}).values():
            where = f"{stack_name} {service['name']}"
            container = service["task_spec"]["container_spec"]
            mounted = {item["file_name"] for item in container.get("secrets", [])}
            for surface, value in _visible_surfaces(service):
                problems += [
                    f"  {where} {surface}: {found}"
                    for text in _strings(value)
                    if (found := references.find(text))
                ]
            for name, value in (container.get("env") or {}).items():
                if problem := _env_problem(name, str(value), mounted):
                    problems.append(f"  {where} env {name} {problem}")
        # Docker configs are readable by anyone who may inspect them; secrets belong in docker_secret.
        for logical_id, config in stack.get("resource", {}).get("docker_config", {}).items():
            if found := references.find(str(config.get("data", ""))):
                problems.append(f"  {stack_name} docker_config {logical_id}: {found}")
    return problems


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_secret_on_a_command_line_in_env_values_labels_or_configs(
    environment: str, synth_stacks: Callable[[str], Stacks]
) -> None:
    stacks = synth_stacks(environment)
    services = sum(len(stack.get("resource", {}).get("docker_service", {})) for stack in stacks.values())
    assert services, f"{environment}: no docker_service synthesized, nothing checked"
    problems = service_problems(stacks, sensitive_variables(synth_stacks))
    assert not problems, f"{environment}: secrets where `docker service inspect` shows them:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_vault_audit_devices_hash_secret_values(
    environment: str, synth_stacks: Callable[[str], Stacks]
) -> None:
    """Audit entries go to the container log and so to Loki's disk; only HMACs of values may be in them."""
    raw = [
        f"{name}: {device.get('options')}"
        for stack in synth_stacks(environment).values()
        for name, device in stack.get("resource", {}).get("vault_audit", {}).items()
        if str(device.get("options", {}).get("log_raw", "false")).lower() == "true"
        or str(device.get("options", {}).get("hmac_accessor", "true")).lower() == "false"
    ]
    assert not raw, (
        f"{environment}: audit devices that write secret values or token accessors in clear: {raw}"
    )
