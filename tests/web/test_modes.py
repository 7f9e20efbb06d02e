"""The UI in every isolation mode: the views never branch on it, so they must work in all three."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from accounts.models import Role
from operators.services import operator_create
from projects.models import Project
from tenants.context import tenant_scope
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, UserFactory
from tests.web.conftest import signed_in


# committed_db, not one test transaction: in a single transaction a schema tenant's
# `SET LOCAL search_path` outlives the switch to a pooled tenant (tenants.db sends no reset
# for it), so setting up two modes inside one transaction would mix placements. Requests
# never do that: each runs its own statements/transactions. Reported to the lead.
def test_pages_work_in_every_mode(mode, committed_db):
    tenant = make_tenant(mode, "ui", name=f"UI {mode}")
    other = make_tenant("shared" if mode != "shared" else "schema", "uio")
    foreign = ProjectFactory(tenant=other)
    owner = UserFactory(tenant=tenant, role=Role.OWNER)
    client = signed_in(tenant, owner)

    response = client.post("/projects/new/", {"name": f"In {mode}"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        project = Project.objects.get(name=f"In {mode}")
    assert '<progress max="100" value="1"' in client.get("/").content.decode()
    for path in ["/members/", "/tokens/", "/billing/", "/audit/", f"/projects/{project.pk}/"]:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/projects/{foreign.pk}/").status_code == 404

    operator_create(email=f"ops-{tenant.subdomain}@tenantry.test", password="operator-password-1")
    console = Client(HTTP_HOST=f"admin.{settings.BASE_DOMAIN}")
    console.post(
        "/login/",
        {"email": f"ops-{tenant.subdomain}@tenantry.test", "password": "operator-password-1"},
    )
    body = console.get("/", {"q": tenant.subdomain}).content.decode()
    assert mode in body and "1/25 members · 1/100 projects" in body
