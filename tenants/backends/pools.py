"""A server's pool: where the shared tenants and the tenant schemas of one registered server live.

On the main server (DATABASE_URL) the pool is the main database itself: its
pooled tables, its `tenant_template` schema and its tenant schemas. On every
other registered server it is one database, `<main database>_pool_<server id>`, made and
migrated like a tenant database (tenant tables only, with `saas_enter_tenant()`
and the fence table), plus the schema template and the functions that clone
and survey tenant schemas. The app reaches it through an alias registered at
runtime (`pool_<server>`), with the same bounded pools, breaker and app role as
a tenant database (tenants.backends.database.RuntimeAliases).

Control-plane rows (the registry, plans, billing records, jobs, the outbox) stay
in the main database whatever the server: docs/residency.md says which and why.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from tenants.backends.placement import Placement
from tenants.database_config import admin_conninfo
from tenants.server_models import MAIN_SERVER_NAME as MAIN_SERVER

_SQL = Path(__file__).resolve().parent.parent / "sql"


def is_main(server) -> bool:
    """The main server (DATABASE_URL): None for registry rows that predate per-server pools."""
    return server is None or server.name == MAIN_SERVER


def same_server(a, b) -> bool:
    if is_main(a) or is_main(b):
        return is_main(a) and is_main(b)
    return a.pk == b.pk


def main_dbname() -> str:
    return connections["owner"].settings_dict["NAME"]


def pool_database_name(server) -> str:
    # Named after the main database, like tenant databases (one deployment's pool is
    # recognisable on a shared server, and a test run can drop its own), and after
    # the registry entry: two entries naming one cluster never share a pool.
    return f"{main_dbname()}_pool_{server.pk}"[:63]


def pool_placement(server, schema: str = "public", *, pooled: bool = True) -> Placement:
    if is_main(server):
        return Placement(settings.DATABASE_URL, main_dbname(), schema, pooled)
    return Placement(server.url, pool_database_name(server), schema, pooled)


def pool_alias(server) -> str:
    """The Django alias of a server's pool (registered at runtime by `route`)."""
    if is_main(server):
        return DEFAULT_DB_ALIAS
    return "pool_" + server.name.replace("-", "_")


def route(server) -> str:
    """The alias that serves the server's pool, registered and connected."""
    if is_main(server):
        return DEFAULT_DB_ALIAS
    from tenants.backends.database import runtime_aliases

    # The address, not the login: the alias connects as the app role.
    return runtime_aliases.route(
        pool_alias(server), server.address, pool_database_name(server), f"server {server.name}"
    )


def mark_down(server) -> bool:
    """Trip the breaker of a server's pool alias; False for the main server (no breaker)."""
    if is_main(server):
        return False
    from tenants.backends.database import mark_down as trip

    trip(pool_alias(server))
    return True


def pool_exists(server) -> bool:
    if is_main(server):
        return True
    with psycopg.connect(admin_conninfo(server.url, "postgres"), autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [pool_database_name(server)]
        ).fetchone()
    return found is not None


_ready: set[tuple[str, str, str]] = set()


def ensure_pool(server, *, force: bool = False) -> int:
    """Create or bring a server's pool up to the code's migrations; returns migrations applied.

    Checked once per process and server (pools only move forward); serialised
    on the server by an advisory lock, so concurrent provisionings wait.
    """
    if is_main(server):
        return 0
    from tenants import roles
    from tenants.backends.migrate import code_state, migrate_placement

    name = pool_database_name(server)
    key = (server.url, name, code_state())
    if key in _ready and not force:
        return 0
    with psycopg.connect(admin_conninfo(server.url, "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('saas.server_pool'))")
        try:
            roles.ensure_roles(server.url)
            roles.ensure_database(server.url, name)
            roles.grant_database(server.url, name)
            placement = pool_placement(server)
            applied = migrate_placement(placement)
            _install_schema_functions(placement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('saas.server_pool'))")
    _ready.add(key)
    return applied


def _install_schema_functions(placement: Placement) -> None:
    """What the main database's migrations install for tenant schemas (not tenant-placed)."""
    with placement.connect() as conn:
        conn.execute((_SQL / "schema_digests.sql").read_text().encode())
        conn.execute((_SQL / "clone_script.sql").read_text().encode())
        conn.commit()


class OnServerPool:
    """Placements inside a server's pool (its shared tables or a schema of it): routed to,
    tripped and prepared through that pool. Mixed into the shared and schema backends."""

    def data_alias(self, tenant) -> str:
        return route(tenant.database_server)

    def mark_down(self, tenant) -> bool:
        return mark_down(tenant.database_server)

    def prepare_server(self, tenant) -> None:
        ensure_pool(tenant.database_server)
