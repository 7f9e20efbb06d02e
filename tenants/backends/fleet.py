"""`migrate_tenants`: every placement to the code's migrations, with per-tenant state.

One failure never stops the others; each tenant's outcome is recorded in the
registry (migration_state / migration_error / migrated_at), and a re-run only
touches what is still behind. A tenant whose recorded state is not the code's
is refused service by the middleware until it is migrated.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from tenants import guards, resolvers
from tenants.backends import backend_for, pools
from tenants.backends.migrate import (
    apply_compiled,
    apply_with_executor,
    code_state,
    compile_pending,
    read_schema_states,
    read_state,
    state_digest,
)
from tenants.control import control_alias
from tenants.models import Isolation, Tenant, TenantStatus

logger = logging.getLogger("tenants.fleet")


@dataclass
class TenantOutcome:
    subdomain: str
    isolation: str
    applied: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _main_dbname() -> str:
    return connections["owner"].settings_dict["NAME"]


def migrate_tenants(
    *,
    parallel: int = 4,
    pooled: bool = True,
    templates: bool = True,
    executor: bool = False,
    progress: Callable[[TenantOutcome, int, int], None] | None = None,
) -> list[TenantOutcome]:
    """`progress(outcome, done, total)` is called as each placement is settled."""
    if pooled:
        call_command("migrate", verbosity=0, interactive=False)
    tenants = list(
        Tenant.objects.select_related("database_server")
        .filter(isolation__in=[Isolation.SCHEMA, Isolation.DATABASE])
        .exclude(status=TenantStatus.DELETING)
    )
    outcomes: dict = {t.pk: TenantOutcome(t.subdomain, t.isolation) for t in tenants}

    # 0. Every other server's pool (pooled tables, schema template), like the main database's.
    pool_outcomes, broken_pools = _migrate_pools(tenants) if pooled else ([], {})

    # 1. What each placement has applied: one round trip per server for all its schemas.
    applied_by_tenant: dict = {}
    schema_tenants = [t for t in tenants if t.isolation == Isolation.SCHEMA]
    by_pool: dict = defaultdict(list)
    for t in schema_tenants:
        by_pool[_pool_key(t.database_server)].append(t)
    if templates:
        by_pool.setdefault(_pool_key(None), [])
    for key, members in by_pool.items():
        if key in broken_pools:
            for t in members:
                outcomes[t.pk].error = broken_pools[key]
            continue
        try:
            placement = pools.pool_placement(members[0].database_server if members else None)
            states = read_schema_states(placement.server_url, placement.dbname)
        except Exception as exc:
            for t in members:
                outcomes[t.pk].error = f"cannot read migration state: {_one_line(exc)}"
            continue
        for t in members:
            if t.schema_name in states:
                applied_by_tenant[t.pk] = states[t.schema_name]
            else:
                outcomes[t.pk].error = "schema missing: run provision_tenant_database"

    def read_db(t):
        try:
            return t.pk, read_state(backend_for(t).placement(t)), ""
        except Exception as exc:  # unreachable server, missing database…
            return t.pk, None, f"cannot read migration state: {_one_line(exc)}"

    db_tenants = [t for t in tenants if t.isolation == Isolation.DATABASE]
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for pk, applied, error in pool.map(read_db, db_tenants):
            if error:
                outcomes[pk].error = error
            else:
                applied_by_tenant[pk] = applied

    if templates:
        _migrate_templates(db_tenants, schema_tenants, broken_pools)

    # 2. Group by what is applied; render each group's SQL once.
    groups: dict[frozenset, list[Tenant]] = defaultdict(list)
    for t in tenants:
        if t.pk in applied_by_tenant:
            groups[applied_by_tenant[t.pk]].append(t)
    work = []
    for applied, members in groups.items():
        representative = backend_for(members[0]).placement(members[0])
        compiled = compile_pending(applied, representative)
        if executor:  # Django's executor in every placement: slow, makes no assumption
            compiled.statements = None
        for t in members:
            if compiled.keys:
                work.append((t, applied, compiled))

    # 3. Apply, in parallel, one transaction per placement.
    def apply(item):
        t, applied, compiled = item
        try:
            placement = backend_for(t).placement(t)
            if compiled.statements is None or not applied:
                apply_with_executor(placement)
            else:
                apply_compiled(placement, compiled)
            return t.pk, len(compiled.keys), ""
        except Exception as exc:
            logger.exception("migrating %s failed", t.subdomain)
            return t.pk, 0, _one_line(exc)

    # Placements with nothing to apply (or already failed) are settled before the work starts.
    pending = {t.pk for t, _, _ in work}
    done = 0
    for t in tenants:
        if t.pk not in pending:
            done += 1
            if progress:
                progress(outcomes[t.pk], done, len(tenants))
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for future in as_completed([pool.submit(apply, item) for item in work]):
            pk, count, error = future.result()
            outcomes[pk].applied, outcomes[pk].error = count, error
            done += 1
            if progress:
                progress(outcomes[pk], done, len(tenants))

    # 4. The RLS guarantee, verified in every placement (migrated now or found current):
    #    a placement that fails it, or cannot be inspected, is recorded as failed.
    unsafe, shared = _verify_rls(tenants, outcomes, parallel)

    # 5. Record each tenant's state; drop cached copies of the ones that changed.
    now, target = timezone.now(), code_state()
    ok = [t for t in tenants if outcomes[t.pk].ok]
    stale_ok = [t.pk for t in ok if t.migration_state != target or t.migration_error]
    alias = control_alias("migrate_tenants: recording migration states")
    if stale_ok:
        Tenant.objects.using(alias).filter(pk__in=stale_ok).update(
            migration_state=target, migration_error="", migrated_at=now
        )
    for t in tenants:
        outcome = outcomes[t.pk]
        if not outcome.ok:
            # The real state when it could be read; "unknown" otherwise: a placement
            # we could not verify is refused service rather than served on trust.
            state = state_digest(applied_by_tenant[t.pk]) if t.pk in applied_by_tenant else ""
            if t.pk in unsafe:
                state = guards.UNSAFE_STATE
            fields = {"migration_error": outcome.error[:2000], "migration_state": state}
            Tenant.objects.using(alias).filter(pk=t.pk).update(**fields)
    changed = [t.subdomain for t in tenants if t.pk in stale_ok or not outcomes[t.pk].ok]
    resolvers.invalidate_many(changed)
    if templates:
        _retire_spares()
    return [*pool_outcomes, *shared, *(outcomes[t.pk] for t in tenants)]


def _verify_rls(tenants, outcomes, parallel: int) -> tuple[set, list[TenantOutcome]]:
    """Fail the outcome of every placement that fails the RLS check.

    Returns the ids of the unsafe tenants, and failed outcomes for the pooled
    tables and the templates (every tenant, or every new one, depends on them).
    """
    scan = guards.scan(databases=True, parallel=parallel)
    shared = [
        TenantOutcome(label, Isolation.SHARED, error="row-level security: " + "; ".join(texts))
        for label, texts in (
            ("(pooled tables)", [f.text for f in scan.pooled]),
            ("(templates)", [f.text for f in scan.templates]),
        )
        if texts
    ]
    unsafe = set()
    for t in tenants:
        outcome = outcomes[t.pk]
        if not outcome.ok:
            continue
        if t in scan.tenants:
            outcome.error = "row-level security: " + "; ".join(f.text for f in scan.tenants[t])
            unsafe.add(t.pk)
        elif t in scan.unreachable:
            outcome.error = f"cannot verify row-level security: {scan.unreachable[t]}"
    return unsafe, shared


def _pool_key(server):
    return None if pools.is_main(server) else server.pk


def _migrate_pools(tenants) -> tuple[list[TenantOutcome], dict]:
    """Each active non-main server's pool that exists or holds tenants, to the code's migrations.

    Returns their outcomes and {server pk: error} for pools that failed (their
    tenants fail with them).
    """
    from tenants.models import DatabaseServer

    holding = {t.database_server_id for t in tenants if t.isolation == Isolation.SCHEMA}
    holding |= set(
        Tenant.objects.filter(isolation=Isolation.SHARED)
        .exclude(status=TenantStatus.DELETING)
        .values_list("database_server", flat=True)
        .distinct()
    )
    outcomes, broken = [], {}
    for server in DatabaseServer.objects.filter(is_active=True).order_by("name"):
        if pools.is_main(server):
            continue
        if server.pk not in holding:
            try:
                if not pools.pool_exists(server):
                    continue  # made on its first placement
            except Exception as exc:  # its database tenants report the server themselves
                logger.warning("server %s unreachable: %s", server.name, _one_line(exc))
                continue
        outcome = TenantOutcome(f"(pool on {server.name})", Isolation.SHARED)
        try:
            outcome.applied = pools.ensure_pool(server, force=True)
        except Exception as exc:
            logger.exception("migrating the pool on %s failed", server.name)
            outcome.error = _one_line(exc)
            broken[server.pk] = f"pool on {server.name} not migrated: {outcome.error}"
        outcomes.append(outcome)
    return outcomes, broken


def _migrate_templates(db_tenants, schema_tenants=(), broken_pools=None) -> None:
    from tenants.backends import database, schema

    schema.ensure_template(force=True)
    servers = {
        t.database_server_id: t.database_server
        for t in schema_tenants
        if not pools.is_main(t.database_server)
    }
    for pk, server in servers.items():
        if pk in (broken_pools or {}):
            continue
        try:
            schema.ensure_template(server, force=True)
        except Exception as exc:  # the tenants of that pool report their own failure
            logger.warning("schema template on %s not migrated: %s", server.name, _one_line(exc))
    db_servers = {t.database_server_id: t.database_server for t in db_tenants}
    for server in db_servers.values():
        if server is None:
            continue
        try:
            database.ensure_template(server.url, force=True)
        except Exception as exc:  # the tenants on that server report their own failure
            # By name: the URL carries the server's login.
            logger.warning("template database on %s not migrated: %s", server.name, _one_line(exc))


def _retire_spares() -> None:
    """Spares built at another state are never claimed: drop them, queue current ones."""
    from tenants.backends import refill, spares

    if refill.retire():
        spares.request_refill(None)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:500] or exc.__class__.__name__
