"""``sprocket-infra postgres-grants``: the script an operator runs by hand on an ``external`` server."""

from __future__ import annotations

from typer.testing import CliRunner

from sprocket_infra import cli

runner = CliRunner()


def test_prints_lans_script_from_its_maintenance_database() -> None:
    result = runner.invoke(cli.app, ["postgres-grants", "--env", "lan"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("-- Rendered by")
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE "postgres" FROM PUBLIC;' in result.stdout
    assert 'GRANT CONNECT, TEMPORARY, CREATE ON DATABASE "sprocket_lan" TO "sprocket_lan";' in result.stdout


def test_prod_prints_what_the_grants_service_runs() -> None:
    """The same text layer2 puts in the postgres-grants service's config for prod."""
    from sprocket_infra.inputs import load_inputs
    from sprocket_infra.postgres_grants import DIGITALOCEAN_MAINTENANCE_DATABASE, consumer_grants, grants_sql

    environment = load_inputs("prod").environment
    expected = grants_sql(
        consumer_grants(environment, environment.layer2.database_consumers),
        maintenance_database=DIGITALOCEAN_MAINTENANCE_DATABASE,
    )
    result = runner.invoke(cli.app, ["postgres-grants", "--env", "prod"])
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


def test_fails_when_the_environment_has_no_postgres() -> None:
    result = runner.invoke(cli.app, ["postgres-grants", "--env", "local"])
    assert result.exit_code == 1
    assert "error: local: layer2.postgres.kind is 'none'" in result.output
    assert "Traceback" not in result.output
