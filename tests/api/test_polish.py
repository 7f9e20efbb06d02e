"""Location on 201, strict ordering, keyset cursors, the schema of writes, the UI's docs links."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from projects.models import Project
from tenants.context import tenant_scope
from tests.api.conftest import host_of
from tests.factories import ProjectFactory, TaskFactory, UserFactory

pytestmark = [pytest.mark.django_db]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_201_has_a_location_that_answers(tenant_a, api_for):
    api = api_for(tenant_a, ["admin"])
    project = api.post("/api/v1/projects/", {"name": "p"}, format="json")
    task = api.post(
        f"/api/v1/projects/{project.json()['id']}/tasks/", {"title": "t"}, format="json"
    )
    invitation = api.post("/api/v1/invitations/", {"email": "new@alpha.test"}, format="json")
    token = api.post("/api/v1/tokens/", {"name": "ci", "scopes": ["read"]}, format="json")
    rotated = api.post(f"/api/v1/tokens/{token.json()['id']}/rotate/", format="json")
    for created in (project, task, invitation, token, rotated):
        assert created.status_code == 201, created.content
        location = created["Location"]
        assert urlsplit(location).netloc == host_of(tenant_a)  # the tenant's own host
        fetched = api.get(_path(location))
        assert fetched.status_code == 200 and fetched.json()["id"] == created.json()["id"]
    assert rotated.json()["id"] != token.json()["id"]


@pytest.mark.parametrize(
    "url", ["/api/v1/projects/?ordering=secret", "/api/v1/projects/?ordering=name,-tenant_id"]
)
def test_unknown_ordering_is_400_naming_the_allowed_fields(tenant_a, api_for, url):
    response = api_for(tenant_a, ["read"]).get(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    message = error["fields"]["ordering"][0]
    assert "name, created_at, updated_at" in message


def test_known_ordering_still_works(tenant_a, api_for):
    ProjectFactory(tenant=tenant_a, name="b")
    ProjectFactory(tenant=tenant_a, name="a")
    api = api_for(tenant_a, ["read"])
    names = [p["name"] for p in api.get("/api/v1/projects/?ordering=-name").json()["results"]]
    assert names == ["b", "a"]
    assert api.get("/api/v1/projects/?ordering=").status_code == 200


def _walk(api, url, direction="next"):
    pages, seen = 0, []
    while url:
        body = api.get(_path(url)).json()
        assert "count" not in body
        seen.extend(p["id"] for p in body["results"])
        url = body[direction]
        pages += 1
        assert pages < 50
    return seen


def _tied_projects(tenant, n=11):
    """n projects, several sharing one created_at (the id must break the tie)."""
    base = timezone.now() - timedelta(hours=1)
    projects = [ProjectFactory(tenant=tenant, name=f"p{i}") for i in range(n)]
    with tenant_scope(tenant):
        for i, project in enumerate(projects):
            Project.objects.filter(pk=project.pk).update(created_at=base + timedelta(i // 3))
    return projects


def test_cursor_walks_every_row_once_in_order_both_ways(tenant_a, tenant_b, api_for):
    _tied_projects(tenant_a)
    ProjectFactory(tenant=tenant_b, name="other")
    api = api_for(tenant_a, ["read"])
    with tenant_scope(tenant_a):
        expected = [
            str(pk)
            for pk in Project.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
        ]
    forward = _walk(api, "/api/v1/projects/?cursor=&page_size=3")
    assert forward == expected
    # Back from the last page by `previous`.
    url = "/api/v1/projects/?cursor=&page_size=3"
    while True:
        body = api.get(_path(url)).json()
        if not body["next"]:
            break
        url = body["next"]
    last_page = [p["id"] for p in body["results"]]
    backward = _walk(api, body["previous"], "previous")
    assert last_page == expected[9:]
    pages = [expected[i : i + 3] for i in (0, 3, 6)]
    assert backward == [pk for page in reversed(pages) for pk in page]
    ascending = _walk(api, "/api/v1/projects/?cursor=&page_size=4&ordering=created_at")
    assert ascending == list(reversed(expected))


def test_cursor_links_keep_the_host_filters_and_drop_page(tenant_a, api_for):
    _tied_projects(tenant_a, 5)
    api = api_for(tenant_a, ["read"])
    body = api.get("/api/v1/projects/?cursor=&page_size=2&name=p&page=1").json()
    parts = urlsplit(body["next"])
    assert parts.netloc == host_of(tenant_a)
    query = parse_qs(parts.query)
    assert query["name"] == ["p"] and query["page_size"] == ["2"] and "page" not in query
    assert body["previous"] is None


def test_page_numbers_stay_the_default(tenant_a, api_for):
    _tied_projects(tenant_a, 4)
    body = api_for(tenant_a, ["read"]).get("/api/v1/projects/?page_size=3").json()
    assert body["count"] == 4 and "page=2" in body["next"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/projects/?cursor=garbage!", "cursor"),
        ("/api/v1/projects/?cursor=eyJwIjpbIngiLCJ5Il0sInIiOjB9", "cursor"),
        ("/api/v1/projects/?cursor=&ordering=name", "ordering"),
    ],
)
def test_bad_cursor_or_order_is_400(tenant_a, api_for, url, field):
    response = api_for(tenant_a, ["read"]).get(url)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_cursor_on_tasks_and_members(tenant_a, api_for):
    project = ProjectFactory(tenant=tenant_a)
    TaskFactory.create_batch(5, tenant=tenant_a, project=project)
    UserFactory.create_batch(3, tenant=tenant_a)
    api = api_for(tenant_a, ["admin"])
    assert len(_walk(api, f"/api/v1/projects/{project.pk}/tasks/?cursor=&page_size=2")) == 5
    assert len(_walk(api, "/api/v1/members/?cursor=&page_size=2")) == 3


def test_keyset_page_reads_the_index(tenant_a, api_for, django_assert_max_num_queries):
    """One page = one query with the position in the index condition (no OFFSET, no count)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _tied_projects(tenant_a, 6)
    api = api_for(tenant_a, ["read"])
    next_url = api.get("/api/v1/projects/?cursor=&page_size=2").json()["next"]
    with CaptureQueriesContext(connection) as captured:
        api.get(_path(next_url))
    page_sql = [q["sql"] for q in captured if "projects_project" in q["sql"]]
    assert len(page_sql) == 1
    assert "OFFSET" not in page_sql[0] and "COUNT(" not in page_sql[0].upper()
    assert '"projects_project"."created_at" <=' in page_sql[0]


def test_schema_documents_the_new_parts(tenant_a, api_for):
    schema = api_for(tenant_a).get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/projects/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert {"400", "409", "422"} <= set(create["responses"])
    assert "Location" in create["responses"]["201"]["headers"]
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]
    listing = schema["paths"]["/api/v1/projects/"]["get"]
    assert not any(p["name"] == "Idempotency-Key" for p in listing["parameters"])
    assert any(p["name"] == "cursor" for p in listing["parameters"])
    audit = schema["paths"]["/api/v1/audit/"]["get"]
    names = {p["name"] for p in audit["parameters"]}
    assert {"cursor", "actor", "action", "created_after", "created_before"} <= names
    assert "page" not in names


def test_web_ui_links_to_the_api_docs(tenant_a):
    from django.test import Client

    from accounts.models import Role
    from tests.factories.accounts import PASSWORD

    owner = UserFactory(tenant=tenant_a, email="o@alpha.test", role=Role.OWNER)
    client = Client(HTTP_HOST=host_of(tenant_a))
    assert (
        client.post("/accounts/login/", {"email": owner.email, "password": PASSWORD}).status_code
        == 302
    )
    for page in ("/", "/tokens/"):
        body = client.get(page, follow=True).content.decode()
        assert 'href="/api/docs/"' in body, page
    assert client.get("/api/docs/").status_code == 200
