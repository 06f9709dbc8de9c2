"""The ``sprocket-infra`` CLI against an in-memory KV store: exit codes, output formats, no values shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_infra import cli
from sprocket_infra.secrets.external import external_secrets
from sprocket_infra.vault.client import VaultOperationError
from tests.unit.fake_kv import FakeKv

runner = CliRunner()
ENV_VARS = external_secrets("local").env_vars
DEPLOY_KEYS = {
    "SPACES_ACCESS_KEY_ID": "do-deploy-id-canary",
    "SPACES_SECRET_ACCESS_KEY": "do-deploy-key-canary",
}
"""What an operator exports to deploy prod; the bootstrap must never copy it anywhere."""


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    read_by_any = {name for env in ("local", "lan", "prod") for name in external_secrets(env).env_vars}
    for name in (
        *read_by_any,
        *DEPLOY_KEYS,
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "SPROCKET_ENV",
        "SPROCKET_CONFIG_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeKv:
    """Route the CLI's Vault access to an in-memory store; ``connect`` checks it got the options."""
    fake = FakeKv()

    def fake_connect(addr: str | None, token: str | None) -> object:
        assert (addr, token) == ("http://127.0.0.1:1", "t0ken-canary")
        return object()

    monkeypatch.setattr(cli, "connect", fake_connect)
    monkeypatch.setattr(cli, "VaultKvStore", lambda client: fake)
    return fake


VAULT = {"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "t0ken-canary"}


def _canaries(prefix: str, env: str = "local") -> dict[str, str]:
    names = external_secrets(env).env_vars
    return {name: f"{prefix}-{index:02d}-canary" for index, name in enumerate(names)}


def _assert_no_values(output: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        assert value not in output, f"value of {name} leaked"
    assert "t0ken-canary" not in output


def test_dry_run_shows_would_write_and_writes_nothing(store: FakeKv) -> None:
    values = _canaries("dry")

    result = runner.invoke(cli.app, ["secrets", "bootstrap", "--dry-run"], env={**VAULT, **values})

    assert result.exit_code == 0, result.output
    assert "would write" in result.output
    assert "platform/local/manual/oauth/google" in result.output
    assert store.versions == {}
    _assert_no_values(result.output, values)


def test_bootstrap_json_report_lists_every_ref_with_status_and_source(store: FakeKv) -> None:
    values = _canaries("json")

    result = runner.invoke(
        cli.app, ["secrets", "bootstrap", "--json", "--env", "prod"], env={**VAULT, **values}
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["env"] == "prod"
    assert {entry["status"] for entry in report["entries"]} == {"written"}
    assert {entry["source"] for entry in report["entries"]} == {"environment"}
    assert {entry["name"] for entry in report["entries"]} == set(external_secrets("prod"))
    assert (
        store.current("platform", "prod/manual/oauth/google")["clientSecret"]
        == values["GOOGLE_CLIENT_SECRET"]
    )
    _assert_no_values(result.output, values)


def test_prod_bootstrap_ignores_the_deploy_keys_and_asks_for_no_aws_pair(store: FakeKv) -> None:
    """prod's buckets are on Spaces with a key layer2 makes: nothing reads an AWS pair, so none is demanded,
    and the Spaces key the operator exported to deploy stays out of Vault."""
    values = {name: value for name, value in _canaries("prod", "prod").items() if name not in DEPLOY_KEYS}

    result = runner.invoke(
        cli.app, ["secrets", "bootstrap", "--json", "--env", "prod"], env={**VAULT, **values, **DEPLOY_KEYS}
    )

    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)["entries"]
    assert [entry["name"] for entry in entries if entry["name"].startswith("aws-s3")] == []
    stored = {value for history in store.versions.values() for value in history[-1].values()}
    assert stored == set(values.values())
    _assert_no_values(result.output, {**values, **DEPLOY_KEYS})


def test_lan_bootstrap_writes_the_external_postgres_passwords(store: FakeKv) -> None:
    values = _canaries("lan", "lan")

    result = runner.invoke(cli.app, ["secrets", "bootstrap", "--env", "lan"], env={**VAULT, **values})

    assert result.exit_code == 0, result.output
    assert store.current("infrastructure", "lan/postgres/grafana") == {
        "password": values["POSTGRES_GRAFANA_PASSWORD"]
    }
    assert store.current("infrastructure", "lan/for-platform/postgres/platform") == {
        "password": values["POSTGRES_PLATFORM_PASSWORD"]
    }
    _assert_no_values(result.output, values)


def test_missing_values_exit_1_and_are_named(store: FakeKv) -> None:
    values = {"GOOGLE_CLIENT_ID": "only-one-canary"}

    result = runner.invoke(cli.app, ["secrets", "bootstrap"], env={**VAULT, **values})

    assert result.exit_code == 1
    assert "missing: google-client-secret" in result.output
    assert "set GOOGLE_CLIENT_SECRET" in result.output
    assert store.current("platform", "local/manual/oauth/google") == {"clientId": "only-one-canary"}
    _assert_no_values(result.output, values)


def test_values_come_from_dotenv_and_doppler_files(store: FakeKv, tmp_path: Path) -> None:
    values = _canaries("file")
    names = list(values)
    doppler = tmp_path / "doppler.json"
    doppler.write_text(json.dumps({name: values[name] for name in names[:7]}))
    dotenv = tmp_path / ".env"
    dotenv.write_text("".join(f"{name}={values[name]}\n" for name in names[7:]))

    result = runner.invoke(
        cli.app,
        ["secrets", "bootstrap", "--json", "--dotenv", str(dotenv), "--doppler-json", str(doppler)],
        env=VAULT,
    )

    assert result.exit_code == 0, result.output
    sources = {entry["env_var"]: entry["source"] for entry in json.loads(result.stdout)["entries"]}
    assert sources[names[0]] == "doppler json doppler.json"
    assert sources[names[-1]] == ".env file .env"
    _assert_no_values(result.output, values)


def test_check_exits_1_until_everything_is_present(store: FakeKv) -> None:
    before = runner.invoke(cli.app, ["secrets", "check"], env=VAULT)
    runner.invoke(cli.app, ["secrets", "bootstrap"], env={**VAULT, **_canaries("c")})
    after = runner.invoke(cli.app, ["secrets", "check", "--json"], env=VAULT)

    assert before.exit_code == 1
    assert "missing: gatus-alert-webhook" in before.output
    assert after.exit_code == 0, after.output
    assert {entry["status"] for entry in json.loads(after.stdout)["entries"]} == {"present"}


def test_vault_errors_are_one_line_with_exit_1_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    values = _canaries("err")

    def failing_connect(addr: str | None, token: str | None) -> object:
        raise VaultOperationError(f"reading x: Vault said {values['DISCORD_BOT_TOKEN']} and {token}")

    monkeypatch.setattr(cli, "connect", failing_connect)

    result = runner.invoke(cli.app, ["secrets", "bootstrap"], env={**VAULT, **values})

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: reading x: Vault said *** and ***"]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_vault_address_is_a_clear_error() -> None:
    result = runner.invoke(cli.app, ["secrets", "check"], env={"VAULT_TOKEN": "x"})

    assert result.exit_code == 1
    assert result.output.strip() == "error: no Vault address: pass --vault-addr or set VAULT_ADDR"


def test_unreadable_dotenv_is_a_clear_error(store: FakeKv, tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app, ["secrets", "bootstrap", "--dotenv", str(tmp_path / "nope.env")], env=VAULT
    )

    assert result.exit_code == 1
    assert result.output.strip() == f"error: .env file {tmp_path / 'nope.env'} does not exist"


def test_invalid_environment_is_a_clear_error(store: FakeKv) -> None:
    result = runner.invoke(cli.app, ["secrets", "check"], env={**VAULT, "SPROCKET_ENV": "Prod"})

    assert result.exit_code == 1
    assert result.output.startswith("error: environment name 'Prod' is not valid")


def test_missing_environment_file_is_a_clear_error() -> None:
    result = runner.invoke(cli.app, ["secrets", "list", "--env", "staging"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: config/staging.yaml: no such environment file (known environments: lan, local, prod)"
    ]


def test_invalid_config_file_is_one_error_line_naming_every_problem(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\nrouting: {domain: localhost}\nlayer2: {buckets: 3}\nx: 1\n"
    )

    result = runner.invoke(cli.app, ["secrets", "list", "--env", "broken", "--config-dir", str(tmp_path)])

    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'broken.yaml'}: ")
    assert "layer2.buckets:" in line
    assert "x: unknown key" in line
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("how", ["option", "variable"])
def test_the_config_file_decides_what_is_needed(tmp_path: Path, how: str) -> None:
    """An environment file kept elsewhere (as synth reads it through SPROCKET_CONFIG_DIR) with a bucket on
    AWS: its manifest asks for the apps' AWS key pair."""
    (tmp_path / "sample.yaml").write_text(
        "name: sample\nrouting: {domain: localhost}\nlayer2: {buckets: {general: {provider: aws}}}\n"
    )
    where = ["--config-dir", str(tmp_path)] if how == "option" else []
    env = {"SPROCKET_CONFIG_DIR": str(tmp_path)} if how == "variable" else {}

    result = runner.invoke(cli.app, ["secrets", "list", "--env", "sample", "--json", *where], env=env)

    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.stdout)}
    assert listed["aws-s3-access-key-id"]["env_var"] == "PLATFORM_AWS_S3_ACCESS_KEY_ID"
    assert listed["aws-s3-secret-access-key"]["address"] == "platform/sample/manual/aws-s3#secretAccessKey"


def test_environment_comes_from_sprocket_env(store: FakeKv) -> None:
    result = runner.invoke(cli.app, ["secrets", "check", "--json"], env={**VAULT, "SPROCKET_ENV": "lan"})

    assert json.loads(result.stdout)["env"] == "lan"
    assert all(entry["path"].startswith("lan/") for entry in json.loads(result.stdout)["entries"])


def test_secrets_list_needs_no_vault() -> None:
    result = runner.invoke(cli.app, ["secrets", "list", "--json", "--env", "prod"])

    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.stdout)}
    assert listed["chatwoot-hmac-key"]["address"] == "platform/prod/manual/chatwoot#hmacKey"
    assert listed["chatwoot-hmac-key"]["env_var"] == "CHATWOOT_HMAC_KEY"


def test_vault_policies_prints_rendered_hcl() -> None:
    result = runner.invoke(cli.app, ["vault", "policies", "--env", "prod"])

    assert result.exit_code == 0, result.output
    assert "# platform-prod:" in result.output
    assert 'path "platform/data/prod/*" {' in result.output
