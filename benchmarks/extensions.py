"""The figures that need the isolation backends, `migrate_tenants` and the REST API.

(They began as extension points while those were written on other branches.)
"""

from __future__ import annotations

import time

from benchmarks.common import log

# The tenancy comparison runs on the bench endpoint: the product's selector and
# service behind the full tenant path (host resolution, context, RLS, placement),
# against the same DRF view without tenancy. /api/v1/ adds token auth, plan
# gating, rate limiting and a paginated count on top: features, not tenancy
# (bench requests carry a valid token anyway, so switching is one line).
API_LIST_PATH = "/bench/projects/"
API_CREATE_PATH = "/bench/projects/"

MODES = ("shared", "schema", "database")
SCHEMA_PREFIX = "bs-"  # bench tenants in schema mode
DATABASE_PREFIX = "bd-"  # bench tenants in database mode
WITH_DATA = 50  # of the schema tenants (and all database ones): copies of shared bench tenants


def mode_available(mode: str) -> bool:
    from tenants.models import Isolation

    return mode in Isolation.values


def ensure_mode_tenants(mode: str, count: int, data_ranks: list[int]) -> list:
    """`count` bench tenants placed in `mode`; reused across runs.

    The first len(data_ranks) are copies of shared bench tenants (moved with
    --keep-source, so the plain baseline still reads the very same rows from
    the pooled tables); the rest are empty tenants created the product's way.
    """
    from accounts.onboarding import organisation_create
    from benchmarks import data
    from tenants.backends.move import tenant_move, tenant_move_rollback
    from tenants.context import dangerously_unscoped
    from tenants.models import MovePhase, Tenant, TenantMove
    from tenants.services import tenant_get

    if mode == "shared":
        return []
    prefix = SCHEMA_PREFIX if mode == "schema" else DATABASE_PREFIX
    have = {t.subdomain: t for t in Tenant.objects.filter(isolation=mode)}
    started, made = time.perf_counter(), 0
    tenants = []
    for rank in data_ranks:
        source = data.tenant(rank)
        if source.isolation != mode:
            # Move records and the registry are the operator role's to write.
            with dangerously_unscoped("benchmark set-up: moving data tenants"):
                if TenantMove.objects.filter(tenant_id=source.pk, phase=MovePhase.COPYING).exists():
                    tenant_move_rollback(tenant=tenant_get(source.subdomain))  # an aborted run's
                tenant_move(tenant=tenant_get(source.subdomain), to=mode, keep_source=True)
            made += 1
        tenants.append(tenant_get(source.subdomain))
    for n in range(count - len(data_ranks)):
        sub = f"{prefix}{n:05d}"
        if sub not in have:
            organisation_create(
                name=f"Bench {mode} {n}", subdomain=sub, plan_code="pro", isolation=mode
            )
            made += 1
        tenants.append(sub)
    if made:
        log(f"{mode}: placed {made} bench tenants in {time.perf_counter() - started:.0f}s")
    return tenants


def migrate_tenants_seconds(schemas: int, data_ranks: list[int]) -> dict:
    """migrate_tenants over `schemas` schema tenants: nothing to apply, then one migration.

    "One migration": the newest migration of `projects` (an index change and a
    re-keyed same-tenant constraint) is marked unapplied in every schema, so
    every placement really runs its DDL again.
    """
    import psycopg
    from django.conf import settings
    from django.db import connections
    from psycopg import sql

    from tenants.backends.fleet import migrate_tenants
    from tenants.backends.migrate import full_plan
    from tenants.database_config import admin_conninfo
    from tenants.models import Isolation, Tenant

    ensure_mode_tenants("schema", schemas, data_ranks)
    count = Tenant.objects.filter(isolation=Isolation.SCHEMA).count()
    migrate_tenants(parallel=2, pooled=False)  # settle anything left by provisioning

    t0 = time.perf_counter()
    outcomes = migrate_tenants(parallel=2, pooled=False)
    noop = time.perf_counter() - t0
    assert all(o.ok and o.applied == 0 for o in outcomes), "no-op run applied something"

    app, name = [k for k in full_plan() if k[0] == "projects"][-1]
    dbname = connections["owner"].settings_dict["NAME"]
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, dbname), autocommit=True) as c:
        for (schema,) in c.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'"
        ).fetchall():
            c.execute(
                sql.SQL("DELETE FROM {}.django_migrations WHERE app = %s AND name = %s").format(
                    sql.Identifier(schema)
                ),
                [app, name],
            )
    t0 = time.perf_counter()
    outcomes = migrate_tenants(parallel=2, pooled=False)
    one = time.perf_counter() - t0
    failed = [o for o in outcomes if not o.ok]
    assert not failed, f"migrate_tenants failed for {len(failed)} tenants: {failed[:3]}"
    applied = sum(1 for o in outcomes if o.applied)
    log(
        f"migrate_tenants over {count} schemas (+ database tenants): no-op {noop:.2f}s, "
        f"one migration {one:.2f}s ({applied} placements migrated)"
    )
    return {"noop_s": noop, "one_s": one, "schemas": count, "placements_migrated": applied}
