"""A page-number list reads its page and its total count in one statement (api/paginator.py)."""

from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from projects.models import Project
from tenants.context import tenant_scope
from tenants.routers import data_alias
from tests.conftest import make_tenant
from tests.factories import ProjectFactory


def _project_statements(api, url) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    return response, [q["sql"] for q in captured if "projects_project" in q["sql"]]


def test_a_page_and_its_count_are_one_statement_in_every_mode(committed_db, mode, api_for):
    tenant = make_tenant(mode, "pc")
    other = make_tenant("shared", "pc-other")
    for i in range(7):
        ProjectFactory(tenant=tenant, name=f"p{i}")
    ProjectFactory(tenant=other, name="not-mine")
    api = api_for(tenant, ["read"])
    with tenant_scope(tenant):
        alias = data_alias()
    with CaptureQueriesContext(connections[alias]) as captured:
        body = api.get("/api/v1/projects/?page_size=3&page=2").json()
    sent = [q["sql"] for q in captured if "projects_project" in q["sql"]]
    assert len(sent) == 1, sent
    assert body["count"] == 7 and len(body["results"]) == 3
    assert body["next"] and body["previous"]


def test_filters_count_the_filtered_rows(tenant_a, api_for):
    for name in ("alpha one", "alpha two", "beta"):
        ProjectFactory(tenant=tenant_a, name=name)
    response, sent = _project_statements(
        api_for(tenant_a, ["read"]), "/api/v1/projects/?search=alpha"
    )
    body = response.json()
    assert body["count"] == 2 and {r["name"] for r in body["results"]} == {"alpha one", "alpha two"}
    assert len(sent) == 1


def test_an_empty_list_and_a_page_past_the_end(tenant_a, api_for):
    api = api_for(tenant_a, ["read"])
    response, sent = _project_statements(api, "/api/v1/projects/")
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert len(sent) == 1
    ProjectFactory(tenant=tenant_a)
    response, sent = _project_statements(api, "/api/v1/projects/?page=2")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert len(sent) == 2  # the empty page, then the count that tells it is past the end
    assert api.get("/api/v1/projects/?page=0").status_code == 404
    assert api.get("/api/v1/projects/?page=x").status_code == 404


def test_the_last_page_keyword_still_works(tenant_a, api_for):
    for i in range(5):
        ProjectFactory(tenant=tenant_a, name=f"p{i}")
    body = api_for(tenant_a, ["read"]).get("/api/v1/projects/?page_size=2&page=last").json()
    assert body["count"] == 5 and len(body["results"]) == 1 and body["next"] is None


@pytest.mark.parametrize("shape", ["distinct", "sliced"])
def test_querysets_a_count_would_misread_take_djangos_path(tenant_a, shape):
    from api.paginator import CountedPaginator

    for i in range(3):
        ProjectFactory(tenant=tenant_a, name="same" if i else "other")
    with tenant_scope(tenant_a):
        qs = Project.objects.order_by("name")
        qs = qs.values("name").distinct() if shape == "distinct" else qs[:2]
        paginator = CountedPaginator(qs, 10)
        assert len(paginator.page(1).object_list) == 2 and paginator.count == 2
