"""Database per tenant: the tenant's own database, on any registered PostgreSQL server.

* Provisioning copies a migrated template database on that server
  (`CREATE DATABASE … TEMPLATE`), creating roles and the template there first
  when needed; every step is idempotent, so a re-run after a crash finishes.
* Routing registers the tenant's alias at runtime from the registry (no
  restart, no settings edit); connections have a connect timeout, a statement
  timeout cap, and each process keeps at most TENANT_DB_MAX_OPEN of them open.
* A tenant whose database is unreachable is marked down for a few seconds
  (circuit breaker): its requests get an immediate 503, nobody else notices.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

from saas.db import APP_ROLE, OPERATOR_ROLE, OWNER_ROLE, admin_conninfo, build_databases
from tenants import roles
from tenants.backends.base import IsolationBackend
from tenants.backends.placement import Placement
from tenants.db import register_alias

BREAKER_SECONDS = 5.0


class TenantDatabaseUnavailable(Exception):
    """The tenant's own database cannot be reached right now."""


_down_until: dict[str, float] = {}
# Each alias's settings carry the (server url, database name) they were built
# for: a move or a server change re-registers the alias, and a thread still
# holding a connection built from older settings drops it.
PLACEMENT_KEY = "TENANT_PLACEMENT"
_open = threading.local()


def mark_down(alias: str) -> None:
    _down_until[alias] = time.monotonic() + BREAKER_SECONDS


def tenant_database_name(tenant_id, suffix: str = "") -> str:
    # Named after the main database, so one deployment's tenant databases are
    # recognisable on a shared server (and a test run can drop its own).
    return f"{connections['owner'].settings_dict['NAME']}_t_{tenant_id.hex}{suffix}"[:63]


def template_name() -> str:
    return f"{connections['owner'].settings_dict['NAME']}_tmpl"[:63]


def default_server():
    """The registry entry for the main server (DATABASE_URL), created on first use."""
    from tenants.control import control_alias
    from tenants.models import DatabaseServer

    server = DatabaseServer.objects.filter(name="main").first()
    if server is None:
        server, _ = DatabaseServer.objects.using(
            control_alias("registering the main database server")
        ).get_or_create(
            name="main",
            defaults={"url": settings.DATABASE_URL, "region": settings.TENANT_DEFAULT_REGION},
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

    def server_url(self, tenant) -> str:
        if tenant.database_server_id is None:
            raise TenantDatabaseUnavailable(f"{tenant.subdomain} has no database server")
        return tenant.database_server.url

    def database_name(self, tenant) -> str:
        return tenant.database_name or tenant_database_name(tenant.id)

    def placement(self, tenant) -> Placement:
        return _server_placement(self.server_url(tenant), self.database_name(tenant))

    # --- routing ------------------------------------------------------------------------------

    def alias_config(self, tenant) -> dict:
        config = build_databases(
            self.server_url(tenant),
            settings.SECRET_KEY,
            conn_max_age=settings.TENANT_DB_CONN_MAX_AGE,
        )["default"]
        config["NAME"] = self.database_name(tenant)
        options = config["OPTIONS"]
        options["connect_timeout"] = settings.TENANT_DB_CONNECT_TIMEOUT
        # A hard cap; the plan's own timeout is SET LOCAL per transaction.
        options["options"] = f"-c statement_timeout={settings.TENANT_DB_STATEMENT_TIMEOUT_MS}"
        return config

    def data_alias(self, tenant) -> str:
        alias = tenant.db_alias
        until = _down_until.get(alias)
        if until is not None:
            if until > time.monotonic():
                raise TenantDatabaseUnavailable(f"{tenant.subdomain}'s database is unreachable")
            _down_until.pop(alias, None)
        where = (self.server_url(tenant), self.database_name(tenant))
        registered = connections.settings.get(alias)
        if registered is None or registered.get(PLACEMENT_KEY) != where:
            config = self.alias_config(tenant)
            config[PLACEMENT_KEY] = where
            register_alias(alias, config, replace=True)
        wrapper = connections[alias]
        if wrapper.settings_dict.get(PLACEMENT_KEY) != where:
            wrapper.close()
            del connections[alias]
        self._touch(alias)
        return alias

    def _touch(self, alias: str) -> None:
        """Keep at most TENANT_DB_MAX_OPEN tenant connections open in this thread (LRU)."""
        recent = getattr(_open, "aliases", None)
        if recent is None:
            recent = _open.aliases = OrderedDict()
        recent[alias] = None
        recent.move_to_end(alias)
        while len(recent) > settings.TENANT_DB_MAX_OPEN:
            oldest, _ = recent.popitem(last=False)
            connections[oldest].close()

    # --- lifecycle ----------------------------------------------------------------------------

    def provision(self, tenant) -> None:
        from tenants.backends.migrate import migrate_placement

        server_url = self.server_url(tenant)
        name = self.database_name(tenant)
        ensure_template(server_url)
        with psycopg.connect(admin_conninfo(server_url, "postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                ids = {
                    "db": sql.Identifier(name),
                    "tmpl": sql.Identifier(template_name()),
                    "owner": sql.Identifier(OWNER_ROLE),
                    "app": sql.Identifier(APP_ROLE),
                    "op": sql.Identifier(OPERATOR_ROLE),
                }
                conn.execute(
                    sql.SQL("CREATE DATABASE {db} TEMPLATE {tmpl} OWNER {owner}").format(**ids)
                )
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
        with psycopg.connect(
            admin_conninfo(self.server_url(tenant), "postgres"), autocommit=True
        ) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.database_name(tenant))
                )
            )
