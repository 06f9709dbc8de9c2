"""The PostgreSQL grants script and the service that applies it (its effect on a real server:
``tests/integration/test_postgres_grants.py``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from sprocket_infra.postgres_grants import DatabaseGrant, grants_sql, quote_ident
from tests.conftest import Stacks


@pytest.mark.parametrize(
    ("name", "quoted"), [("sprocket_prod", '"sprocket_prod"'), ('we"ird', '"we""ird"'), ("Mixed", '"Mixed"')]
)
def test_identifiers_are_quoted(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted


def test_fails_when_two_consumers_share_a_database() -> None:
    grants = [DatabaseGrant(consumer=c, database="shared", login=c) for c in ("a", "b")]
    with pytest.raises(ValueError, match="a database of its own"):
        grants_sql(grants, maintenance_database="defaultdb")


def test_fails_when_a_consumer_is_given_the_maintenance_database() -> None:
    with pytest.raises(ValueError, match="apart from 'defaultdb'"):
        grants_sql(
            [DatabaseGrant(consumer="a", database="defaultdb", login="a")], maintenance_database="defaultdb"
        )


def test_script_revokes_public_connect_on_every_database_it_names() -> None:
    sql = grants_sql(
        [DatabaseGrant(consumer=c, database=f"{c}_db", login=f"{c}_user") for c in ("b", "a")],
        maintenance_database="defaultdb",
    )
    revoked = re.findall(r'^REVOKE CONNECT, TEMPORARY ON DATABASE "([^"]+)" FROM PUBLIC;$', sql, re.MULTILINE)
    assert revoked == ["defaultdb", "a_db", "b_db"]
    assert 'GRANT CONNECT, TEMPORARY, CREATE ON DATABASE "a_db" TO "a_user";' in sql
    # The admin keeps the databases and joins no consumer's role (no ADMIN OPTION needed on 16+).
    assert "OWNER" not in sql
    assert "CURRENT_USER" not in sql
    assert sql.splitlines()[1] == r"\set ON_ERROR_STOP on"


@pytest.mark.parametrize("environment", ["local", "lan"])
def test_no_grants_service_without_a_digitalocean_cluster(
    synth_stacks: Callable[[str], Stacks], environment: str
) -> None:
    services = synth_stacks(environment)["layer2"]["resource"]["docker_service"].values()
    assert "postgres-grants" not in [body["name"] for body in services]


def test_grants_service_shape(synth_stacks: Callable[[str], Stacks]) -> None:
    layer2 = synth_stacks("prod")["layer2"]
    (service,) = [b for b in layer2["resource"]["docker_service"].values() if b["name"] == "postgres-grants"]
    container = service["task_spec"]["container_spec"]
    assert container["image"].startswith("postgres:")
    assert container["user"] == "70:70"
    assert container["read_only"] is True
    assert container["cap_drop"] == ["ALL"]
    assert {s["file_mode"] for s in container["secrets"]} == {0o400}
    assert {s["file_uid"] for s in container["secrets"]} == {"70"}
    assert container["env"]["PGSSLMODE"] == "verify-full"
    assert not any(
        "password" in v.lower() and not v.startswith("/run/secrets/") for v in container["env"].values()
    )
    # Terraform accepts only bare addresses in depends_on.
    assert service["depends_on"]
    assert all(not dep.startswith("${") for dep in service["depends_on"])
    assert len([d for d in service["depends_on"] if d.startswith("digitalocean_database_db.")]) == 3
    # The script is literal text, so its config name is a hash taken at synth (a new consumer re-runs it).
    configs = layer2["resource"]["docker_config"]
    (sql,) = [b for name, b in configs.items() if "grants-sql" in name]
    assert re.fullmatch(r"postgres-grants-grants-sql-[0-9a-f]{10}", sql["name"])
    assert "${" not in json.dumps(sql)
