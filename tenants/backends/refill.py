"""Building, counting and retiring spare placements (tenants.backends.spares), off the request path.

Who runs it: the `tenants.spares_refill` task (queued after each claim, and every
minute by beat), `manage.py refill_spares`, and `migrate_tenants`, which retires
the spares a migration made stale (a refill then builds current ones). A spare
is built exactly as a cold provisioning builds a placement (the schema clone
script, `CREATE DATABASE … TEMPLATE`), then withheld from the app and operator
roles until a claim grants them.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

import psycopg
from psycopg import sql

from tenants.backends import pools, spares
from tenants.database_config import OWNER_ROLE, admin_conninfo

logger = logging.getLogger("tenants.spares")

MODES = ("schema", "database")


def _servers(server=None) -> list:
    if server is not None:
        return [server]
    from tenants.backends.database import default_server
    from tenants.models import DatabaseServer

    default_server()  # the main server is registered on first use
    return list(DatabaseServer.objects.filter(is_active=True).order_by("name"))


def _admin(server):
    return psycopg.connect(admin_conninfo(server.url, "postgres"), autocommit=True)


def _pool(server):
    return pools.pool_placement(server, "public", pooled=False).connect(autocommit=True)


def build_schema_spare(server) -> str:
    """One spare schema in the server's pool: the clone script, then the roles withheld."""
    from tenants.backends.schema import clone_statements, ensure_template

    ensure_template(server)
    name = spares.schema_spare_name()
    with _pool(server) as conn:
        script = f"{clone_statements(conn, name)};\n{spares.withhold_schema(conn, name)}"
        conn.execute(script.encode())  # one transaction: the spare appears complete
    return name


def build_database_spare(server) -> str:
    """One spare database on the server, copied from its template, its caches warmed.

    Built under the spare's advisory lock, so no claim takes it before it is
    complete and its warming connection has gone (a rename waits for connections).
    """
    from tenants.backends.database import ensure_template, template_name

    ensure_template(server.url)
    name = spares.database_spare_name()
    ids = {"db": sql.Identifier(name), "tmpl": sql.Identifier(template_name())}
    with _admin(server) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s || %s))", [spares.LOCK, name])
        try:
            conn.execute(
                sql.SQL("CREATE DATABASE {db} TEMPLATE {tmpl} OWNER {owner}").format(
                    owner=sql.Identifier(OWNER_ROLE), **ids
                )
            )
            conn.execute(spares.withhold_database(name))
            # The first connection to a database writes its relation-cache init file;
            # the tenant's first connection then starts warm (~3 ms instead of ~6).
            with psycopg.connect(admin_conninfo(server.url, name), autocommit=True) as warm:
                warm.execute("SELECT 1")
            _wait_unused(conn, name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s || %s))", [spares.LOCK, name])
    return name


def _wait_unused(conn, name: str, timeout: float = 2.0) -> None:
    """Until the warming backend has exited (a closed connection's backend ends a moment later)."""
    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
    while conn.execute(query, [name]).fetchone()[0] and time.monotonic() < deadline:
        time.sleep(0.005)


def _list(server, mode: str, current: bool | None):
    if mode == "schema":
        with _pool(server) as conn:
            return spares.schema_spares(conn, current=current)
    with _admin(server) as conn:
        return spares.database_spares(conn, current=current)


@contextmanager
def _refilling(server):
    """One refill per server and deployment at a time (a second finds the lock taken and
    leaves it). The lock lives in the server's `postgres` database, which every deployment
    on that cluster shares: the key names this deployment's main database, so one
    deployment's refill never makes another's skip its own."""
    with _admin(server) as conn:
        key = f"saas.spares_refill:{spares.database_spare_prefix()}"
        (got,) = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key]).fetchone()
        try:
            yield got
        finally:
            if got:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def refill(server=None, *, modes=MODES) -> dict[str, int]:
    """Top every active server (or `server`) up to TENANT_SPARES; returns {mode: built}.

    A server another process is refilling is left to it; one that fails is logged
    and the others are still refilled (a sign-up there builds cold meanwhile).
    """
    built = dict.fromkeys(modes, 0)
    if not any(spares.wanted(m) for m in modes):
        return built
    for srv in _servers(server):
        try:
            with _refilling(srv) as got:
                if not got:
                    continue
                for mode in modes:
                    if not spares.wanted(mode):
                        continue
                    if mode == "schema":
                        pools.ensure_pool(srv)  # made on a server's first schema spare too
                    missing = spares.wanted(mode) - len(_list(srv, mode, True))
                    build = build_schema_spare if mode == "schema" else build_database_spare
                    for _ in range(max(0, missing)):
                        build(srv)
                        built[mode] += 1
        except Exception:
            logger.exception("refilling the spares of %s failed", srv.name)
    return built


def retire(server=None, *, stale_only: bool = True) -> int:
    """Drop spares built at another migration state (every spare: stale_only=False).

    A spare a claim holds at that moment is left (it is being renamed into a tenant's).
    One connection per server when there is nothing to drop (`migrate_tenants` calls it
    on every run): the pool's lists both kinds (`pg_database` is shared by the cluster).
    """
    current = False if stale_only else None
    dropped = 0
    for srv in _servers(server):
        try:
            if pools.is_main(srv) or pools.pool_exists(srv):
                with _pool(srv) as conn:
                    for name in spares.schema_spares(conn, current=current):
                        dropped += spares.drop_schema_spare(conn, name)
                    databases = spares.database_spares(conn, current=current)
            else:
                databases = _list(srv, "database", current)
            if databases:
                # From the `postgres` database: the claims' and builds' lock space.
                with _admin(srv) as conn:
                    for name in databases:
                        dropped += spares.drop_database_spare(conn, name)
        except Exception as exc:  # unreachable: its tenants and pool report it themselves
            logger.warning("retiring the spares of %s failed: %s", srv.name, exc)
    return dropped


def counts(server=None) -> dict[str, dict[str, int]]:
    """{server name: {mode: current spares}} (operators' view, tests)."""
    out = {}
    for srv in _servers(server):
        if not (pools.is_main(srv) or pools.pool_exists(srv)):
            out[srv.name] = {"schema": 0, "database": len(_list(srv, "database", True))}
            continue
        out[srv.name] = {mode: len(_list(srv, mode, True)) for mode in MODES}
    return out
