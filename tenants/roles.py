"""Creates the database roles and grants, idempotently (see docs/architecture.md#roles)."""

from __future__ import annotations

import contextlib
import logging

import psycopg
from django.conf import settings
from psycopg import sql

from tenants.database_config import (
    APP_ROLE,
    OPERATOR_ROLE,
    OWNER_ROLE,
    admin_conninfo,
    role_password,
)

logger = logging.getLogger("tenants.roles")

# DML only. TRUNCATE is deliberately missing: it ignores row-level security.
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# What the app role may do on the tables of models that say so (the rest: DML).
NO_ACCESS, READ_ONLY = "none", "read"


def app_role_access() -> dict[str, str]:
    """{table: NO_ACCESS | READ_ONLY}, as the models declare it.

    `operator_only = True`: platform staff's tables, the operator role's only.
    `app_role_access = "read"`: control plane the request path reads and never
    writes (the registry, plans); "none": not even read (move records).
    """
    from django.apps import apps

    access = {}
    for model in apps.get_models():
        declared = NO_ACCESS if getattr(model, "operator_only", False) else None
        declared = declared or getattr(model, "app_role_access", None)
        if declared in (NO_ACCESS, READ_ONLY):
            access[model._meta.db_table] = declared
    return access


def _restrict_app_role(cur, schema: str) -> None:
    """Cut the app role's rights on the declared tables present in `schema`."""
    access = app_role_access()
    cur.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s)",
        [schema, list(access)],
    )
    for (table,) in cur.fetchall():
        target = sql.Identifier(schema, table)
        cur.execute(
            sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(target, sql.Identifier(APP_ROLE))
        )
        if access[table] == READ_ONLY:
            cur.execute(
                sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(target, sql.Identifier(APP_ROLE))
            )


def _ensure_role(cur, name: str, attributes: str, password: str | None) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    verb = "ALTER" if cur.fetchone() else "CREATE"
    stmt = sql.SQL(f"{verb} ROLE {{}} {attributes}").format(sql.Identifier(name))
    if password is not None:
        stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(password))
    with contextlib.suppress(psycopg.errors.UniqueViolation):  # created concurrently
        cur.execute(stmt)


def ensure_roles(database_url: str | None = None) -> None:
    """Create or fix owner, app and operator roles on the server of `database_url`."""
    url = database_url or settings.DATABASE_URL
    with psycopg.connect(admin_conninfo(url, "postgres"), autocommit=True) as conn:
        cur = conn.cursor()
        # Serialise concurrent callers (parallel test workers, two deploys).
        cur.execute("SELECT pg_advisory_lock(hashtext('saas.ensure_roles'))")
        try:
            _ensure_role(cur, OWNER_ROLE, "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE", None)
            _ensure_role(
                cur,
                APP_ROLE,
                "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT",
                role_password(APP_ROLE),
            )
            _ensure_role(
                cur,
                OPERATOR_ROLE,
                "LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT",
                role_password(OPERATOR_ROLE),
            )
            # A tenant's statements run in its own backend only: parallel workers are
            # processes its fair share does not count (tenants/fair_share.py counts its
            # transactions), so one tenant's report could take every core. Measured: the
            # noisy-neighbour p95 ratio went 1.25 → 2.75 once the policy's estimates let
            # the planner see a large tenant and choose parallel plans. The operator role
            # (migrations, moves, reports across tenants) keeps the server's default.
            cur.execute(
                sql.SQL("ALTER ROLE {} SET max_parallel_workers_per_gather = 0").format(
                    sql.Identifier(APP_ROLE)
                )
            )
            # The migrating login must be able to SET ROLE to the owner.
            cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(OWNER_ROLE)))
        finally:
            cur.execute("SELECT pg_advisory_unlock(hashtext('saas.ensure_roles'))")


def ensure_database(database_url: str, dbname: str) -> bool:
    """CREATE DATABASE owned by the owner role if missing. Returns True if created."""
    with psycopg.connect(admin_conninfo(database_url, "postgres"), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        if cur.fetchone():
            return False
        try:
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                )
            )
        except psycopg.errors.DuplicateDatabase:
            return False
        return True


def grant_database(database_url: str, dbname: str) -> None:
    """Privileges inside one database: owner may create, app/operator may use."""
    with psycopg.connect(admin_conninfo(database_url, dbname), autocommit=True) as conn:
        cur = conn.cursor()
        ids = {
            k: sql.Identifier(v)
            for k, v in {
                "db": dbname,
                "owner": OWNER_ROLE,
                "app": APP_ROLE,
                "op": OPERATOR_ROLE,
            }.items()
        }
        for stmt in (
            "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}, {op}",
            "GRANT CONNECT, CREATE ON DATABASE {db} TO {owner}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE, CREATE ON SCHEMA public TO {owner}",
            "GRANT USAGE ON SCHEMA public TO {app}, {op}",
        ):
            cur.execute(sql.SQL(stmt).format(**ids))
    grant_schema_privileges(database_url, dbname, "public")


def grant_schema_privileges(database_url: str, dbname: str, schema: str, conn=None) -> None:
    """Table/sequence privileges for app and operator, now and for future tables."""
    statements = [
        "GRANT USAGE ON SCHEMA {schema} TO {app}, {op}",
        f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {{schema}} TO {{app}}, {{op}}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}, {op}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {{owner}} IN SCHEMA {{schema}} "
        f"GRANT {APP_TABLE_PRIVILEGES} ON TABLES TO {{app}}, {{op}}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT USAGE, SELECT ON SEQUENCES TO {app}, {op}",
    ]
    ids = {
        "schema": sql.Identifier(schema),
        "owner": sql.Identifier(OWNER_ROLE),
        "app": sql.Identifier(APP_ROLE),
        "op": sql.Identifier(OPERATOR_ROLE),
    }

    def run(c):
        cur = c.cursor()
        for stmt in statements:
            cur.execute(sql.SQL(stmt).format(**ids))
        _restrict_app_role(cur, schema)

    if conn is not None:
        run(conn)
        return
    with psycopg.connect(admin_conninfo(database_url, dbname), autocommit=True) as c:
        run(c)
