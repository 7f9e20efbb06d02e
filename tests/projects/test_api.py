"""Projects and tasks through the API: cross-tenant references, ETags, filters, pages."""

from __future__ import annotations

import pytest

from projects.models import Project, Task
from tenants.context import tenant_scope
from tests.api.conftest import api_error as _error
from tests.factories import ProjectFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_assignee_from_another_tenant_is_a_field_error(api, tenant_a, tenant_b):
    project = ProjectFactory(tenant=tenant_a)
    foreign = UserFactory(tenant=tenant_b)
    error = _error(
        api.post(
            f"/api/v1/projects/{project.pk}/tasks/",
            {"title": "t", "assignee": str(foreign.pk)},
            format="json",
        ),
        400,
        "invalid",
    )
    assert "assignee" in error["fields"]
    mine = UserFactory(tenant=tenant_a)
    ok = api.post(
        f"/api/v1/projects/{project.pk}/tasks/",
        {"title": "t", "assignee": str(mine.pk)},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["assignee"] == str(mine.pk)


def test_task_under_the_wrong_project_is_404(api, tenant_a):
    p1, p2 = ProjectFactory(tenant=tenant_a), ProjectFactory(tenant=tenant_a)
    task = TaskFactory(tenant=tenant_a, project=p1)
    _error(api.get(f"/api/v1/projects/{p2.pk}/tasks/{task.pk}/"), 404, "not_found")
    assert api.get(f"/api/v1/projects/{p1.pk}/tasks/{task.pk}/").status_code == 200


def test_etag_and_if_match(api, tenant_a):
    project = ProjectFactory(tenant=tenant_a, name="before")
    url = f"/api/v1/projects/{project.pk}/"
    first = api.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    stale = api.patch(url, {"name": "lost update"}, format="json", HTTP_IF_MATCH='"stale"')
    _error(stale, 412, "precondition_failed")
    with tenant_scope(tenant_a):
        assert Project.objects.get(pk=project.pk).name == "before"

    ok = api.patch(url, {"name": "after"}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    # The old ETag is now stale: a second writer holding it is refused.
    _error(
        api.put(url, {"name": "x"}, format="json", HTTP_IF_MATCH=etag), 412, "precondition_failed"
    )
    _error(api.delete(url, HTTP_IF_MATCH=etag), 412, "precondition_failed")
    assert api.delete(url, HTTP_IF_MATCH=ok.headers["ETag"]).status_code == 204


def test_task_crud_and_etag(api, tenant_a):
    project = ProjectFactory(tenant=tenant_a)
    base = f"/api/v1/projects/{project.pk}/tasks/"
    created = api.post(
        base, {"title": "a", "status": "doing", "due_date": "2030-01-02"}, format="json"
    )
    assert created.status_code == 201, created.content
    url = base + created.json()["id"] + "/"
    tag = api.get(url).headers["ETag"]
    assert (
        api.patch(url, {"status": "done"}, format="json", HTTP_IF_MATCH=tag).json()["status"]
        == "done"
    )
    _error(api.patch(url, {"status": "bogus"}, format="json"), 400, "invalid")
    assert api.put(url, {"title": "b"}, format="json").json()["title"] == "b"
    assert api.delete(url).status_code == 204
    with tenant_scope(tenant_a):
        assert not Task.objects.filter(pk=created.json()["id"]).exists()


def test_filter_search_order_paginate(api, tenant_a):
    for name in ("Charlie", "alpha", "Bravo"):
        ProjectFactory(tenant=tenant_a, name=name, description=f"about {name}")
    page = api.get("/api/v1/projects/?ordering=name&page_size=2").json()
    assert page["count"] == 3 and page["next"] and len(page["results"]) == 2
    assert [p["name"] for p in page["results"]] == ["Bravo", "Charlie"] or [
        p["name"] for p in page["results"]
    ] == ["alpha", "Bravo"]
    rest = api.get("/api/v1/projects/?ordering=name&page_size=2&page=2").json()
    all_ids = [p["id"] for p in page["results"] + rest["results"]]
    assert len(set(all_ids)) == 3
    assert [p["name"] for p in api.get("/api/v1/projects/?search=brav").json()["results"]] == [
        "Bravo"
    ]
    assert api.get("/api/v1/projects/?name=char").json()["count"] == 1
    _error(api.get("/api/v1/projects/?page=99"), 404, "not_found")

    project = ProjectFactory(tenant=tenant_a)
    TaskFactory(tenant=tenant_a, project=project, status="done")
    TaskFactory(tenant=tenant_a, project=project, status="todo")
    tasks = api.get(f"/api/v1/projects/{project.pk}/tasks/?status=done").json()
    assert tasks["count"] == 1 and tasks["results"][0]["status"] == "done"
    _error(api.get(f"/api/v1/projects/{project.pk}/tasks/?status=nope"), 400, "invalid")
