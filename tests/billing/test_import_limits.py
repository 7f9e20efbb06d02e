"""The plan's limits hold at the import door: `import_tenant` never leaves a tenant over its plan."""

from __future__ import annotations

import pytest

from projects.models import Project
from tenants.context import tenant_scope
from tests.conftest import make_tenant
from tests.factories import ProjectFactory
from tests.tenants.manage import manage, one_line_error

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["shared", "database"])
def test_restoring_a_backup_over_a_downgraded_tenant_is_refused_whole(
    committed_db, test_database_url, tmp_path, mode
):
    """Five projects backed up on Pro; down to one and on Free (3 projects): the backup
    would put five back on Free. Refused in one line, nothing imported."""
    from billing.models import Plan

    tenant = make_tenant(mode, "implim", plan=Plan.objects.get(code="pro"))
    with tenant_scope(tenant):
        projects = [ProjectFactory(tenant=tenant, name=f"p{i}") for i in range(5)]
    backup = tmp_path / "backup.jsonl"
    exported = manage(
        test_database_url, "export_tenant", tenant.subdomain, "--backup", "--output", str(backup)
    )
    assert exported.returncode == 0, exported.stderr
    with tenant_scope(tenant):
        Project.objects.filter(pk__in=[p.pk for p in projects[1:]]).delete()
    changed = manage(test_database_url, "change_plan", tenant.subdomain, "free")
    assert changed.returncode == 0, changed.stderr

    restored = manage(test_database_url, "import_tenant", "--input", str(backup))
    line = one_line_error(restored)  # before the fix: exit 0, five projects on Free
    assert "projects: 5, Free allows 3" in line and "nothing imported" in line
    with tenant_scope(tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["p0"]

    # On a plan that holds it, the same backup is restored.
    assert manage(test_database_url, "change_plan", tenant.subdomain, "pro").returncode == 0
    again = manage(test_database_url, "import_tenant", "--input", str(backup))
    assert again.returncode == 0, again.stderr
    with tenant_scope(tenant):
        assert Project.objects.count() == 5
