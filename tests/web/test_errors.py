"""Styled error pages on every host (JSON under /api/), and /login/ where people type it."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import get_resolver

from tests.web.conftest import host

pytestmark = pytest.mark.django_db

URLCONFS = [settings.ROOT_URLCONF, settings.TENANT_URLCONF, settings.OPERATOR_URLCONF]


def test_not_found_on_a_tenant_host_is_the_styled_page(tenant_a):
    response = Client().get("/no/such/page/", HTTP_HOST=host(tenant_a))
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html
    assert tenant_a.name in html
    assert 'href="/accounts/login/"' in html
    assert 'href="/static/css/app.css"' in html or "app." in html


def test_not_found_on_the_apex_and_the_console(db):
    apex = Client().get("/nothing/", HTTP_HOST=settings.BASE_DOMAIN)
    assert apex.status_code == 404 and "<h1>Page not found</h1>" in apex.content.decode()
    assert 'href="/signup/"' in apex.content.decode()
    console = Client().get("/nothing/", HTTP_HOST=f"admin.{settings.BASE_DOMAIN}")
    assert console.status_code == 404
    assert "operator console" in console.content.decode()


def test_not_found_under_the_api_is_json(tenant_a):
    response = Client().get("/api/v1/no-such-thing/", HTTP_HOST=host(tenant_a))
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"
    outside = Client().get("/api/no-such-thing/", HTTP_HOST=host(tenant_a))
    assert outside.status_code == 404
    assert json.loads(outside.content)["error"]["code"] == "not_found"


@pytest.mark.parametrize("urlconf", URLCONFS)
@pytest.mark.parametrize(("status", "title"), [(403, "Not allowed"), (500, "Something went wrong")])
def test_every_host_has_403_and_500_pages(urlconf, status, title, django_assert_num_queries):
    handler = get_resolver(urlconf).resolve_error_handler(status)
    request = RequestFactory().get("/somewhere/")
    request.tenant = None
    request.urlconf = urlconf
    with django_assert_num_queries(0):  # the database may be what failed
        response = handler(request) if status == 500 else handler(request, exception=None)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in response.content.decode()


def test_login_on_a_tenant_host_goes_to_the_sign_in_page(tenant_a):
    response = Client().get("/login/?next=/projects/", HTTP_HOST=host(tenant_a))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/projects/"
