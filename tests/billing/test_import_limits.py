"""Restoring a backup into a live tenant is a door like the others: the result must fit the
tenant's plan, and the billing in force is not turned back. Through `import_tenant`."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from billing.models import Plan, Subscription
from projects.models import Project
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory
from tests.tenants.manage import manage, one_line_error

pytestmark = pytest.mark.slow


def _projects(tenant) -> int:
    with tenant_scope(tenant):
        return Project.objects.filter(tenant_id=tenant.pk).count()


def _subscription(tenant) -> dict:
    with tenant_scope(tenant):
        row = Subscription.objects.filter(tenant_id=tenant.pk).values().get()
    return {k: v for k, v in row.items() if k != "updated_at"}


def test_a_restore_is_held_to_the_plan_and_keeps_the_billing(
    committed_db, test_database_url, mode, tmp_path
):
    """Before the fix: 5 projects and a `pro` subscription restored into a tenant on Free."""
    url, sub = test_database_url, unique_subdomain(f"imp-{mode[:2]}")
    created = manage(url, "create_tenant", "--name", "Imp", "--subdomain", sub, "--plan", "pro",
                     "--isolation", mode)  # fmt: skip
    assert created.returncode == 0, created.stderr
    tenant = Tenant.objects.get(subdomain=sub)
    projects = [ProjectFactory(tenant=tenant) for _ in range(5)]
    backup = tmp_path / "backup.jsonl"
    exported = manage(url, "export_tenant", sub, "--backup", "--output", str(backup))
    assert exported.returncode == 0, exported.stderr
    with tenant_scope(tenant):
        Project.objects.filter(pk__in=[p.pk for p in projects[2:]]).delete()
    assert manage(url, "change_plan", sub, "free").returncode == 0

    line = one_line_error(manage(url, "import_tenant", "--input", str(backup)))
    assert "over its Free plan: 5 projects (limit 3)" in line and "nothing imported" in line
    assert _projects(tenant) == 2
    assert _subscription(tenant)["plan_id"] == Tenant.objects.get(pk=tenant.pk).plan_id

    # On a plan that holds them, the rows come back; the billing stays what it is now.
    assert manage(url, "change_plan", sub, "pro").returncode == 0
    with tenant_scope(tenant):
        Subscription.objects.filter(tenant_id=tenant.pk).update(status="canceled")
    billing = _subscription(tenant)
    restored = manage(url, "import_tenant", "--input", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert _projects(tenant) == 5
    assert _subscription(tenant) == billing  # not the backup's active or trialing one


def test_a_deleted_tenant_comes_back_even_if_its_plan_was_lowered_since(
    committed_db, test_database_url
):
    """Re-creating is bringing the tenant back as it was: refused, it would have no tenant
    left to change the plan of. Like a live tenant under a lowered plan, it is then over it."""
    url, sub = test_database_url, unique_subdomain("imp-re")
    plan = Plan.objects.using("operator").create(
        code=f"imp-{uuid.uuid4().hex[:6]}", name="Imp", features=["api_access"], max_projects=10
    )
    created = manage(url, "create_tenant", "--name", "Re", "--subdomain", sub, "--plan", plan.code)
    assert created.returncode == 0, created.stderr
    tenant = Tenant.objects.get(subdomain=sub)
    for _ in range(5):
        ProjectFactory(tenant=tenant)
    deleted = manage(url, "delete_tenant", sub, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    backup = Path(re.search(r"operator backup: (\S+) \(", deleted.stdout).group(1))
    assert manage(url, "update_plan", plan.code, "--max-projects", "3").returncode == 0

    restored = manage(url, "import_tenant", "--input", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert f"re-created {sub}" in restored.stdout
    assert _projects(Tenant.objects.get(subdomain=sub)) == 5
    backup.unlink()
