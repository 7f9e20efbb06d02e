"""provision_ms per isolation mode: median of N organisation_create calls (the product's own path)."""

from __future__ import annotations

import re
import time
import uuid

import psycopg
from django.conf import settings

from accounts.onboarding import organisation_create
from benchmarks import data
from benchmarks.common import log, median
from benchmarks.extensions import MODES, mode_available
from tenants.backends.database import tenant_database_name
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
    _drop_orphans()
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


def _drop_orphans() -> None:
    """Drop tenant schemas and databases no registry row names (earlier runs left them).

    Before this stage removed its placements, each run left its schema and database
    tenants' placements behind when it deleted their rows: a catalog and a cluster growing
    run after run. Only names of the tenant pattern whose id is in no registry row go.
    """
    name = data.dbname()
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, name), autocommit=True) as c:
        ids = {row[0].hex for row in c.execute("SELECT id FROM tenants_tenant")}
        schemas = [
            row[0]
            for row in c.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{32}$'"
            )
            if row[0][2:] not in ids
        ]
        for schema in schemas:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    prefix = tenant_database_name(uuid.UUID(int=0))[: -len(uuid.UUID(int=0).hex)]
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True) as c:
        databases = [
            row[0]
            for row in c.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix]
            )
            if re.fullmatch("[0-9a-f]{32}", row[0][len(prefix) :])
            and row[0][len(prefix) :] not in ids
        ]
        for database in databases:
            c.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    if schemas or databases:
        log(
            f"provision: dropped {len(schemas)} schemas, {len(databases)} databases left by earlier runs"
        )


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
