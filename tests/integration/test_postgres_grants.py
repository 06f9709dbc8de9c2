"""The PostgreSQL grants task, run as synthesized against a real PostgreSQL 15.

prod's ``postgres-grants`` service is extracted from the synthesized layer2 (its script, the rendered SQL
and its admin secrets, each Vault value replaced by a stand-in) and its entrypoint is run here with its
own environment, adapted only where this machine differs: the server's address, no TLS (this server has
no certificate; prod verifies the cluster's CA) and the container paths. The stage mimics a DigitalOcean
cluster: a non-superuser admin with ``CREATEDB``/``CREATEROLE`` (like ``doadmin``) that made and owns the
maintenance database and each consumer's database, and made each consumer's login, so every database
starts open to every login, as DigitalOcean leaves them.

Expectations come from ``naming`` and ``layer2.database_consumers``, not from the rendered SQL.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sprocket_infra import naming
from sprocket_infra.config import Environment
from sprocket_infra.constructs.postgres_grants import GRANTS, NAME
from sprocket_infra.inputs import load_inputs
from sprocket_infra.postgres_grants import (
    DIGITALOCEAN_MAINTENANCE_DATABASE,
    EXTERNAL_MAINTENANCE_DATABASE,
    consumer_grants,
    grants_sql,
    quote_ident,
)
from tests.conftest import Stacks
from tests.integration.postgres_server import RunningPostgres, available, postgres_server
from tests.rendered import RenderedService, extract

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not available(), reason="Debian's PostgreSQL 15 is not installed"),
]

ENVIRONMENT = "prod"
"""The one environment with a DigitalOcean cluster (``existing``); lan's server is ``external``."""
PERMISSION_DENIED = "permission denied for database"
ACLS = (
    "SELECT datname, datdba::regrole, datacl FROM pg_database ORDER BY datname",
    "SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
    "JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2",
)


@dataclass(frozen=True)
class Stage:
    server: RunningPostgres
    task: RenderedService
    environment: Environment
    admin: tuple[str, str]
    passwords: dict[str, str]
    """Consumer -> its login's password."""
    runs: list[subprocess.CompletedProcess[str]]
    """The task's two runs, in order."""
    acls_after: list[str]
    """Database ACLs and role memberships after the first and after the second run."""
    open_before: int
    """(consumer, other database) pairs that connected before the task ran."""

    @property
    def consumers(self) -> list[str]:
        return sorted(self.environment.layer2.database_consumers)

    def database(self, consumer: str) -> str:
        return naming.database_name(self.environment, consumer)

    def user(self, consumer: str) -> str:
        return naming.database_user(self.environment, consumer)

    def as_consumer(self, consumer: str, database: str, sql: str = "SELECT 1") -> tuple[int, str]:
        result = self.server.tcp(self.user(consumer), self.passwords[consumer], database, sql)
        return result.returncode, result.stdout + result.stderr

    def databases(self) -> list[str]:
        return [*(self.database(c) for c in self.consumers), DIGITALOCEAN_MAINTENANCE_DATABASE]


def _run_task(
    task: RenderedService, server: RunningPostgres, **extra: str
) -> subprocess.CompletedProcess[str]:
    """The entrypoint exactly as mounted, with the synthesized env adapted to this machine."""
    env = dict(task.env)
    env |= {
        "PGHOST": "127.0.0.1",  # the cluster's host (a stand-in here)
        "PGPORT": str(server.port),  # DigitalOcean's 25060
        "PGSSLMODE": "disable",  # this server has no certificate; the task verifies the cluster's CA
        "PGSSLROOTCERT": str(task.path(task.env["PGSSLROOTCERT"])),
    }
    for key in ("SPROCKET_ADMIN_USER_FILE", "SPROCKET_ADMIN_PASSWORD_FILE", "SPROCKET_GRANTS_FILE"):
        env[key] = str(task.path(task.env[key]))
    env |= extra
    script = task.path(task.command[1])
    return subprocess.run(
        [task.command[0], str(script), "true"],  # "true" for the task's idle sleep
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _connected(stage_server: RunningPostgres, user: str, password: str, database: str) -> bool:
    return stage_server.tcp(user, password, database, "SELECT 1").returncode == 0


@pytest.fixture(scope="module")
def stage(synth_stacks: Callable[[str], Stacks], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    environment = load_inputs(ENVIRONMENT).environment
    task = extract(
        synth_stacks(ENVIRONMENT), NAME, tmp_path_factory.mktemp("grants"), environment=ENVIRONMENT
    )
    admin = (
        task.text(task.env["SPROCKET_ADMIN_USER_FILE"]),
        task.text(task.env["SPROCKET_ADMIN_PASSWORD_FILE"]),
    )
    consumers = sorted(environment.layer2.database_consumers)
    passwords: dict[str, str] = {
        consumer: f"pw-{consumer}-{index}" for index, consumer in enumerate(consumers)
    }
    with postgres_server() as server:
        server.superuser(
            f"CREATE ROLE {quote_ident(admin[0])} LOGIN CREATEDB CREATEROLE PASSWORD '{admin[1]}'"
        )
        as_admin = [f"CREATE DATABASE {quote_ident(DIGITALOCEAN_MAINTENANCE_DATABASE)}"]
        for consumer in consumers:
            name = quote_ident(naming.database_name(environment, consumer))
            user = quote_ident(naming.database_user(environment, consumer))
            as_admin += [
                f"CREATE ROLE {user} LOGIN PASSWORD '{passwords[consumer]}'",
                f"CREATE DATABASE {name}",
            ]
        for statement in as_admin:
            result = server.tcp(*admin, "postgres", statement)
            assert result.returncode == 0, result.stderr
        open_before = sum(
            _connected(
                server,
                naming.database_user(environment, c),
                passwords[c],
                naming.database_name(environment, d),
            )
            for c in consumers
            for d in consumers
            if d != c
        )
        runs, acls_after = [], []
        for _ in range(2):
            runs.append(_run_task(task, server))
            acls_after.append("\n".join(server.superuser(query) for query in ACLS))
        yield Stage(server, task, environment, admin, passwords, runs, acls_after, open_before)


def test_the_task_applies_the_synthesized_script_twice(stage: Stage) -> None:
    assert stage.task.text(GRANTS).startswith("-- Rendered by")
    for run in stage.runs:
        assert run.returncode == 0, run.stderr
        assert "grants applied" in run.stdout
    assert stage.acls_after[0] == stage.acls_after[1], "a second run changed the grants"


def test_databases_were_open_to_every_login_before(stage: Stage) -> None:
    """The stage is DigitalOcean's default, so the refusals below are the task's doing."""
    count = len(stage.consumers)
    assert stage.open_before == count * (count - 1)


def test_public_has_no_connect_on_any_database(stage: Stage) -> None:
    for database in stage.databases():
        allowed = stage.server.superuser(f"SELECT has_database_privilege('public', '{database}', 'CONNECT')")
        assert allowed == "f", database


def test_each_consumer_works_in_its_own_database_which_the_admin_keeps(stage: Stage) -> None:
    for consumer in stage.consumers:
        database = stage.database(consumer)
        owner = stage.server.superuser(
            f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}'"  # noqa: S608
        )
        assert owner == stage.admin[0]
        code, output = stage.as_consumer(
            consumer,
            database,
            "CREATE TABLE public.probe (id int); INSERT INTO public.probe VALUES (1); CREATE SCHEMA app; "
            "CREATE TABLE app.probe (id int); DROP SCHEMA app CASCADE; DROP TABLE public.probe",
        )  # fmt: skip
        assert code == 0, output


def test_each_consumer_is_refused_every_other_database(stage: Stage) -> None:
    refused = []
    for consumer in stage.consumers:
        for database in stage.databases():
            if database == stage.database(consumer):
                continue
            code, output = stage.as_consumer(consumer, database, "CREATE TABLE public.intruder (id int)")
            assert code != 0, (consumer, database)
            assert PERMISSION_DENIED in output, (consumer, database, output)
            refused.append((consumer, database))
    count = len(stage.consumers)
    assert len(refused) == count * count  # the other consumers' databases and the maintenance database
    print(f"\n{len(refused)} cross-database connections refused ({count} consumers, {count + 1} databases)")


def test_a_consumer_cannot_open_its_database_to_another(stage: Stage) -> None:
    """The login holds its rights without grant option: a GRANT it issues grants nothing."""
    first, second = stage.consumers[:2]
    code, output = stage.as_consumer(
        first, stage.database(first), f"GRANT CONNECT ON DATABASE {quote_ident(stage.database(first))} "
        f"TO {quote_ident(stage.user(second))}",
    )  # fmt: skip
    assert "no privileges were granted" in output, (code, output)
    code, output = stage.as_consumer(second, stage.database(first))
    assert PERMISSION_DENIED in output


def test_a_login_without_grants_reaches_no_database(stage: Stage) -> None:
    """A login made later (by hand, or a leaked role) gets nothing from PUBLIC."""
    stage.server.superuser("CREATE ROLE stranger LOGIN PASSWORD 'stranger'")
    for database in stage.databases():
        result = stage.server.tcp("stranger", "stranger", database, "SELECT 1")
        assert result.returncode != 0, database
        assert PERMISSION_DENIED in result.stderr, (database, result.stderr)


def test_the_admin_still_reaches_every_database(stage: Stage) -> None:
    """Vault's database engine and operators log in as the admin."""
    for database in stage.databases():
        result = stage.server.tcp(*stage.admin, database, "SELECT 1")
        assert result.returncode == 0, (database, result.stderr)


def test_a_wrong_admin_password_fails_after_its_attempts(stage: Stage, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password")
    run = _run_task(
        stage.task,
        stage.server,
        SPROCKET_ADMIN_PASSWORD_FILE=str(wrong),
        SPROCKET_GRANTS_ATTEMPTS="2",
        SPROCKET_GRANTS_RETRY_S="1",
    )
    assert run.returncode != 0
    assert "failed 2 times" in run.stderr
    assert "not-the-password" not in run.stdout + run.stderr


def test_the_task_fails_on_a_database_the_admin_does_not_own(stage: Stage) -> None:
    """A non-owner's REVOKE only warns, so without the script's check the task would pass and leave the
    database open."""
    database = stage.database(stage.consumers[0])
    stage.server.superuser(f"ALTER DATABASE {quote_ident(database)} OWNER TO postgres")
    try:
        run = _run_task(stage.task, stage.server, SPROCKET_GRANTS_ATTEMPTS="1", SPROCKET_GRANTS_RETRY_S="1")
    finally:
        stage.server.superuser(
            f"ALTER DATABASE {quote_ident(database)} OWNER TO {quote_ident(stage.admin[0])}"
        )
    assert run.returncode != 0
    assert f"database {database} is missing or not owned by {stage.admin[0]}" in run.stderr


def test_lans_script_closes_an_external_servers_databases(stage: Stage) -> None:
    """lan's server is ``external``: an operator runs ``sprocket-infra postgres-grants --env lan`` once as
    the superuser. Run here last, on the same server (it also revokes PUBLIC's CONNECT on ``postgres``)."""
    lan = load_inputs("lan").environment
    consumers = sorted(lan.layer2.database_consumers)
    for consumer in consumers:
        user = quote_ident(naming.database_user(lan, consumer))
        stage.server.superuser(f"CREATE ROLE {user} LOGIN PASSWORD 'lan-{consumer}'")
        stage.server.superuser(f"CREATE DATABASE {quote_ident(naming.database_name(lan, consumer))}")
    script = grants_sql(
        consumer_grants(lan, lan.layer2.database_consumers),
        maintenance_database=EXTERNAL_MAINTENANCE_DATABASE,
    )
    for _ in range(2):
        result = subprocess.run(
            ["psql", "--no-psqlrc", "-X", "-q", "-h", str(stage.server.socket_dir),
             "-p", str(stage.server.port), "-U", "postgres", "-d", EXTERNAL_MAINTENANCE_DATABASE],
            input=script, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    refused = 0
    for consumer in consumers:
        for other in consumers:
            database = naming.database_name(lan, other)
            answer = stage.server.tcp(
                naming.database_user(lan, consumer), f"lan-{consumer}", database, "SELECT 1"
            )
            if other == consumer:
                assert answer.returncode == 0, answer.stderr
            else:
                assert PERMISSION_DENIED in answer.stderr, (consumer, other, answer.stderr)
                refused += 1
    assert refused == len(consumers) * (len(consumers) - 1)
