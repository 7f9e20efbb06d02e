"""provision_ms per isolation mode: median of N organisation_create calls (the product's own path)."""

from __future__ import annotations

import time
import uuid

import psycopg
from django.conf import settings

from accounts.onboarding import organisation_create
from benchmarks import data
from benchmarks.common import log, median
from benchmarks.extensions import MODES, mode_available
from tenants.database_config import admin_conninfo

PREFIX = "bp-"


_created: list = []


def _create(mode: str) -> float:
    sub = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    start = time.perf_counter()
    tenant = organisation_create(
        name="Bench provision", subdomain=sub, plan_code="pro", isolation=mode
    )
    elapsed = (time.perf_counter() - start) * 1000
    _created.append(tenant)
    return elapsed


def run(size) -> dict:
    out = {}
    detail = {}
    _compact_catalogs()
    for mode in MODES:
        if not mode_available(mode):
            out[mode] = None
            continue
        _create(mode)  # warm: plan lookup, backend import
        samples = [_create(mode) for _ in range(size.provision_n)]
        out[mode] = median(samples)
        detail[mode] = {"n": len(samples), "min": min(samples), "max": max(samples)}
        log(f"provision {mode}: median {out[mode]:.1f} ms over {len(samples)}")
    _cleanup()
    return {"provision_ms": out, "provision_ms_detail": detail}


def _compact_catalogs() -> None:
    """Start from the catalog a server with autovacuum keeps, not from the bench's garbage.

    Every run creates and drops schemas and databases (this stage, migrate, moves), which
    leaves dead rows in the database's catalogs (pg_attribute, pg_class, pg_depend and their
    indexes); with autovacuum off (as on the shared development cluster) they only grow,
    run after run: pg_attribute was seen at 2,565 pages for 4,400 live rows, and the schema
    clone took 94 ms there against 55 ms once compacted (same load). Autovacuum keeps a
    production catalog near its live size, so that is what provisioning is measured on.
    """
    with psycopg.connect(
        admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
    ) as c:
        catalogs = [
            row[0]
            for row in c.execute(
                "SELECT c.oid::regclass::text FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r' AND NOT c.relisshared"
            )
        ]
        start = time.perf_counter()
        c.execute("VACUUM FULL " + ", ".join(catalogs))
        log(f"provision: catalogs compacted in {(time.perf_counter() - start) * 1000:.0f} ms")


def _cleanup() -> None:
    # The created tenants are not part of the data set: remove them (admin role; RLS is FORCEd
    # for the owner, so only the superuser credential sees every tenant's rows), and their
    # schemas and databases, which would otherwise pile up run after run (a growing catalog
    # and cluster would make each run measure a slower server than the last).
    from tenants.backends import backend_for

    while _created:
        tenant = _created.pop()
        if tenant.has_own_placement:
            backend_for(tenant).deprovision(tenant)
    with psycopg.connect(
        admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
    ) as c:
        ids = "SELECT id FROM tenants_tenant WHERE subdomain LIKE 'bp-%'"
        for table in ("audit_auditevent", "accounts_user", "projects_task", "projects_project"):
            c.execute(f"DELETE FROM {table} WHERE tenant_id IN ({ids})")
        c.execute("DELETE FROM tenants_tenant WHERE subdomain LIKE 'bp-%'")
