"""Restoring an older backup over a live tenant brings data back, never authority: a member
removed, a token revoked, a role lowered since the backup stay so. Through `import_tenant` and
a running server."""

from __future__ import annotations

import pytest

from accounts.models import ApiToken, Role, User
from accounts.services import member_remove, member_update_role, token_revoke
from projects.models import Project
from tenants.context import tenant_scope
from tests.accounts.test_authority import mint
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory, UserFactory
from tests.live_client import api, tenant_host
from tests.tenants.manage import manage

pytestmark = pytest.mark.slow


def test_a_restore_over_a_live_tenant_does_not_bring_back_who_was_removed(
    server, committed_db, test_database_url, tmp_path
):
    """Before the fix the removed admin's token answered 200 again after the restore, the
    revoked token too, and the demoted member was admin again."""
    tenant = TenantFactory(subdomain=unique_subdomain("rest"))
    owner = UserFactory(tenant=tenant, email="owner@rest.test", role=Role.OWNER)
    leaver = UserFactory(tenant=tenant, email="leaver@rest.test", role=Role.ADMIN)
    lowered = UserFactory(tenant=tenant, email="lowered@rest.test", role=Role.ADMIN)
    leaver_id = leaver.pk  # the instance forgets it once deleted
    owner_token, spare, leaver_token = (
        mint(tenant, owner),
        mint(tenant, owner),
        mint(tenant, leaver),
    )
    with tenant_scope(tenant):
        project = ProjectFactory(tenant=tenant, created_by=leaver)
    host = tenant_host(tenant)
    assert api(server, host, leaver_token, "GET", "/api/v1/members/")[0] == 200
    backup = tmp_path / "backup.jsonl"
    exported = manage(test_database_url, "export_tenant", tenant.subdomain, "--backup",
                      "--output", str(backup))  # fmt: skip
    assert exported.returncode == 0, exported.stderr

    with tenant_scope(tenant):
        member_remove(tenant=tenant, member=leaver, actor=owner)
        member_update_role(tenant=tenant, member=lowered, role=Role.MEMBER, actor=owner)
        spare_row = ApiToken.objects.get(key_id=spare.split("_")[1])
        token_revoke(tenant=tenant, token=spare_row, actor=owner)
        Project.objects.filter(pk=project.pk).delete()

    restored = manage(test_database_url, "import_tenant", "--input", str(backup))
    assert restored.returncode == 0, restored.stderr

    for token in (leaver_token, spare):
        status, body = api(server, host, token, "GET", "/api/v1/projects/")
        assert status == 401, body
    with tenant_scope(tenant):
        assert not User.objects.filter(pk=leaver_id).exists()
        assert User.objects.get(pk=lowered.pk).role == Role.MEMBER
        back = Project.objects.get(pk=project.pk)  # the data comes back ...
        assert back.created_by_id is None  # ... without the member who is gone
    status, body = api(server, host, owner_token, "GET", f"/api/v1/projects/{project.pk}/")
    assert status == 200 and body["created_by"] is None

    # Only an operator's explicit --full puts the backup's members and tokens back.
    full = manage(test_database_url, "import_tenant", "--input", str(backup), "--full")
    assert full.returncode == 0, full.stderr
    with tenant_scope(tenant):
        assert User.objects.get(pk=lowered.pk).role == Role.ADMIN
        assert User.objects.filter(pk=leaver_id).exists()
