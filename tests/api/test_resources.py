"""Projects/tasks/members/invitations through the API: errors, mass assignment, ETags, plans."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from accounts.models import Invitation, Role, User
from billing.models import Plan
from projects.models import Project
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.api.conftest import api_error as _error
from tests.factories import ProjectFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- mass assignment ------------------------------------------------------------------------


def test_read_only_fields_in_a_payload_are_ignored(api, tenant_a, tenant_b):
    other_user = UserFactory(tenant=tenant_b)
    forged = {
        "id": str(uuid.uuid4()),
        "tenant_id": str(tenant_b.pk),
        "tenant": str(tenant_b.pk),
        "created_by": str(other_user.pk),
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
    }
    response = api.post("/api/v1/projects/", {"name": "p", **forged}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != forged["id"] and body["created_by"] is None
    assert not body["created_at"].startswith("2000")
    with tenant_scope(tenant_a):
        project = Project.objects.get(pk=body["id"])
    assert project.tenant_id == tenant_a.pk and project.created_by_id is None
    assert project.created_at.year == timezone.now().year

    patched = api.patch(f"/api/v1/projects/{project.pk}/", {"name": "q", **forged}, format="json")
    assert patched.status_code == 200
    assert patched.json()["id"] == str(project.pk) and patched.json()["name"] == "q"
    with tenant_scope(tenant_a):
        project.refresh_from_db()
    assert project.tenant_id == tenant_a.pk and project.created_at.year != 2000

    other_project = ProjectFactory(tenant=tenant_a)
    task = api.post(
        f"/api/v1/projects/{project.pk}/tasks/",
        {"title": "t", "project": str(other_project.pk), **forged},
        format="json",
    )
    assert task.status_code == 201
    assert task.json()["project"] == str(project.pk) and task.json()["id"] != forged["id"]

    member = UserFactory(tenant=tenant_a)
    response = api.patch(
        f"/api/v1/members/{member.pk}/",
        {"role": "admin", "email": "evil@x.test", "is_active": False, **forged},
        format="json",
    )
    assert response.status_code == 200
    with tenant_scope(tenant_a):
        member.refresh_from_db()
    assert (member.role, member.email, member.is_active) == ("admin", member.email, True)
    assert member.email != "evil@x.test"


def test_token_create_ignores_forged_fields(api, tenant_a, tenant_b):
    response = api.post(
        "/api/v1/tokens/",
        {
            "name": "n",
            "scopes": ["read"],
            "tenant_id": str(tenant_b.pk),
            "revoked_at": None,
            "last_used_at": "2000-01-01T00:00:00Z",
            "key_id": "aaaaaaaaaaaa",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["last_used_at"] is None
    assert not response.json()["prefix"].startswith("tntr_aaaaaaaaaaaa")


# --- error format ---------------------------------------------------------------------------


def test_validation_error_has_field_errors(api):
    error = _error(api.post("/api/v1/projects/", {"name": ""}, format="json"), 400, "invalid")
    assert "name" in error["fields"]
    error = _error(api.post("/api/v1/projects/", {}, format="json"), 400, "invalid")
    assert "name" in error["fields"]
    error = _error(
        api.post("/api/v1/tokens/", {"name": "x", "scopes": ["root"]}, format="json"),
        400,
        "invalid",
    )
    assert "scopes" in error["fields"]


def test_malformed_json_unknown_path_wrong_method(api, tenant_a):
    _error(
        api.generic("POST", "/api/v1/projects/", "{not json", content_type="application/json"),
        400,
        "parse_error",
    )
    _error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    _error(api.get("/api/v1/projects/not-a-uuid/"), 404, "not_found")
    _error(api.get(f"/api/v1/projects/{uuid.uuid4()}/"), 404, "not_found")
    _error(api.put("/api/v1/projects/", {}, format="json"), 405, "method_not_allowed")
    _error(api.post("/api/v1/members/", {}, format="json"), 405, "method_not_allowed")
    _error(
        api.post("/api/v1/projects/", "name=x", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


def test_unknown_tenant_host_is_json_404():
    response = ApiTestClient("nobody-lives-here.localhost").get("/api/v1/projects/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tenant_not_found"


def test_account_error_is_400(tenant_a):
    owner = UserFactory(tenant=tenant_a, role=Role.OWNER)
    # The owner's own token: only an owner may touch the owner role at all.
    api = ApiTestClient(host_of(tenant_a), mint(tenant_a, ["admin"], created_by=owner))
    error = _error(
        api.patch(f"/api/v1/members/{owner.pk}/", {"role": "member"}, format="json"),
        400,
        "invalid",
    )
    assert "last owner" in error["message"]
    _error(api.delete(f"/api/v1/members/{owner.pk}/"), 400, "invalid")
    with tenant_scope(tenant_a):
        assert User.objects.get(pk=owner.pk).role == Role.OWNER


# --- ETag / If-Match ------------------------------------------------------------------------


# --- filtering, ordering, pagination --------------------------------------------------------


# --- members and invitations ----------------------------------------------------------------


def test_members_and_invitations(api, tenant_a):
    member = UserFactory(tenant=tenant_a, email="m@alpha.test")
    listed = api.get("/api/v1/members/").json()
    assert [m["email"] for m in listed["results"]] == ["m@alpha.test"]
    assert "password" not in listed["results"][0]
    assert (
        api.patch(f"/api/v1/members/{member.pk}/", {"role": "admin"}, format="json").json()["role"]
        == "admin"
    )

    created = api.post("/api/v1/invitations/", {"email": "New@Alpha.test"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "new@alpha.test" and body["status"] == "pending"
    assert body["accept_url"].startswith(f"http://{host_of(tenant_a)}/")
    token = body["accept_url"].rstrip("/").rsplit("/", 1)[1]
    assert token not in api.get("/api/v1/invitations/").content.decode()
    assert api.delete(f"/api/v1/invitations/{body['id']}/").status_code == 204
    with tenant_scope(tenant_a):
        assert Invitation.objects.get(pk=body["id"]).revoked_at is not None
    _error(
        api.post("/api/v1/invitations/", {"email": "m@alpha.test"}, format="json"),
        400,
        "invalid",
    )

    assert api.delete(f"/api/v1/members/{member.pk}/").status_code == 204
    with tenant_scope(tenant_a):
        assert not User.objects.filter(pk=member.pk).exists()


# --- plans: limits and features at the API door ---------------------------------------------


def test_plan_limit_exceeded_through_the_api(db):
    tenant = TenantFactory(plan=Plan.objects.get(code="free"))
    api = ApiTestClient(host_of(tenant), mint(tenant, ["write"]))
    for i in range(3):
        assert api.post("/api/v1/projects/", {"name": f"p{i}"}, format="json").status_code == 201
    refused = api.post("/api/v1/projects/", {"name": "p3"}, format="json")
    error = _error(refused, 403, "plan_limit_exceeded")
    assert error["limit"] == "max_projects"
    assert (error["limit_value"], error["usage"], error["plan"]) == (3, 3, "Free")
    assert error["upgrade_to"] == "Pro"
    with tenant_scope(tenant):
        assert Project.objects.count() == 3
    usage = api.get("/api/v1/usage/").json()
    assert usage["plan"] == "free"
    assert {"name": "max_projects", "limit": 3, "usage": 3} in usage["limits"]


def test_plan_without_api_access_is_feature_not_in_plan(db):
    plan = Plan.objects.using("operator").create(
        code=f"noapi-{uuid.uuid4().hex[:6]}", name="No API", features=[], sort_order=0
    )
    tenant = TenantFactory(plan=plan)
    api = ApiTestClient(host_of(tenant), mint(tenant, ["admin"]))
    for url in ("/api/v1/projects/", "/api/v1/usage/", "/api/v1/tokens/"):
        error = _error(api.get(url), 403, "feature_not_in_plan")
        assert error["feature"] == "api_access"
        assert error["upgrade_to"]
    _error(api.post("/api/v1/projects/", {"name": "x"}, format="json"), 403, "feature_not_in_plan")
    with tenant_scope(tenant):
        assert Project.objects.count() == 0
    # No token at all is still a 401: the plan is not disclosed to strangers.
    assert ApiTestClient(host_of(tenant)).get("/api/v1/projects/").status_code == 401


def test_plan_and_usage_endpoints(api, tenant_a):
    ProjectFactory(tenant=tenant_a)
    plan = api.get("/api/v1/plan/").json()
    assert plan["code"] == "pro" and "api_access" in plan["features"]
    assert plan["max_projects"] == 100
    usage = api.get("/api/v1/usage/").json()
    assert usage["plan"] == "pro"
    assert {"name": "max_projects", "limit": 100, "usage": 1} in usage["limits"]


def test_docs_and_schema_are_served_locally(tenant_a):
    client = ApiTestClient(host_of(tenant_a))
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    # The start-up script is a file (SpectacularSwaggerSplitView), so it runs under the UI's
    # Content-Security-Policy (script-src 'self'); the schema URL is in that script.
    assert '<script src="/api/docs/?script="></script>' in html
    assert 'url: "/api/schema/"' in client.get("/api/docs/?script=").content.decode()
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/usage/" in schema["paths"]


def test_odd_paths_under_api_are_json_404(api):
    for path in ("/api/v1/members/a%0Ab/", "/api/v1/projects/%F4%81%9E%86/", "/api/v2/", "/api/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_missing_trailing_slash_gets_a_hint(api):
    response = api.get("/api/v1/projects")
    assert response.status_code == 404
    assert response.json()["error"]["message"].endswith("/api/v1/projects/")
