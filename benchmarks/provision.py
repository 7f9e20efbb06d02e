"""provision_ms per isolation mode: median of N organisation_create calls (the product's own path).

As production runs it: with the spare placements TENANT_SPARES keeps (tenants.backends.spares),
a schema or database sign-up claims a spare built ahead. The bench is its own refill worker:
before each such sign-up it tops the pool up (untimed, as a worker does off the request
path). The cold path (no spare: the placement built on the request) is measured interleaved
with it, sample for sample, and reported in provision_ms_detail.
"""

from __future__ import annotations

import re
import time
import uuid

import psycopg
from django.conf import settings
from django.test.utils import override_settings

from accounts.onboarding import organisation_create
from benchmarks import data
from benchmarks.common import log, median
from benchmarks.extensions import MODES, mode_available
from tenants.backends.database import tenant_database_name
from tenants.database_config import admin_conninfo

PREFIX = "bp-"
# Before each schema or database sample, warm or cold: the idle moment sign-ups have between them. Right after
# DDL (a refill, a cold sign-up) every backend of the database first catches up on the
# catalog invalidations it queued; a sample started within milliseconds of it pays part of
# that, which a sign-up seconds after the last one does not.
SETTLE_S = 0.1


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
    from tenants.backends import modes, refill

    out = {}
    detail = {}
    _drop_orphans()
    _compact_catalogs()
    refill.retire(stale_only=False)  # spares an interrupted run left
    spares = dict(settings.TENANT_SPARES)  # the production setting
    cold = {**spares, **dict.fromkeys(spares, 0)}
    try:
        # Refills are the bench's own (between samples, untimed), not a queued task's.
        with override_settings(TENANT_SPARES_REFILL_ON_CLAIM=False):
            for mode in MODES:
                if not mode_available(mode):
                    out[mode] = None
                    continue
                pooled = spares.get(mode, 0) > 0
                # Only DDL (a refill, a cold placement) leaves invalidations to settle: shared
                # samples run back to back, as before.
                settle = SETTLE_S if mode in modes(own_placement=True) else 0
                with override_settings(TENANT_SPARES=cold):
                    _create(mode)  # warm: plan lookup, backend import, templates checked
                warm_samples, cold_samples = [], []
                for _ in range(size.provision_n):
                    if pooled:
                        refill.refill(modes=(mode,))
                        time.sleep(settle)
                        warm_samples.append(_create(mode))
                    time.sleep(settle)
                    with override_settings(TENANT_SPARES=cold):
                        cold_samples.append(_create(mode))
                samples = warm_samples or cold_samples
                out[mode] = median(samples)
                detail[mode] = {
                    "n": len(samples),
                    "min": min(samples),
                    "max": max(samples),
                    "spares": spares.get(mode, 0),
                    "cold_ms": median(cold_samples),
                    "cold_min": min(cold_samples),
                    "cold_max": max(cold_samples),
                }
                log(
                    f"provision {mode}: median {out[mode]:.1f} ms over {len(samples)}"
                    + (f" (claiming a spare; cold {median(cold_samples):.1f} ms)" if pooled else "")
                )
    finally:
        refill.retire(stale_only=False)
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
