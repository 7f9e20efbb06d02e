"""Schema per tenant: the tenant's own PostgreSQL schema in its server's pool, cloned from a migrated template.

Requests reach it through the transaction-local search_path `"t_<id>", public`,
set with the tenant context (`context_prefix` below); the same RLS policies
exist in the schema as defence in depth.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from tenants.backends import pools, spares
from tenants.backends.base import IsolationBackend
from tenants.backends.placement import TEMPLATE_SCHEMA, Placement
from tenants.database_config import APP_ROLE, OPERATOR_ROLE


def template_placement(server=None) -> Placement:
    return pools.pool_placement(server, TEMPLATE_SCHEMA, pooled=False)


_template_current: set[tuple[str, str, str]] = set()
PLACEHOLDER = "__tenant_schema__"
_clone_scripts: dict[tuple, str] = {}


def _clone_script(conn) -> str:
    """The statements that clone the template into a schema named PLACEHOLDER.

    Reading the template's constraints, indexes and policies scans catalogs
    that grow with every tenant schema; doing it once per process keeps
    provisioning flat at fleet scale.
    """
    from tenants.backends.migrate import code_state

    key = (conn.info.host, conn.info.port, conn.info.dbname, code_state())
    script = _clone_scripts.get(key)
    if script is None:
        statements = conn.execute(
            "SELECT public.saas_clone_script(%s, %s, %s)",
            [TEMPLATE_SCHEMA, APP_ROLE, OPERATOR_ROLE],
        ).fetchone()[0]
        script = _clone_scripts[key] = ";\n".join(_merge_alters(statements))
    return script


_ALTER = re.compile(r'ALTER TABLE ("(?:[^"]|"")+"|\S+) (.+)', re.S)


def _merge_alters(statements: list[str]) -> list[str]:
    """One ALTER TABLE per table where the script has a run of them (keys, foreign keys,
    the RLS switches): each statement locks the table and invalidates its cache entry
    once, whatever the number of sub-commands. Runs are kept in their order, so a
    foreign key still comes after the key it references.
    """
    merged: list[str] = []
    run: dict[str, list[str]] = {}
    for statement in [*statements, ""]:
        match = _ALTER.fullmatch(statement)
        if match:
            run.setdefault(match[1], []).append(match[2])
            continue
        merged.extend(f"ALTER TABLE {table} {', '.join(subs)}" for table, subs in run.items())
        run = {}
        if statement:
            merged.append(statement)
    return merged


def clone_statements(conn, schema: str) -> str:
    """The clone script for a schema named `schema` (one message, one transaction)."""
    return _clone_script(conn).replace(PLACEHOLDER, schema)


def ensure_template(server=None, *, force: bool = False) -> None:
    """Create or bring a server's template schema up to the code's migrations (rarely does work).

    Checked once per process and server: the template only ever moves forward,
    to this code's migrations, so once it matched it keeps matching.
    """
    from tenants.backends.migrate import code_state, migrate_placement

    pools.ensure_pool(server, force=force)
    placement = template_placement(server)
    key = (placement.server_url, placement.dbname, code_state())
    if key in _template_current and not force:
        return
    with placement.connect(autocommit=True) as conn:
        # One provisioning at a time migrates the template.
        conn.execute("SELECT pg_advisory_lock(hashtext('saas.schema_template'))")
        try:
            migrate_placement(placement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('saas.schema_template'))")
    _template_current.add(key)


class SchemaBackend(pools.OnServerPool, IsolationBackend):
    mode = "schema"

    def pool_schema(self, tenant) -> str | None:
        return tenant.schema_name

    def describe(self, tenant) -> str:
        return f"schema {tenant.schema_name} on {tenant.server_name}"

    def search_path(self, tenant) -> str:
        return f'"{tenant.schema_name}", public'

    def placement(self, tenant) -> Placement:
        return pools.pool_placement(tenant.database_server, tenant.schema_name, pooled=False)

    def placement_key(self, tenant) -> str:
        # Placement.fence_key without loading the server (the prefix of every statement).
        return tenant.schema_name

    def provision(self, tenant) -> None:
        from tenants.backends.migrate import migrate_placement

        placement = self.placement(tenant)
        ensure_template(tenant.database_server)
        with placement.connect(autocommit=True) as conn:
            # A spare built ahead, renamed to the tenant's: no DDL on this path.
            if spares.claim_schema(conn, tenant.schema_name):
                spares.request_refill(tenant.database_server)
                return
            script = clone_statements(conn, tenant.schema_name)
            try:
                # One message, one round trip: the template's DDL, rendered once per
                # process, runs as one implicit transaction (all of it or nothing).
                conn.execute(script.encode())
                return
            except psycopg.errors.DuplicateSchema:
                pass  # its first statement: nothing of the message was applied
        migrate_placement(placement)  # re-run after a crash, or a lagging schema

    def deprovision(self, tenant) -> None:
        with self.placement(tenant).connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(tenant.schema_name)
                )
            )
