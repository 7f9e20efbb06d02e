"""Database per tenant: the tenant's own database, on any registered PostgreSQL server.

* Provisioning copies a migrated template database on that server
  (`CREATE DATABASE … TEMPLATE`), creating roles and the template there first
  when needed; every step is idempotent, so a re-run after a crash finishes.
* Routing registers the tenant's alias at runtime from the registry (no
  restart, no settings edit); connections have a connect timeout and a
  statement timeout cap.
* Connections come from one small pool per tenant database and process
  (TENANT_DB_POOL); a process keeps at most TENANT_DB_MAX_POOLS pools, closing
  the least recently used idle one, so it never holds more than
  MAX_POOLS x the pool's max_size tenant connections, whatever the server
  (sync, threads, ASGI). When every pool is busy the request is refused (503).
* A tenant whose database is unreachable is marked down for a few seconds
  (circuit breaker): its requests get an immediate 503, nobody else notices.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import psycopg
from asgiref.local import Local
from django.conf import settings
from django.db import OperationalError, connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from psycopg import sql

from tenants import roles
from tenants.backends import spares
from tenants.backends.base import IsolationBackend
from tenants.backends.placement import Placement
from tenants.database_config import (
    APP_ROLE,
    OPERATOR_ROLE,
    OWNER_ROLE,
    admin_conninfo,
    build_databases,
)
from tenants.db import register_alias

BREAKER_SECONDS = 5.0
# A pool chosen by a request in the last second is not closed under it
# (between routing and taking its connection).
POOL_EVICT_GRACE = 1.0


class TenantDatabaseUnavailable(OperationalError):
    """The tenant's own database cannot be reached right now (retryable: 503)."""


class TenantPoolsBusy(OperationalError):
    """Every tenant-database pool this process may keep is in use (retryable: 503)."""


_down_until: dict[str, float] = {}
# Each alias's settings carry the (server url, database name) they were built
# for: a move or a server change re-registers the alias, and a thread still
# holding a connection built from older settings drops it.
PLACEMENT_KEY = "TENANT_PLACEMENT"
# Per thread (per request context under ASGI, like Django's connections):
# the tenant aliases whose connection this context holds, least recent first.
_open = Local()
# Per process: tenant aliases with a pool, least recently used first.
_pools_lock = threading.Lock()
_pool_used: OrderedDict[str, float] = OrderedDict()


def _pools() -> dict:
    # Django keeps one psycopg pool per alias and process, in this class-level dict.
    return PostgresWrapper._connection_pools


def close_pool(alias: str) -> None:
    """Close the alias's pool; connections still checked out close when returned."""
    pool = _pools().pop(alias, None)
    if pool is not None:
        pool.close(timeout=0.5)


def mark_down(alias: str) -> None:
    _down_until[alias] = time.monotonic() + BREAKER_SECONDS
    # Stop the pool's reconnection attempts; the breaker answers meanwhile.
    close_pool(alias)


def tenant_database_name(tenant_id, suffix: str = "") -> str:
    # Named after the main database, so one deployment's tenant databases are
    # recognisable on a shared server (and a test run can drop its own). The id is
    # shortened, never the suffix: a suffix is what tells two databases of one tenant apart.
    name = f"{connections['owner'].settings_dict['NAME']}_t_{tenant_id.hex}"
    return name[: 63 - len(suffix)] + suffix


def template_name() -> str:
    return f"{connections['owner'].settings_dict['NAME']}_tmpl"[:63]


def default_server():
    """The registry entry for the main server (DATABASE_URL), created on first use."""
    from tenants.control import control_alias
    from tenants.database_config import split_credentials
    from tenants.models import MAIN_SERVER_NAME, DatabaseServer

    server = DatabaseServer.objects.filter(name=MAIN_SERVER_NAME).first()
    if server is None:
        server, _ = DatabaseServer.objects.using(
            control_alias("registering the main database server")
        ).get_or_create(
            name=MAIN_SERVER_NAME,
            # Its login stays in DATABASE_URL (DatabaseServer.url): never stored.
            defaults={
                "address": split_credentials(settings.DATABASE_URL)[0],
                "region": settings.TENANT_DEFAULT_REGION,
            },
        )
    return server


def _server_placement(server_url: str, dbname: str) -> Placement:
    return Placement(server_url, dbname, "public", pooled=False)


_template_current: set[tuple[str, str, str]] = set()


def ensure_template(server_url: str, *, force: bool = False) -> None:
    """Create/migrate the template database on a server (serialised by a lock).

    Checked once per process and server: templates only move forward.
    """
    from tenants.backends.migrate import code_state, migrate_placement

    name = template_name()
    key = (server_url, name, code_state())
    if key in _template_current and not force:
        return
    with psycopg.connect(admin_conninfo(server_url, "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('saas.database_template'))")
        try:
            roles.ensure_roles(server_url)
            roles.ensure_database(server_url, name)
            roles.grant_database(server_url, name)
            migrate_placement(_server_placement(server_url, name))
            # CREATE DATABASE … TEMPLATE needs the template free of connections.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('saas.database_template'))")
    _template_current.add(key)


class DatabaseBackend(IsolationBackend):
    mode = "database"
    own_database = True

    def describe(self, tenant) -> str:
        return f"database {self.database_name(tenant)} on {tenant.server_name}"

    def server_url(self, tenant) -> str:
        """The server's administrative URL (operator paths: provisioning, moves, migrations)."""
        return self._server(tenant).url

    def server_address(self, tenant) -> str:
        """Where the server is, without a credential (the request path routes with it)."""
        return self._server(tenant).address

    def _server(self, tenant):
        if tenant.database_server_id is None:
            raise TenantDatabaseUnavailable(f"{tenant.subdomain} has no database server")
        return tenant.database_server

    def database_name(self, tenant) -> str:
        return tenant.database_name or tenant_database_name(tenant.id)

    def placement(self, tenant) -> Placement:
        return _server_placement(self.server_url(tenant), self.database_name(tenant))

    def placement_key(self, tenant) -> str:
        # Placement.fence_key, without loading the server (the prefix is built
        # for every statement, and a lazy load would need the prefix itself).
        return "db:" + self.database_name(tenant)

    # --- routing ------------------------------------------------------------------------------

    def data_alias(self, tenant) -> str:
        # The server's address, not its login: the alias connects as the app role.
        return runtime_aliases.route(
            tenant.db_alias,
            self.server_address(tenant),
            self.database_name(tenant),
            tenant.subdomain,
        )

    def mark_down(self, tenant) -> bool:
        mark_down(tenant.db_alias)
        return True

    # --- lifecycle ----------------------------------------------------------------------------

    def provision(self, tenant) -> None:
        from tenants.backends.migrate import migrate_placement

        server_url = self.server_url(tenant)
        name = self.database_name(tenant)
        ensure_template(server_url)
        with psycopg.connect(admin_conninfo(server_url, "postgres"), autocommit=True) as conn:
            if spares.claim_database(conn, name):  # a spare built ahead, renamed
                spares.request_refill(tenant.database_server)
                return
            ids = {
                "db": sql.Identifier(name),
                "tmpl": sql.Identifier(template_name()),
                "owner": sql.Identifier(OWNER_ROLE),
                "app": sql.Identifier(APP_ROLE),
                "op": sql.Identifier(OPERATOR_ROLE),
            }
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {db} TEMPLATE {tmpl} OWNER {owner}").format(**ids)
                )
            except psycopg.errors.DuplicateDatabase:
                pass  # made by an earlier attempt: finish it below
            else:
                # Database-level grants are not templated; everything inside is.
                conn.execute(
                    sql.SQL(
                        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}, {op}; "
                        "GRANT CONNECT, CREATE ON DATABASE {db} TO {owner}"
                    ).format(**ids)
                )
                return
        # Re-run after a crash (or on an old copy): finish every step.
        roles.grant_database(server_url, name)
        migrate_placement(self.placement(tenant))

    def deprovision(self, tenant) -> None:
        alias = tenant.db_alias
        if alias in connections.settings:
            connections[alias].close()
        close_pool(alias)
        with psycopg.connect(
            admin_conninfo(self.server_url(tenant), "postgres"), autocommit=True
        ) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.database_name(tenant))
                )
            )


class RuntimeAliases:
    """Database aliases registered at runtime for databases of registered servers.

    Tenant databases and servers' pools alike: one small pool per alias and
    process (TENANT_DB_POOL), at most TENANT_DB_MAX_POOLS of them, the app
    role, a connect timeout, a statement timeout cap and the breaker.
    """

    def config(self, server_url: str, dbname: str) -> dict:
        config = build_databases(server_url, pool=settings.TENANT_DB_POOL)["default"]
        config["NAME"] = dbname
        options = config["OPTIONS"]
        options["connect_timeout"] = settings.TENANT_DB_CONNECT_TIMEOUT
        # A hard cap; the plan's own timeout is SET LOCAL per transaction.
        # The time zone travels as a startup option too: Django then sets nothing on
        # a new connection (one round trip less per connection).
        options["options"] = (
            f"-c statement_timeout={settings.TENANT_DB_STATEMENT_TIMEOUT_MS} "
            f"-c TimeZone={settings.TIME_ZONE if not settings.USE_TZ else 'UTC'}"
        )
        return config

    def route(self, alias: str, server_url: str, dbname: str, label: str) -> str:
        """(Re-)register `alias` for `dbname` on `server_url` and take its connection.

        `label` names whose data it holds in errors (a subdomain, a server's pool).
        """
        until = _down_until.get(alias)
        if until is not None:
            if until > time.monotonic():
                raise TenantDatabaseUnavailable(f"{label}'s database is unreachable")
            _down_until.pop(alias, None)
        where = (server_url, dbname)
        registered = connections.settings.get(alias)
        if registered is None or registered.get(PLACEMENT_KEY) != where:
            config = self.config(server_url, dbname)
            config[PLACEMENT_KEY] = where
            register_alias(alias, config, replace=True)
        wrapper = connections[alias]
        if wrapper.settings_dict.get(PLACEMENT_KEY) != where:
            wrapper.close()
            del connections[alias]
            wrapper = connections[alias]
        pool = _pools().get(alias)
        if pool is not None and not _pool_serves(pool, wrapper.settings_dict):
            close_pool(alias)  # built for the alias's previous placement
        self._release_older(alias)
        self._reserve_pool(alias)
        self._connect(wrapper, label)
        return alias

    def _release_older(self, alias: str) -> None:
        """Keep at most TENANT_DB_MAX_OPEN tenant connections checked out in this context."""
        recent = getattr(_open, "aliases", None)
        if recent is None:
            recent = _open.aliases = OrderedDict()
        recent[alias] = None
        recent.move_to_end(alias)
        while len(recent) > settings.TENANT_DB_MAX_OPEN:
            oldest, _ = recent.popitem(last=False)
            wrapper = connections[oldest]
            if not wrapper.in_atomic_block:
                wrapper.close()  # back to its pool

    def _reserve_pool(self, alias: str) -> None:
        """Mark the alias's pool as used; close the least recently used idle pool over the cap.

        A pool used in the last POOL_EVICT_GRACE seconds may be about to hand out a
        connection (reserved, not yet checked out), so it is not closed; when every
        other pool is that recent, wait for one to age rather than refuse at once. Only
        when none is idle after the grace is the request refused.
        """
        if settings.TENANT_DB_POOL is None:
            return
        deadline = time.monotonic() + POOL_EVICT_GRACE
        while not self._try_reserve_pool(alias):
            if time.monotonic() >= deadline:
                raise TenantPoolsBusy(
                    f"all {settings.TENANT_DB_MAX_POOLS} tenant database pools are in use"
                )
            time.sleep(0.02)

    def _try_reserve_pool(self, alias: str) -> bool:
        with _pools_lock:
            now = time.monotonic()
            pools = _pools()
            for stale in [a for a in _pool_used if a != alias and a not in pools]:
                del _pool_used[stale]
            others = len(_pool_used) - (alias in _pool_used)
            while others >= settings.TENANT_DB_MAX_POOLS:
                victim = next(
                    (
                        a
                        for a, used in _pool_used.items()
                        if a != alias and now - used > POOL_EVICT_GRACE and _idle(pools.get(a))
                    ),
                    None,
                )
                if victim is None:
                    return False
                del _pool_used[victim]
                close_pool(victim)
                others -= 1
            _pool_used[alias] = now
            _pool_used.move_to_end(alias)
            return True

    def _connect(self, wrapper, label: str) -> None:
        """Take the connection now, so an unreachable database trips the breaker."""
        if wrapper.connection is not None:
            return
        try:
            wrapper.ensure_connection()
        except OperationalError as exc:
            pool = _pools().get(wrapper.alias)
            if pool is not None and not pool.pop_stats().get("connections_errors"):
                raise  # reachable, only busy: the pool timed out (503, no breaker)
            mark_down(wrapper.alias)
            raise TenantDatabaseUnavailable(f"{label}'s database is unreachable") from exc


runtime_aliases = RuntimeAliases()


def _idle(pool) -> bool:
    """No connection of this pool is checked out, being opened or waited for."""
    if pool is None:
        return True
    stats = pool.get_stats()
    return stats["pool_size"] == stats["pool_available"] and not stats.get("requests_waiting")


def _pool_serves(pool, settings_dict: dict) -> bool:
    kwargs = pool.kwargs
    return (kwargs.get("dbname"), kwargs.get("host"), str(kwargs.get("port") or "")) == (
        settings_dict["NAME"],
        settings_dict["HOST"] or None,
        str(settings_dict["PORT"] or ""),
    )
