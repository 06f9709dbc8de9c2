"""``sprocket-infra secrets bootstrap`` / ``check`` as operators run them, against a real OpenBao dev server.

The installed console script runs in a subprocess (real stdout, stderr and exit codes). Every value is a
unique canary, and every captured stream plus the server's log is searched for all of them. Each test has
an environment of its own on the shared server, described by a config file the CLI reads through
``SPROCKET_CONFIG_DIR`` (as synth does): a bucket on AWS and an external PostgreSQL server, so the manifest
holds every kind of entry, the hand-made database passwords outside ``manual/`` included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import hvac
import hvac.exceptions
import pytest
import yaml

from sprocket_infra.config import load_environment
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.secrets.manifest import SecretManifest
from sprocket_infra.vault.access import vault_access
from sprocket_infra.vault.apply import apply_access
from tests.integration.openbao_dev import DevServer, local_client
from tests.integration.processes import free_port

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).parent / "sprocket-infra"
CLI_TIMEOUT_S = 60
_FOREIGN_ENV = ("VAULT_ADDR", "VAULT_TOKEN", "BAO_ADDR", "BAO_TOKEN", "SPROCKET_ENV", "SPROCKET_CONFIG_DIR")
EXTERNAL_POSTGRES = {"kind": "external", "host": "192.0.2.10"}


@dataclass
class Transcript:
    """Everything a test made visible, to be searched for canaries at the end."""

    texts: list[str] = field(default_factory=list)

    def add(self, result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
        self.texts.extend([result.stdout, result.stderr])
        return result


@dataclass(frozen=True)
class Environments:
    """Environment files of this module's tests, in a directory of their own."""

    directory: Path

    def add(self, name: str, *, postgres: Mapping[str, str] = EXTERNAL_POSTGRES) -> SecretManifest:
        """Write ``<name>.yaml`` and return the manifest the CLI will compute from it."""
        layer2: dict[str, Any] = {"postgres": dict(postgres), "buckets": {"general": {"provider": "aws"}}}
        document = {"name": name, "routing": {"domain": "localhost"}, "layer2": layer2}
        (self.directory / f"{name}.yaml").write_text(yaml.safe_dump(document))
        return external_secrets(load_environment(name, config_dir=self.directory))


class Run(Protocol):
    def __call__(
        self, *args: str, token: str | None = None, extra: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture(scope="module")
def root(server: DevServer) -> hvac.Client:
    return local_client(server.addr, server.root_token)


@pytest.fixture(scope="module")
def environments(tmp_path_factory: pytest.TempPathFactory) -> Environments:
    return Environments(tmp_path_factory.mktemp("config"))


@pytest.fixture
def transcript(server: DevServer) -> Iterator[Transcript]:
    """Collects CLI output; afterwards asserts that no canary of the test appears in it or the server log."""
    seen = Transcript()
    yield seen
    seen.texts.append(server.process.output())
    everything = "\n".join(seen.texts)
    assert "canary-" not in everything, "a secret value was printed or logged"


@pytest.fixture
def run(server: DevServer, transcript: Transcript, environments: Environments) -> Run:
    """Runs the CLI against the server (with the root token unless told otherwise) and this module's
    environment files, inheriting no manifest variable from the test's own environment (the default
    environment file has every optional entry, so its manifest names them all)."""
    manifest = environments.add("all-variables")
    inherited = {
        key: value for key, value in os.environ.items() if key not in {*manifest.env_vars, *_FOREIGN_ENV}
    }

    def run(
        *args: str, token: str | None = None, extra: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **inherited,
            "VAULT_ADDR": server.addr,
            "VAULT_TOKEN": token or server.root_token,
            "SPROCKET_CONFIG_DIR": str(environments.directory),
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
            **(extra or {}),
        }
        result = subprocess.run(
            [str(CLI), *args], env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False
        )
        return transcript.add(result)

    return run


def _canaries(manifest: SecretManifest) -> dict[str, str]:
    return {name: f"canary-{uuid.uuid4().hex}" for name in manifest.env_vars}


def _prepare(root: hvac.Client, environments: Environments, env: str, **settings: Any) -> SecretManifest:
    apply_access(root, vault_access(env))
    return environments.add(env, **settings)


def _platform_token(root: hvac.Client, env: str) -> hvac.Client:
    token = root.auth.token.create(policies=[f"platform-{env}"], ttl="10m")["auth"]["client_token"]
    return local_client(root.url, token)


def _versions(root: hvac.Client, manifest: SecretManifest) -> dict[tuple[str, str], int]:
    return {
        (mount, path): root.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)["data"][
            "current_version"
        ]
        for mount, path in manifest.by_secret()
    }


def _statuses(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {entry["name"]: entry["status"] for entry in json.loads(result.stdout)["entries"]}


def _assert_platform_reads(
    root: hvac.Client, env: str, manifest: SecretManifest, values: Mapping[str, str]
) -> None:
    """A token holding only ``platform-<env>`` reads every value the platform is meant to, as written:
    the platform mount's share and its database password below ``for-platform``."""
    reader = _platform_token(root, env)
    platform_refs = [ref for ref in manifest.values() if ref.mount.path == "platform"]
    # the OAuth clients, app tokens, core's JWT key, the AWS bucket keys, Gatus's webhook
    assert len(platform_refs) == 14
    for ref in [*platform_refs, manifest["postgres-platform-password"]]:
        read = reader.secrets.kv.v2.read_secret_version(
            path=ref.path, mount_point=ref.mount.path, raise_on_deleted_version=True
        )
        assert read["data"]["data"][ref.key] == values[ref.env_var], ref.name


def test_bootstrap_from_environment_then_second_run_changes_nothing(
    root: hvac.Client, run: Run, environments: Environments
) -> None:
    manifest = _prepare(root, environments, "envvars")
    values = _canaries(manifest)

    first = run("secrets", "bootstrap", "--env", "envvars", "--json", extra=values)
    versions = _versions(root, manifest)
    second = run("secrets", "bootstrap", "--env", "envvars", extra=values)
    again = run("secrets", "bootstrap", "--env", "envvars", "--json", extra=values)

    assert first.returncode == 0, first.stderr
    assert set(_statuses(first).values()) == {"written"}
    assert second.returncode == 0, second.stderr
    assert f"{len(manifest)} unchanged" in second.stdout
    assert set(_statuses(again).values()) == {"unchanged"}
    assert _versions(root, manifest) == versions == dict.fromkeys(versions, 1)
    _assert_platform_reads(root, "envvars", manifest, values)


def test_bootstrap_from_dotenv_file(
    root: hvac.Client, run: Run, environments: Environments, tmp_path: Path
) -> None:
    manifest = _prepare(root, environments, "dotenv")
    values = _canaries(manifest)
    dotenv = tmp_path / "dotenv.env"
    dotenv.write_text("".join(f"{name}='{value}'\n" for name, value in values.items()))

    result = run("secrets", "bootstrap", "--env", "dotenv", "--dotenv", str(dotenv), "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {entry["source"] for entry in report["entries"]} == {".env file dotenv.env"}
    _assert_platform_reads(root, "dotenv", manifest, values)


def test_bootstrap_from_doppler_json_with_environment_overriding_one_value(
    root: hvac.Client, run: Run, environments: Environments, tmp_path: Path
) -> None:
    manifest = _prepare(root, environments, "doppler")
    values = _canaries(manifest)
    download = tmp_path / "doppler.json"
    download.write_text(json.dumps({"DOPPLER_PROJECT": "sprocket", **values}))
    override = {"STEAM_API_KEY": f"canary-{uuid.uuid4().hex}"}

    result = run(
        *("secrets", "bootstrap", "--env", "doppler", "--doppler-json", str(download), "--json"),
        extra=override,
    )

    assert result.returncode == 0, result.stderr
    sources = {entry["env_var"]: entry["source"] for entry in json.loads(result.stdout)["entries"]}
    assert sources["STEAM_API_KEY"] == "environment"
    assert sources["GOOGLE_CLIENT_ID"] == "doppler json doppler.json"
    _assert_platform_reads(root, "doppler", manifest, {**values, **override})


def test_dry_run_writes_nothing_and_prints_no_value(
    root: hvac.Client, run: Run, environments: Environments
) -> None:
    manifest = _prepare(root, environments, "dryrun")
    values = _canaries(manifest)

    result = run("secrets", "bootstrap", "--env", "dryrun", "--dry-run", extra=values)

    assert result.returncode == 0, result.stderr
    assert "would write" in result.stdout
    assert "platform/dryrun/manual/oauth/google" in result.stdout
    for mount, path in manifest.by_secret():
        with pytest.raises(hvac.exceptions.InvalidPath):
            root.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)


def test_missing_entries_exit_1_are_named_and_the_rest_is_written(
    root: hvac.Client, run: Run, environments: Environments
) -> None:
    manifest = _prepare(root, environments, "missing")
    values = _canaries(manifest)
    del values["EPIC_CLIENT_SECRET"], values["GATUS_DISCORD_WEBHOOK_URL"]

    result = run("secrets", "bootstrap", "--env", "missing", extra=values)
    check = run("secrets", "check", "--env", "missing")

    assert result.returncode == 1
    assert "missing: epic-client-secret" in result.stdout
    assert "missing: gatus-alert-webhook" in result.stdout
    assert f"{len(manifest) - 2} written" in result.stdout
    assert check.returncode == 1
    assert "missing: epic-client-secret (platform/missing/manual/oauth/epic#clientSecret)" in check.stdout
    stored = root.secrets.kv.v2.read_secret_version(
        path="missing/manual/oauth/epic", mount_point="platform", raise_on_deleted_version=True
    )
    assert stored["data"]["data"] == {"clientId": values["EPIC_CLIENT_ID"]}


def _admin_token(root: hvac.Client) -> str:
    token: str = root.auth.token.create(policies=["admin-team"], ttl="10m")["auth"]["client_token"]
    return token


def test_maintainers_can_bootstrap_with_the_admin_team_policy(
    root: hvac.Client, run: Run, environments: Environments
) -> None:
    """The admin-team policy is enough to run the bootstrap (no root token on an operator's laptop) where
    PostgreSQL is not hand-made."""
    manifest = _prepare(root, environments, "admins", postgres={"kind": "none"})
    values = _canaries(manifest)

    result = run("secrets", "bootstrap", "--env", "admins", "--json", token=_admin_token(root), extra=values)

    assert result.returncode == 0, result.stderr
    assert set(_statuses(result).values()) == {"written"}


def test_maintainers_cannot_write_external_postgres_passwords_and_are_told_so(
    root: hvac.Client, run: Run, environments: Environments
) -> None:
    """admin-team writes ``infrastructure/<env>/manual/*`` only, not the login paths layer2 owns; with an
    external server someone holding the infrastructure policy (or root) bootstraps those. The refusal is
    one line naming the secret, after the secrets it may write are written."""
    manifest = _prepare(root, environments, "admins-pg")
    values = _canaries(manifest)

    result = run("secrets", "bootstrap", "--env", "admins-pg", token=_admin_token(root), extra=values)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: reading infrastructure/admins-pg/for-platform/postgres/platform: permission denied "
        "(token invalid, expired, or its policies don't allow this)"
    ]
    gatus = manifest["gatus-alert-webhook"]
    stored = root.secrets.kv.v2.read_secret_version(
        path=gatus.path, mount_point=gatus.mount.path, raise_on_deleted_version=True
    )
    assert stored["data"]["data"] == {gatus.key: values[gatus.env_var]}


def test_a_soft_deleted_secret_is_rewritten_on_top_of_its_version(
    root: hvac.Client, run: Run, environments: Environments
) -> None:
    manifest = _prepare(root, environments, "deleted")
    values = _canaries(manifest)
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(
        path="deleted/manual/chatwoot", secret={"hmacKey": "old"}, mount_point="platform"
    )
    kv.delete_latest_version_of_secret(path="deleted/manual/chatwoot", mount_point="platform")

    result = run("secrets", "bootstrap", "--env", "deleted", "--json", extra=values)

    assert result.returncode == 0, result.stderr
    assert _statuses(result)["chatwoot-hmac-key"] == "written"
    assert (
        kv.read_secret_metadata(path="deleted/manual/chatwoot", mount_point="platform")["data"][
            "current_version"
        ]
        == 2
    )


def test_bad_token_and_unreachable_vault_are_one_line_errors(
    server: DevServer, run: Run, environments: Environments
) -> None:
    values = _canaries(environments.add("errors"))

    bad_token = run("secrets", "bootstrap", "--env", "errors", token="not-a-token", extra=values)
    unreachable = run(
        "secrets", "check", "--env", "errors", extra={"VAULT_ADDR": f"http://127.0.0.1:{free_port()}"}
    )

    assert bad_token.returncode == 1
    assert bad_token.stdout == ""
    assert bad_token.stderr.strip().splitlines() == [
        f"error: Vault at {server.addr} rejected the token (wrong or expired)"
    ]
    assert unreachable.returncode == 1
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "cannot reach Vault at http://127.0.0.1:" in unreachable.stderr
    assert "Traceback" not in bad_token.stderr + unreachable.stderr
