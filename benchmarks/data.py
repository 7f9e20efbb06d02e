"""The data set: N shared-mode tenants with Zipf-like skew, generated with bulk SQL.

Tenant of rank r (1 = largest) gets max(1, P/r) projects and max(2, T/r)
tasks, so a handful of tenants hold thousands of rows and most hold a few,
the shape of a real SaaS fleet. Rows are written by INSERT … SELECT
generate_series through the admin connection (one statement per table, not
one ORM call per row) into a dedicated database created and migrated by the
project's own `migrate`. A marker table records the generator version and
size; when it matches, the data set is reused as is.

Schema- and database-mode tenants need the lead's isolation backends: see
`extensions.py`.
"""

from __future__ import annotations

import time

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from benchmarks.common import Size, log
from tenants.database_config import admin_conninfo

VERSION = "1"
PREFIX = "bt-"


def subdomain(rank: int) -> str:
    return f"{PREFIX}{rank:05d}"


def dbname() -> str:
    return connections["owner"].settings_dict["NAME"]


def _admin(autocommit: bool = True):
    return psycopg.connect(admin_conninfo(settings.DATABASE_URL, dbname()), autocommit=autocommit)


def ensure(size: Size) -> dict:
    """Create, migrate and fill the bench database unless the marker says it is there."""
    call_command("migrate", database="owner", verbosity=0, interactive=False)
    for conn in connections.all():
        conn.close()
    wanted = f"{VERSION}:{size.tenants}:{size.largest_projects}:{size.largest_tasks}"
    with _admin() as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS bench_marker (version text PRIMARY KEY, seconds real)"
        )
        row = c.execute("SELECT seconds FROM bench_marker WHERE version = %s", [wanted]).fetchone()
    if row:
        log(f"data set {wanted} present in {dbname()} (generated in {row[0]:.0f}s): reused")
        return describe(generated_s=row[0], reused=True)
    log(f"generating data set {wanted} in {dbname()} …")
    start = time.perf_counter()
    _generate(size)
    seconds = time.perf_counter() - start
    with _admin() as c:
        c.execute("INSERT INTO bench_marker VALUES (%s, %s)", [wanted, seconds])
    log(f"generated in {seconds:.1f}s")
    return describe(generated_s=seconds, reused=False)


def _generate(size: Size) -> None:
    with _admin(autocommit=False) as c:
        # Start from nothing that an earlier (other-version) run left behind.
        c.execute("DELETE FROM bench_marker")
        c.execute(
            "DELETE FROM projects_task WHERE tenant_id IN "
            "(SELECT id FROM tenants_tenant WHERE subdomain LIKE 'bt-%' OR subdomain LIKE 'bp-%')"
        )
        for table in ("projects_project", "audit_auditevent", "accounts_user"):
            c.execute(
                f"DELETE FROM {table} WHERE tenant_id IN (SELECT id FROM tenants_tenant "
                "WHERE subdomain LIKE 'bt-%' OR subdomain LIKE 'bp-%')"
            )
        c.execute("DELETE FROM tenants_tenant WHERE subdomain LIKE 'bt-%' OR subdomain LIKE 'bp-%'")
        c.execute(
            """
            CREATE TEMP TABLE bench_rank ON COMMIT DROP AS
            SELECT r AS rank, gen_random_uuid() AS id,
                   greatest(1, %(p)s / r) AS nproj, greatest(2, %(t)s / r) AS ntask
            FROM generate_series(1, %(n)s) r
            """,
            {"n": size.tenants, "p": size.largest_projects, "t": size.largest_tasks},
        )
        c.execute(
            """
            INSERT INTO tenants_tenant
                (id, name, subdomain, plan_id, isolation, status, status_reason, created_at,
                 updated_at, region, database_name, migration_state, migration_error)
            SELECT b.id, 'Bench ' || b.rank, %(prefix)s || lpad(b.rank::text, 5, '0'),
                   (SELECT id FROM billing_plan WHERE code = CASE WHEN b.rank <= 100 THEN 'pro' ELSE 'free' END),
                   'shared', 'active', '', now(), now(), 'default', '', '', ''
            FROM bench_rank b
            """,
            {"prefix": PREFIX},
        )
        c.execute(
            """
            INSERT INTO accounts_user
                (id, tenant_id, password, last_login, email, name, role, is_active, date_joined)
            SELECT gen_random_uuid(), b.id, '!', NULL, 'owner@' || b.rank || '.bench', 'Owner',
                   'owner', true, now()
            FROM bench_rank b
            """
        )
        c.execute(
            """
            INSERT INTO projects_project
                (id, tenant_id, name, description, created_by_id, created_at, updated_at)
            SELECT gen_random_uuid(), b.id, 'Project ' || g, 'generated',
                   NULL, now() - random() * interval '365 days', now()
            FROM bench_rank b, generate_series(1, b.nproj) g
            """
        )
        c.execute(
            """
            CREATE TEMP TABLE bench_proj ON COMMIT DROP AS
            SELECT id, tenant_id,
                   row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS ord
            FROM projects_project WHERE tenant_id IN (SELECT id FROM bench_rank)
            """
        )
        c.execute("CREATE INDEX ON bench_proj (tenant_id, ord)")
        c.execute(
            """
            INSERT INTO projects_task
                (id, tenant_id, project_id, title, status, assignee_id, due_date, created_at, updated_at)
            SELECT gen_random_uuid(), b.id, p.id, 'Task ' || g,
                   (ARRAY['todo', 'doing', 'done'])[1 + g % 3], NULL, NULL,
                   now() - random() * interval '365 days', now()
            FROM bench_rank b
            CROSS JOIN LATERAL generate_series(1, b.ntask) g
            JOIN bench_proj p ON p.tenant_id = b.id AND p.ord = 1 + (g % b.nproj)
            """
        )
        c.commit()
    with _admin() as c:
        c.execute("VACUUM ANALYZE")


def describe(**extra) -> dict:
    with _admin() as c:
        tenants, projects, tasks = c.execute(
            "SELECT (SELECT count(*) FROM tenants_tenant WHERE subdomain LIKE 'bt-%'),"
            " (SELECT count(*) FROM projects_project), (SELECT count(*) FROM projects_task)"
        ).fetchone()
        top = c.execute(
            "SELECT count(*) FROM projects_project p JOIN tenants_tenant t ON t.id = p.tenant_id"
            " WHERE t.subdomain = %s",
            [subdomain(1)],
        ).fetchone()[0]
    return {
        "database": dbname(),
        "shared_tenants": tenants,
        "projects": projects,
        "tasks": tasks,
        "largest_tenant_projects": top,
        **extra,
    }


def tenant(rank: int):
    from tenants.models import Tenant

    return Tenant.objects.select_related("plan").get(subdomain=subdomain(rank))


def sample_ranks(size: Size) -> dict[str, int]:
    """A large, a medium and a small tenant of the data set."""
    return {"large": 1, "medium": max(2, size.tenants // 200), "small": size.tenants // 2}
