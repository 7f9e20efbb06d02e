"""The API in every isolation mode: shared tables, schema per tenant, database per tenant."""

from __future__ import annotations

import pytest

from billing.models import Plan
from projects.models import Project
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.conftest import make_tenant
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.isolation]


def test_api_in_each_mode(committed_db, mode):
    a = make_tenant(mode, f"api-{mode[:2]}a")
    b = make_tenant(mode, f"api-{mode[:2]}b")
    b_project = ProjectFactory(tenant=b, name=f"{mode}-b-secret")
    secret = mint(a, ["admin"])
    api = ApiTestClient(host_of(a), secret)

    created = api.post("/api/v1/projects/", {"name": f"{mode}-a"}, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/projects/{created.json()['id']}/"
    tag = api.get(url).headers["ETag"]
    assert api.patch(url, {"name": "renamed"}, format="json", HTTP_IF_MATCH=tag).status_code == 200
    assert api.post(url + "tasks/", {"title": "t"}, format="json").status_code == 201
    listed = api.get("/api/v1/projects/").json()
    assert [p["name"] for p in listed["results"]] == ["renamed"]

    # B's object from A's host, and A's token on B's host.
    foreign = api.get(f"/api/v1/projects/{b_project.pk}/")
    assert foreign.status_code == 404 and f"{mode}-b-secret" not in foreign.content.decode()
    assert ApiTestClient(host_of(b), secret).get("/api/v1/projects/").status_code == 401

    rotated = api.post("/api/v1/tokens/", {"name": "r", "scopes": ["read"]}, format="json")
    assert rotated.status_code == 201
    assert ApiTestClient(host_of(a), rotated.json()["secret"]).get(url).status_code == 200

    with tenant_scope(a):
        assert Project.objects.count() == 1
    with tenant_scope(b):
        assert list(Project.objects.values_list("name", flat=True)) == [f"{mode}-b-secret"]


def test_plan_limit_in_each_mode(committed_db, mode):
    tenant = make_tenant(mode, f"lim-{mode[:2]}", plan=Plan.objects.get(code="free"))
    api = ApiTestClient(host_of(tenant), mint(tenant, ["write"]))
    codes = [
        api.post("/api/v1/projects/", {"name": f"p{i}"}, format="json").status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 403]
