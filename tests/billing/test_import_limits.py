"""Restoring a backup into a live tenant is a door like the others: the result must fit the
tenant's plan, and the billing in force is not turned back. Through `import_tenant`."""

from __future__ import annotations

import pytest

from billing.models import Subscription
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
