"""move_tenant between every pair of modes: every row and relation arrives, the source goes."""

import itertools

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections

from accounts.models import User
from audit.models import AuditEvent
from projects.models import Project, Task
from tenants.backends.move import tenant_move
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.database_config import admin_conninfo
from tenants.models import MovePhase, TenantMove, TenantStatus
from tenants.services import tenant_get
from tests.conftest import MODES, make_tenant
from tests.factories import ProjectFactory, TaskFactory, UserFactory

pytestmark = [pytest.mark.isolation, pytest.mark.slow]


def populate(tenant):
    owner = UserFactory(tenant=tenant, email="owner@example.com", role="owner")
    for p in range(3):
        project = ProjectFactory(tenant=tenant, name=f"p{p}", created_by=owner)
        for t in range(4):
            TaskFactory(tenant=tenant, project=project, title=f"p{p}-t{t}", assignee=owner)


def snapshot(tenant):
    tenant = tenant_get(tenant.subdomain)
    with tenant_scope(tenant):
        return {
            "users": sorted(User.objects.values_list("id", "email", "role")),
            "projects": sorted(Project.objects.values_list("id", "name", "created_by_id")),
            "tasks": sorted(Task.objects.values_list("id", "title", "project_id", "assignee_id")),
            "audit": sorted(AuditEvent.objects.values_list("id", "action")),
        }


def source_exists(mode, tenant) -> bool:
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True) as c:
        if mode == "database":
            return bool(
                c.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [tenant.database_name]
                ).fetchone()
            )
    with connections["operator"].cursor() as cur:
        if mode == "schema":
            cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [tenant.schema_name])
            return cur.fetchone() is not None
        cur.execute(
            "SELECT count(*) FROM public.projects_project WHERE tenant_id = %s", [tenant.pk]
        )
        return cur.fetchone()[0] > 0


def _analyzed(tenant, table) -> bool:
    from tenants.backends import backend_for

    placement = backend_for(tenant).placement(tenant)
    with placement.connect(autocommit=True) as conn:
        return conn.execute(
            "SELECT last_analyze IS NOT NULL AND last_vacuum IS NOT NULL "
            "FROM pg_stat_user_tables WHERE schemaname = %s AND relname = %s",
            [placement.schema, table],
        ).fetchone()[0]


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(MODES, 2)))
def test_move_between_every_pair_of_modes(committed_db, src, dst):
    tenant = make_tenant(src, f"mv-{src[:2]}-{dst[:2]}")
    populate(tenant)
    before = snapshot(tenant)
    assert len(before["tasks"]) == 12
    source = tenant_get(tenant.subdomain)

    call_command("move_tenant", tenant.subdomain, "--to", dst)

    moved = tenant_get(tenant.subdomain)
    assert (moved.isolation, moved.status) == (dst, TenantStatus.ACTIVE)
    assert snapshot(moved) == before
    assert not source_exists(src, source), "the source copy should be gone"
    with dangerously_unscoped("test: reading the move record"):
        move = TenantMove.objects.get(tenant=tenant)
    assert move.phase == MovePhase.DONE
    assert move.counts["projects_task"] == 12
    if dst != "shared":  # an own placement is analyzed after the copy (planner statistics)
        assert _analyzed(moved, "projects_task")
    # and the moved tenant still works: writes land in the new placement
    with tenant_scope(moved):
        ProjectFactory(tenant=moved, name="after-move")
        assert Project.objects.count() == 4


def test_keep_source_leaves_the_old_copy(committed_db):
    tenant = make_tenant("shared", "keep")
    populate(tenant)
    call_command("move_tenant", tenant.subdomain, "--to", "schema", "--keep-source")
    assert tenant_get(tenant.subdomain).isolation == "schema"
    assert source_exists("shared", tenant)


def test_interrupted_move_can_be_resumed(committed_db):
    tenant = make_tenant("shared", "resume")
    populate(tenant)
    before = snapshot(tenant)
    # What a crash right after "moving" was recorded looks like:
    with dangerously_unscoped("test: a crashed move's record"):
        TenantMove.objects.create(
            tenant=tenant, source_isolation="shared", target_isolation="schema"
        )
    tenant_get(tenant.subdomain).__class__.objects.using("operator").filter(pk=tenant.pk).update(
        status=TenantStatus.MOVING
    )
    with pytest.raises(CommandError, match="in progress"):
        call_command("move_tenant", tenant.subdomain, "--to", "database")
    call_command("move_tenant", tenant.subdomain, "--resume")
    moved = tenant_get(tenant.subdomain)
    assert (moved.isolation, moved.status) == ("schema", TenantStatus.ACTIVE)
    assert snapshot(moved) == before


def test_interrupted_move_can_be_rolled_back(committed_db):
    tenant = make_tenant("schema", "rollback")
    populate(tenant)
    before = snapshot(tenant)
    with dangerously_unscoped("test: a crashed move's record"):
        TenantMove.objects.create(
            tenant=tenant, source_isolation="schema", target_isolation="shared"
        )
    tenant.__class__.objects.using("operator").filter(pk=tenant.pk).update(
        status=TenantStatus.MOVING
    )
    call_command("move_tenant", tenant.subdomain, "--rollback")
    back = tenant_get(tenant.subdomain)
    assert (back.isolation, back.status) == ("schema", TenantStatus.ACTIVE)
    assert snapshot(back) == before
    assert not source_exists("shared", tenant)  # nothing left in the pooled tables


def test_move_refuses_nonsense(committed_db):
    tenant = make_tenant("shared", "nonsense")
    with pytest.raises(CommandError, match="already in shared"):
        call_command("move_tenant", tenant.subdomain, "--to", "shared")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("move_tenant", "no-such-tenant", "--to", "schema")


def test_tenant_is_refused_while_moving(committed_db):
    from django.test import Client

    tenant = make_tenant("shared", "busy")
    tenant.__class__.objects.using("operator").filter(pk=tenant.pk).update(
        status=TenantStatus.MOVING
    )
    from tenants import resolvers

    resolvers.invalidate(tenant.subdomain)
    response = Client().get("/api/v1/projects/", HTTP_HOST=f"{tenant.subdomain}.localhost")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "tenant_moving"


def test_move_function_reports_progress(committed_db):
    tenant = make_tenant("shared", "progress")
    populate(tenant)
    seen = []
    with dangerously_unscoped("test: an operator's move"):
        tenant_move(
            tenant=tenant_get(tenant.subdomain),
            to="schema",
            progress=lambda pct, msg: seen.append(pct),
        )
    assert seen[0] < seen[-1] == 100
