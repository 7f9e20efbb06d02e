"""online_move_write_pause_ms: how long a tenant's writes stop while it moves online.

A shared tenant is seeded (small, and large = 500,000 rows), then moved shared → schema →
shared … while a writer thread inserts tasks as the app role without pause, resolving
the tenant through the registry cache as a web process does (a fenced write drops the
cache entry and is retried). The figure per move is the longest gap between two
acknowledged writes over the whole move — what the tenant saw, including the capture
triggers' installation and the switch; the mover's own measure (fence → registry
switched) is in the detail. Every move is also checked: every acknowledged write is
there once, nothing else is.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from accounts.onboarding import organisation_create
from benchmarks import data
from benchmarks.common import log, median
from projects.models import Project, Task
from tenants import resolvers
from tenants.backends.move import tenant_move
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.database_config import admin_conninfo
from tenants.fence import is_fence_error

PREFIX = "bm-move-"
SIZES = {"small": 5_000, "large": 500_000}
QUICK_SIZES = {"small": 1_000, "large": 10_000}
MOVES = {"small": 5, "large": 2}
QUICK_MOVES = {"small": 2, "large": 1}
TASKS_PER_PROJECT = 1_000


class Writer:
    """Inserts one task after another as the app role, as a web process would."""

    def __init__(self, subdomain: str, project_id):
        self.subdomain, self.project_id = subdomain, project_id
        self.acknowledged: list[str] = []
        self.ends: list[float] = []
        self.refused = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)

    def _run(self):
        try:
            for n in itertools.count(1):
                if self.stop.is_set():
                    return
                title = f"w-{uuid.uuid4().hex[:8]}-{n}"
                tenant = resolvers.tenant_for_subdomain(self.subdomain)
                try:
                    with tenant_scope(tenant):
                        Task.objects.create(project_id=self.project_id, title=title)
                except DatabaseError as exc:
                    if not is_fence_error(exc):
                        raise
                    self.refused += 1
                    resolvers.invalidate(self.subdomain)  # as the middleware does
                    time.sleep(0.005)
                    continue
                self.acknowledged.append(title)
                self.ends.append(time.monotonic())
        except BaseException as exc:  # reported by the stage
            self.error = exc
        finally:
            close_old_connections()
            for conn in connections.all():
                conn.close()

    def longest_gap_ms(self, start: float, end: float) -> float:
        ends = [t for t in self.ends if start - 5 <= t <= end + 5]
        return max((b - a for a, b in itertools.pairwise(ends)), default=0.0) * 1000


def _seed(tenant, rows: int) -> None:
    projects = max(1, rows // TASKS_PER_PROJECT)
    with psycopg.connect(
        admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
    ) as c:
        c.execute(
            "INSERT INTO projects_project (id, tenant_id, name, description, created_at, "
            "updated_at) SELECT gen_random_uuid(), %s, 'seed-' || g, '', now(), now() "
            "FROM generate_series(1, %s) g",
            [tenant.pk, projects],
        )
        c.execute(
            "INSERT INTO projects_task (id, tenant_id, project_id, title, status, created_at, "
            "updated_at) SELECT gen_random_uuid(), p.tenant_id, p.id, 'seed-' || g, 'todo', "
            "now(), now() FROM projects_project p, generate_series(1, %s) g "
            "WHERE p.tenant_id = %s",
            [rows // projects, tenant.pk],
        )
        c.execute("ANALYZE projects_task")


def _one_size(label: str, rows: int, moves: int) -> dict:
    tenant = organisation_create(
        name="Bench online move",
        subdomain=f"{PREFIX}{uuid.uuid4().hex[:10]}",
        plan_code="pro",
        isolation="shared",
    )
    with tenant_scope(tenant):
        project = Project.objects.create(name="writes-land-here")
    _seed(tenant, rows)
    seen, mover = [], []
    try:
        for i in range(moves):
            to = "schema" if i % 2 == 0 else "shared"
            with Writer(tenant.subdomain, project.pk) as writer:
                time.sleep(0.5)
                start = time.monotonic()
                with dangerously_unscoped("benchmark: online move"):
                    move = tenant_move(
                        tenant=resolvers.tenant_for_subdomain(tenant.subdomain), to=to
                    )
                end = time.monotonic()
                time.sleep(0.5)
            if writer.error is not None:
                raise writer.error
            _check(tenant.subdomain, project.pk, writer.acknowledged)
            seen.append(round(writer.longest_gap_ms(start, end), 1))
            mover.append(move.write_pause_ms)
            log(
                f"online move {label} ({rows} rows) → {to}: writes paused {seen[-1]:.0f} ms "
                f"(mover {move.write_pause_ms:.0f} ms), move {end - start:.1f}s, "
                f"{len(writer.acknowledged)} writes, {writer.refused} refused"
            )
    finally:
        _cleanup()
    return {
        "p50": median(seen),
        "max": max(seen),
        "detail": {"rows": rows, "moves": moves, "writer_ms": seen, "mover_ms": mover},
    }


def _check(subdomain: str, project_id, acknowledged: list[str]) -> None:
    tenant = resolvers.tenant_for_subdomain(subdomain)
    with tenant_scope(tenant):
        landed = list(
            Task.objects.filter(project_id=project_id, title__startswith="w-").values_list(
                "title", flat=True
            )
        )
        Task.objects.filter(project_id=project_id).delete()  # the next move starts clean
    if len(landed) != len(set(landed)) or set(landed) != set(acknowledged):
        raise AssertionError(
            f"online move lost or duplicated writes: {len(acknowledged)} acknowledged, "
            f"{len(landed)} landed ({len(set(landed))} distinct)"
        )


def _cleanup() -> None:
    with psycopg.connect(
        admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
    ) as c:
        rows = c.execute(
            "SELECT id, isolation FROM tenants_tenant WHERE subdomain LIKE %s", [PREFIX + "%"]
        ).fetchall()
        for tid, isolation in rows:
            if isolation == "schema":
                c.execute(f'DROP SCHEMA IF EXISTS "t_{tid.hex}" CASCADE')
        ids = "SELECT id FROM tenants_tenant WHERE subdomain LIKE %s"
        # Every table that references the registry row, then its tenant-owned rows.
        referencing = c.execute(
            "SELECT conrelid::regclass::text, a.attname FROM pg_constraint k "
            "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
            "WHERE k.contype = 'f' AND k.confrelid = 'tenants_tenant'::regclass"
        ).fetchall()
        for table in (
            "audit_auditevent",
            "accounts_user",
            "projects_task",
            "projects_project",
        ):
            c.execute(f"DELETE FROM {table} WHERE tenant_id IN ({ids})", [PREFIX + "%"])
        for table, column in referencing:
            c.execute(f'DELETE FROM {table} WHERE "{column}" IN ({ids})', [PREFIX + "%"])
        c.execute(f"DELETE FROM tenants_fence WHERE tenant_id IN ({ids})", [PREFIX + "%"])
        c.execute(f"DELETE FROM tenants_tenant WHERE id IN ({ids})", [PREFIX + "%"])


def run(size) -> dict:
    _cleanup()  # an interrupted earlier run
    quick = size.name == "quick"
    sizes, moves = (QUICK_SIZES, QUICK_MOVES) if quick else (SIZES, MOVES)
    out = {label: _one_size(label, rows, moves[label]) for label, rows in sizes.items()}
    detail = {label: figures.pop("detail") for label, figures in out.items()}
    return {"online_move_write_pause_ms": out, "online_move_detail": detail}
