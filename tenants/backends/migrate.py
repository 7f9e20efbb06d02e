"""Migrating tenant placements (schemas, databases) at fleet scale.

Django's per-placement path loads and renders the whole migration state for
every schema (django-tenants' migrate_schemas pays ~75 ms per schema even
with nothing to do). Here:

* what each placement has applied is read in one round trip for all schemas
  (`saas_schema_migration_digests`) and one query per tenant database;
* placements are grouped by what they have applied; for each group the SQL of
  the pending migrations is rendered ONCE (schema_editor collect_sql) and then
  run in every placement of the group as one transaction (one message);
* a migration with operations that cannot be written as SQL (RunPython) falls
  back to Django's executor for each placement.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from psycopg import sql as pgsql

from tenants.backends import migrating_placement_scope
from tenants.backends.placement import TEMPLATE_SCHEMA, Placement
from tenants.context import placement_search_path

logger = logging.getLogger("tenants.migrate")


@lru_cache(maxsize=1)
def _loader() -> MigrationLoader:
    return MigrationLoader(None, ignore_no_migrations=True)


@lru_cache(maxsize=1)
def full_plan() -> tuple[tuple[str, str], ...]:
    graph = _loader().graph
    seen: dict[tuple[str, str], None] = {}
    for leaf in sorted(graph.leaf_nodes()):
        for node in graph.forwards_plan(leaf):
            seen.setdefault(node, None)
    return tuple(seen)


def state_digest(applied) -> str:
    names = sorted(applied)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def code_state() -> str:
    """The digest a placement has when every migration of this code is applied."""
    return state_digest(f"{a}.{n}" for a, n in full_plan())


def pending_for(applied: frozenset[str]) -> list[tuple[str, str]]:
    return [key for key in full_plan() if f"{key[0]}.{key[1]}" not in applied]


@dataclass
class CompiledMigrations:
    keys: list[tuple[str, str]]
    statements: list[str] | None  # None: needs Django's executor (RunPython inside)

    @property
    def message(self) -> str:
        rows = ", ".join(f"('{a}', '{n}', now())" for a, n in self.keys)
        record = f"INSERT INTO django_migrations (app, name, applied) VALUES {rows}"
        return ";\n".join([*(s.rstrip().rstrip(";") for s in self.statements), record])


def compile_pending(
    applied: frozenset[str], placement: Placement | None = None
) -> CompiledMigrations:
    """Render the SQL of the migrations `applied` lacks, once, for tenant tables only.

    Some operations introspect the live schema while rendering (dropping an
    index or a constraint by its real name), so rendering runs against
    `placement`, one member of the group it is rendered for: every member has
    applied the same migrations, so they have the same tables and names.
    """
    keys = pending_for(applied)
    if not keys:
        return CompiledMigrations([], [])
    loader = _loader()
    migrations = [loader.graph.nodes[k] for k in keys]
    if any(
        not op.reduces_to_sql
        for m in migrations
        for op in m.operations
        if _applies_to_placement(op)
    ):
        return CompiledMigrations(keys, None)
    from django.conf import settings

    if placement is None:
        placement = Placement(settings.DATABASE_URL, _main_dbname(), TEMPLATE_SCHEMA, False)
    connection = owner_connection(placement.server_url, placement.dbname)
    schema = None if placement.schema == "public" else placement.schema
    done = [k for k in full_plan() if f"{k[0]}.{k[1]}" in applied]
    state = (
        loader.project_state(nodes=done, at_end=True)
        if done
        else loader.project_state(nodes=[], at_end=True)
    )
    statements: list[str] = []
    try:
        with migrating_placement_scope("compile"), placement_search_path(schema):
            for migration in migrations:
                with connection.schema_editor(collect_sql=True, atomic=False) as editor:
                    state = migration.apply(state, editor, collect_sql=True)
                statements.extend(s for s in editor.collected_sql if not _only_comments(s))
    finally:
        connection.close()
    return CompiledMigrations(keys, statements)


def _only_comments(statement: str) -> bool:
    """The schema editor's own `-- Create model …` lines; a RunSQL that merely starts with a
    comment is a statement and must run."""
    return all(
        not line.strip() or line.lstrip().startswith("--") for line in statement.splitlines()
    )


def _main_dbname() -> str:
    return connections["owner"].settings_dict["NAME"]


def _applies_to_placement(operation) -> bool:
    # RunPython/RunSQL only run in placements when they say so (router hints).
    hints = getattr(operation, "hints", None)
    if hints is not None:
        return bool(hints.get("tenant_placed", False))
    return True


def read_schema_states(server_url: str, dbname: str, like: str = "t\\_%") -> dict[str, frozenset]:
    """{schema: applied migration names} for every matching schema, in one round trip."""
    placement = Placement(server_url, dbname, "public", pooled=False)
    with placement.connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schema_name, applied FROM public.saas_schema_migration_digests(%s)", [like]
        ).fetchall()
    return {schema: frozenset(applied) for schema, applied in rows}


def read_state(placement: Placement) -> frozenset[str]:
    with placement.connect(autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('django_migrations') IS NOT NULL").fetchone()[0]
        if not exists:
            return frozenset()
        rows = conn.execute("SELECT app || '.' || name FROM django_migrations").fetchall()
    return frozenset(r[0] for r in rows)


def apply_compiled(placement: Placement, compiled: CompiledMigrations) -> None:
    """Run the pre-rendered SQL in one placement: one transaction, one message."""
    with placement.connect() as conn:
        conn.execute(
            pgsql.SQL("SET LOCAL search_path TO {}").format(pgsql.Identifier(placement.schema))
        )
        conn.execute(compiled.message.encode())
        conn.commit()


def owner_connection(server_url: str, dbname: str):
    """A Django connection to one placement's database as the owner role.

    Standalone (not registered in django.db.connections): migrating one
    placement cannot touch the state of the process's own connections.
    The caller closes it.
    """
    from django.db.utils import load_backend

    from tenants.database_config import ENGINE, OWNER_ROLE, build_databases

    config = build_databases(server_url)["owner"]
    config["NAME"] = dbname
    config["OPTIONS"]["assume_role"] = OWNER_ROLE
    filled = connections.configure_settings({"default": config})["default"]
    alias = (
        "placement_owner_"
        + hashlib.sha1(f"{server_url}|{dbname}".encode(), usedforsecurity=False).hexdigest()[:12]
    )
    # Registered too, because Django looks up `connections[alias]` for model
    # metadata (Options.can_migrate); the work runs on the standalone wrapper.
    from tenants.db import register_alias

    register_alias(alias, config)
    return load_backend(ENGINE).DatabaseWrapper(filled, alias)


def apply_with_executor(placement: Placement) -> None:
    """Django's own executor on one placement (fresh placements, RunPython migrations)."""
    connection = owner_connection(placement.server_url, placement.dbname)
    schema = None if placement.schema == "public" else placement.schema
    try:
        with migrating_placement_scope(placement.label), placement_search_path(schema):
            if schema is not None:
                with connection.cursor() as cur:
                    quoted = '"' + schema.replace('"', '""') + '"'
                    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
            executor = MigrationExecutor(connection)
            targets = executor.loader.graph.leaf_nodes()
            plan = executor.migration_plan(targets)
            executor.migrate(targets, plan=plan)
    finally:
        connection.close()


def migrate_placement(
    placement: Placement,
    applied: frozenset[str] | None = None,
    compiled: CompiledMigrations | None = None,
) -> int:
    """Bring one placement to the code's state. Returns the number of migrations applied."""
    if applied is None:
        applied = read_state(placement)
    if compiled is None:
        compiled = compile_pending(applied, placement)
    if not compiled.keys:
        return 0
    if compiled.statements is None or not applied:
        apply_with_executor(placement)
    else:
        apply_compiled(placement, compiled)
    return len(compiled.keys)
