"""The SQL that closes each consumer's PostgreSQL database to everyone but its own login.

A new database lets every role connect (``CONNECT`` and ``TEMPORARY`` belong to ``PUBLIC``), so a
DigitalOcean cluster with one database and one login per consumer still lets Grafana's login open the
platform's database. :func:`grants_sql` renders one psql script that, for each consumer:

* revokes ``CONNECT`` and ``TEMPORARY`` on its database from ``PUBLIC`` and grants them, with ``CREATE``
  (its migrations make schemas), to the consumer's login by name;
* inside the database, revokes ``CREATE`` on ``public`` from ``PUBLIC`` (already so on 15+; on older
  servers the schema belongs to the bootstrap superuser, this admin cannot revoke it and psql warns, but
  only the consumer can connect anyway) and grants the login ``USAGE`` and ``CREATE`` there.

The database stays the admin's (DigitalOcean's API makes each one owned by ``doadmin``), and the admin
joins no consumer's role: ownership would let a consumer grant its database to others, and handing it
over needs role membership, which PostgreSQL 16+ gives a non-superuser admin only with ``ADMIN OPTION``.
What each statement needs is owning the database, which ``doadmin`` does on every version; before
touching a database the script checks that, and stops otherwise (a non-owner's REVOKE only warns).

It also revokes ``CONNECT`` on the maintenance database (``defaultdb`` on DigitalOcean) from ``PUBLIC``,
so a consumer's login opens nothing but its own database. Every statement is a state, not a step: running
the script again changes nothing, which is what lets a Swarm task apply it on every start.

Names are quoted as identifiers here (never pasted raw), although ``naming`` only makes lowercase ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sprocket_infra import naming
from sprocket_infra.config import Environment

DIGITALOCEAN_MAINTENANCE_DATABASE = "defaultdb"
"""The database every DigitalOcean cluster is created with; its admin connects there first."""
EXTERNAL_MAINTENANCE_DATABASE = "postgres"
"""Where a self-run server's admin connects (PostgreSQL's own default database)."""


@dataclass(frozen=True, kw_only=True)
class DatabaseGrant:
    """One consumer's database and the login that alone connects to it."""

    consumer: str
    database: str
    login: str


def consumer_grants(environment: Environment, consumers: Iterable[str]) -> list[DatabaseGrant]:
    """One grant per consumer (``layer2.database_consumers``), its database and login named by
    ``naming`` (plain strings, so the script is the same text wherever it is rendered)."""
    return [
        DatabaseGrant(
            consumer=consumer,
            database=naming.database_name(environment, consumer),
            login=naming.database_user(environment, consumer),
        )
        for consumer in consumers
    ]


def maintenance_database(environment: Environment) -> str | None:
    """Where the admin connects first: ``defaultdb`` on DigitalOcean, ``postgres`` on an ``external``
    server; None where the environment has no PostgreSQL."""
    kind = environment.layer2.postgres.kind
    if kind == "none":
        return None
    return EXTERNAL_MAINTENANCE_DATABASE if kind == "external" else DIGITALOCEAN_MAINTENANCE_DATABASE


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL identifier in double quotes (a ``"`` inside is doubled)."""
    if not name or "\x00" in name:
        raise ValueError(f"not a PostgreSQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a PostgreSQL string literal (a ``'`` inside is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _owned(database: str) -> str:
    """A statement that fails unless the admin owns ``database``: a REVOKE or GRANT by anyone else only
    warns ("no privileges could be revoked") and would leave the database open without a failure."""
    name = quote_literal(database)  # the one value in the statement, quoted as a literal
    owner = f"SELECT pg_has_role(current_user, datdba, 'USAGE') FROM pg_database WHERE datname = {name}"  # noqa: S608
    return (
        f"DO $check$ BEGIN IF NOT coalesce(({owner}), false) THEN RAISE EXCEPTION "
        f"'database % is missing or not owned by %', {name}, current_user; END IF; END $check$;"
    )


def grants_sql(grants: Sequence[DatabaseGrant], *, maintenance_database: str) -> str:
    """The idempotent psql script for ``grants`` (see the module docstring); psql connects to
    ``maintenance_database`` first and returns there after each database."""
    databases = [grant.database for grant in grants]
    if len(set(databases)) != len(databases) or maintenance_database in databases:
        raise ValueError(
            f"each consumer needs a database of its own, apart from {maintenance_database!r} "
            f"(got {databases})"
        )
    home = quote_ident(maintenance_database)
    lines = [
        "-- Rendered by sprocket_infra/postgres_grants.py; running it again changes nothing.",
        r"\set ON_ERROR_STOP on",
        "",
        "-- The maintenance database: its owner (the admin) still connects, consumers do not.",
        _owned(maintenance_database),
        f"REVOKE CONNECT, TEMPORARY ON DATABASE {home} FROM PUBLIC;",
    ]
    for grant in sorted(grants, key=lambda item: item.consumer):
        database, login = quote_ident(grant.database), quote_ident(grant.login)
        lines += [
            "",
            f"-- {grant.consumer}: database {database}, reached by its own login {login} alone.",
            _owned(grant.database),
            f"REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC;",
            f"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {database} TO {login};",
            rf"\connect {database}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
            f"GRANT USAGE, CREATE ON SCHEMA public TO {login};",
            rf"\connect {home}",
        ]
    return "\n".join(lines) + "\n"
