"""The RLS guarantee verified where the rows are: every placement, every table with a tenant_id.

The models say which tables should be tenant-owned; the catalog says which are.
A table created by hand, by a raw migration, or by a model that forgot to
subclass TenantOwned still has a `tenant_id` column, so the scan looks for the
column, not for the model. It runs in the main database (pooled tables, the
schema template, every tenant schema: one query), in every other server's pool
(the same, one query each), in every tenant database and in every server's
database template (one connection each, in parallel).

Who runs it: the `tenancy` system check (tenants.checks), `migrate` (after
migrating), `migrate_tenants` (each placement it records) and server start
(saas.wsgi / saas.asgi). A tenant placement that fails is recorded as unsafe
(`migration_state = UNSAFE_STATE`), and the middleware refuses a placement whose
state is not the code's (503): it stays refused until `migrate_tenants` finds it
sound again. A failure in the pooled tables concerns every tenant: the server
refuses to start.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings

from tenants.database_config import APP_ROLE
from tenants.rls.sql import CATALOG_QUERY, CURRENT_TENANT_SOURCE, POLICY_NAME

logger = logging.getLogger("tenants.guards")

# Recorded as a tenant's migration_state: never equal to the code's state, so refused.
UNSAFE_STATE = "unsafe"
POOLED_SCHEMA = "public"
SCHEMA_PREFIX = "t_"
# Spare schemas (tenants.backends.spares) are checked like the template they are copies of.
SPARE_SCHEMAS = "spare\\_%"
MAIN_SCHEMAS = [POOLED_SCHEMA, "t\\_%", "tenant_template", SPARE_SCHEMAS]
_HINT = (
    "Declare the table with tenants.rls.operations.EnableTenantRLS (or restore its policy); "
    "a tenant placement stays refused until migrate_tenants finds it sound."
)


@dataclass(frozen=True)
class Finding:
    id: str  # the system check id, tenants.E001…
    database: str
    schema: str
    table: str
    message: str
    main: bool = True  # in the main database (its findings name no database)

    @property
    def where(self) -> str:
        name = f"{self.schema}.{self.table}"
        return name if self.main else f"{self.database}:{name}"

    @property
    def text(self) -> str:
        return f"{self.where} {self.message}"


def declared_exceptions() -> tuple[set[str], dict[str, set[str]]]:
    """What the models declare, by table: (read-only registries, extra policies).

    A registry that names tenants by id (`app_role_access = "read"` or "none",
    e.g. reserved subdomains) is not tenant data: it is held to "the app role
    cannot write it" instead of RLS. `rls_extra_policies` names a reviewed
    policy beside tenant_isolation (verified custom domains are readable by the
    resolver). Anything not declared is held to the full rule.
    """
    from django.apps import apps

    registries, extra = set(), {}
    for model in apps.get_models():
        table = model._meta.db_table
        if getattr(model, "app_role_access", None) in ("read", "none"):
            registries.add(table)
        if getattr(model, "rls_extra_policies", ()):
            extra[table] = set(model.rls_extra_policies)
    return registries, extra


def inspect(cursor, *, database: str, schemas: list[str], main: bool) -> list[Finding]:
    """Findings for every tenant_id table of the matching schemas, read on `cursor`."""
    cursor.execute(
        CATALOG_QUERY,
        {
            "policy": POLICY_NAME,
            "schemas": schemas,
            "app": APP_ROLE,
            "current_tenant_src": CURRENT_TENANT_SOURCE,
        },
    )
    registries, extra = declared_exceptions()
    findings = []
    for row in cursor.fetchall():
        schema, table, enabled, forced, owner, has_policy, others, app_writes = row

        def add(code, message, schema=schema, table=table):
            findings.append(Finding(code, database, schema, table, message, main))

        others = [name for name in others if name not in extra.get(table, ())]
        if table in registries:
            # A registry: the app role may not write it, whatever its policies.
            if app_writes:
                add(
                    "tenants.E008",
                    f"is a read-only registry but the app role {APP_ROLE} may write it",
                )
            if owner == APP_ROLE:
                add("tenants.E006", f"is owned by the app role {owner}")
            continue
        if not enabled:
            add("tenants.E001", "does not ENABLE ROW LEVEL SECURITY")
        if not forced:
            add("tenants.E002", "does not FORCE ROW LEVEL SECURITY")
        if not has_policy:
            add("tenants.E003", f"lacks the {POLICY_NAME} policy with USING and WITH CHECK")
        if others:
            add("tenants.E007", f"has other permissive policies that widen access: {others}")
        if owner == APP_ROLE:
            add("tenants.E006", f"is owned by the app role {owner}")
    return findings


@dataclass
class Scan:
    pooled: list[Finding] = field(default_factory=list)  # every tenant's tables
    templates: list[Finding] = field(default_factory=list)  # what new placements copy
    tenants: dict = field(default_factory=dict)  # Tenant → its placement's findings
    orphans: list[Finding] = field(default_factory=list)  # schemas no tenant is placed in
    unreachable: dict = field(default_factory=dict)  # Tenant or label → reason

    @property
    def findings(self) -> list[Finding]:
        out = [*self.pooled, *self.templates, *self.orphans]
        for found in self.tenants.values():
            out.extend(found)
        return out


def scan_main(connection=None) -> list[Finding]:
    """The main database: pooled tables, the schema template and every tenant schema."""
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connection or connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cur:
        return inspect(
            cur, database=connection.settings_dict["NAME"], schemas=MAIN_SCHEMAS, main=True
        )


def _scan_database(placement) -> list[Finding]:
    with placement.connect(autocommit=True) as conn:
        return inspect(conn.cursor(), database=placement.dbname, schemas=["public"], main=False)


def scan(*, databases: bool = True, parallel: int = 8) -> Scan:
    """Every placement of the registry; `databases=False` stays in the main database."""
    from tenants.backends import backend_for, modes
    from tenants.context import no_tenant
    from tenants.models import Tenant, TenantStatus

    result = Scan()
    with no_tenant():
        tenants = list(
            Tenant.objects.select_related("database_server")
            .filter(isolation__in=modes(own_placement=True))
            .exclude(status=TenantStatus.DELETING)
        )
        by_schema = {
            schema: t for t in tenants if (schema := backend_for(t).pool_schema(t)) is not None
        }
        _sort_pool_findings(result, scan_main(), by_schema)
        if not databases:
            return result
        targets = [(t, backend_for(t).placement(t)) for t in tenants if _has_database(t)]
        targets += [(label, p) for label, p in _database_templates()]
        targets += [(_PoolOf(server), p) for server, p in _pools()]

    def run(item):
        owner, placement = item
        try:
            if isinstance(owner, _PoolOf):
                return owner, _scan_pool(placement), ""
            return owner, _scan_database(placement), ""
        except Exception as exc:  # unreachable server, missing database…
            return owner, [], " ".join(str(exc).split())[:300] or exc.__class__.__name__

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets) or 1))) as pool:
        for owner, found, error in pool.map(run, targets):
            if error:
                result.unreachable[str(owner) if isinstance(owner, _PoolOf) else owner] = error
            elif isinstance(owner, _PoolOf):
                _sort_pool_findings(result, found, by_schema)
            elif isinstance(owner, str):
                result.templates.extend(found)
            elif found:
                result.tenants[owner] = found
    return result


@dataclass(frozen=True)
class _PoolOf:
    """A scan target: the pool of a server other than the main one (tenants.backends.pools)."""

    server_name: str

    def __str__(self) -> str:
        return f"pool on {self.server_name}"


def _pools():
    """(server, pool placement) for every active non-main server whose pool exists."""
    from django.db import DatabaseError

    from tenants.backends import pools
    from tenants.models import DatabaseServer

    try:
        servers = list(DatabaseServer.objects.filter(is_active=True))
    except DatabaseError:  # not migrated yet: no registry, no pools
        return
    for server in servers:
        if pools.is_main(server):
            continue
        try:
            exists = pools.pool_exists(server)
        except Exception as exc:  # the tenants of that server report it too
            logger.warning("RLS check: server %s unreachable: %s", server.name, exc)
            continue
        if exists:
            yield _PoolOf(server.name), pools.pool_placement(server)


def scan_pools() -> tuple[list[Finding], dict[str, str]]:
    """Every other server's pool, as the main database is scanned: (findings, unreachable)."""
    findings, unreachable = [], {}
    for owner, placement in _pools():
        try:
            findings += _scan_pool(placement)
        except Exception as exc:  # unreachable server, missing database…
            unreachable[str(owner)] = " ".join(str(exc).split())[:300] or exc.__class__.__name__
    return findings, unreachable


def _scan_pool(placement) -> list[Finding]:
    """A pool holds what the main database holds: pooled tables, the template, tenant schemas."""
    with placement.connect(autocommit=True) as conn:
        return inspect(conn.cursor(), database=placement.dbname, schemas=MAIN_SCHEMAS, main=False)


def _sort_pool_findings(result: Scan, found: list[Finding], by_schema: dict) -> None:
    from tenants.backends.schema import TEMPLATE_SCHEMA

    for finding in found:
        if finding.schema == POOLED_SCHEMA:
            result.pooled.append(finding)
        elif finding.schema == TEMPLATE_SCHEMA or finding.schema.startswith("spare_"):
            result.templates.append(finding)
        elif finding.schema in by_schema:
            result.tenants.setdefault(by_schema[finding.schema], []).append(finding)
        else:
            result.orphans.append(finding)


def _has_database(tenant) -> bool:
    from tenants.backends import backend_for

    return backend_for(tenant).own_database and tenant.database_server_id is not None


def _database_templates():
    import psycopg

    from tenants.backends.database import _server_placement, template_name
    from tenants.database_config import admin_conninfo
    from tenants.models import DatabaseServer

    name = template_name()
    for server in DatabaseServer.objects.filter(is_active=True):
        try:
            with psycopg.connect(admin_conninfo(server.url, "postgres"), autocommit=True) as c:
                exists = c.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [name]
                ).fetchone()
        except Exception as exc:  # the tenants of that server report it too
            logger.warning("RLS check: server %s unreachable: %s", server.name, exc)
            continue
        if exists:
            yield f"template on {server.name}", _server_placement(server.url, name)


def record_unsafe(found: dict) -> list[str]:
    """Refuse service to each tenant whose placement failed: {Tenant: [Finding]}."""
    from tenants import resolvers
    from tenants.control import control_alias
    from tenants.models import Tenant

    subdomains = []
    alias = control_alias("recording tenant placements that fail the RLS check")
    for tenant, findings in found.items():
        message = "row-level security: " + "; ".join(f.text for f in findings)
        Tenant.objects.using(alias).filter(pk=tenant.pk).update(
            migration_state=UNSAFE_STATE, migration_error=message[:2000]
        )
        tenant.migration_state, tenant.migration_error = UNSAFE_STATE, message
        subdomains.append(tenant.subdomain)
    resolvers.invalidate_many(subdomains)
    return subdomains


class UnsafePooledTables(RuntimeError):
    """The pooled tables fail the RLS check: no tenant can be served safely."""


def guard_at_start() -> Scan | None:
    """Server start: refuse to start on unsafe pooled tables; refuse unsafe placements.

    uvicorn with several workers imports the ASGI module inside each worker's running
    event loop, where Django refuses database calls (SynchronousOnlyOperation): there the
    check runs in a thread of its own and the import waits for it (its refusal included).
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _guard_at_start()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="rls-guard") as pool:
        return pool.submit(_guard_at_start).result()


def _guard_at_start() -> Scan | None:
    from django.db import DatabaseError, connections

    if not settings.TENANT_GUARD_AT_START:
        return None
    try:
        result = scan()
    except DatabaseError as exc:
        # The registry is unreachable: requests answer 503 until it is back, and
        # migrate_tenants verifies every placement again.
        logger.error("RLS check at start skipped: database unavailable (%s)", exc)
        return None
    finally:
        connections.close_all()
    if result.pooled:
        raise UnsafePooledTables(
            "refusing to start: " + "; ".join(f.text for f in result.pooled) + f". {_HINT}"
        )
    for finding in [*result.templates, *result.orphans]:
        logger.error("RLS check: %s", finding.text)
    for owner, reason in result.unreachable.items():
        logger.warning("RLS check: could not inspect %s: %s", owner, reason)
    if result.tenants:
        refused = record_unsafe(result.tenants)
        logger.error("RLS check: refusing service to %s", ", ".join(sorted(refused)))
        connections.close_all()
    return result
