"""What the app can see of a request's limits is answered in its error shape; the rest is documented."""

from __future__ import annotations

import json
import threading

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client, override_settings

from tenants.database_config import pool_options
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http


def _host(tenant) -> str:
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


@pytest.mark.django_db
def test_a_long_uri_gets_414_as_json_for_the_api_and_a_page_for_browsers(tenant_a):
    long_query = "?q=" + "a" * settings.MAX_URI_LENGTH
    api = Client().get("/api/v1/projects/" + long_query, HTTP_HOST=_host(tenant_a))
    assert api.status_code == 414
    assert api.json()["error"]["code"] == "uri_too_long"
    page = Client().get("/accounts/login/" + long_query, HTTP_HOST=_host(tenant_a))
    assert page.status_code == 414 and page["Content-Type"].startswith("text/html")
    assert b"uri_too_long" in page.content
    just_fits = "?q=" + "a" * (settings.MAX_URI_LENGTH - len("/api/v1/projects/?q="))
    ok = Client().get("/api/v1/projects/" + just_fits, HTTP_HOST=_host(tenant_a))
    assert ok.status_code == 401  # served (no token), not refused for its length


@pytest.mark.django_db
def test_the_openapi_document_names_414_and_the_server_limits(tenant_a):
    schema = json.loads(Client().get("/api/schema/?format=json", HTTP_HOST=_host(tenant_a)).content)
    listing = schema["paths"]["/api/v1/projects/"]["get"]["responses"]
    assert "uri_too_long" in listing["414"]["description"]
    assert "database_busy" in listing["503"]["description"]
    assert "8,190 bytes" in schema["info"]["description"]


@pytest.fixture
def tiny_default_pool(committed_db):
    """The default alias with one connection and a short wait, restored afterwards."""
    options = connections["default"].settings_dict["OPTIONS"]
    saved = options["pool"]
    connections["default"].close()
    connections["default"].close_pool()
    options["pool"] = pool_options(min_size=0, max_size=1, timeout=0.3, max_idle=1)
    yield
    connections["default"].close()
    connections["default"].close_pool()
    options["pool"] = saved


def test_no_free_connection_is_a_503_with_retry_after_not_a_500(tiny_default_pool):
    tenant = TenantFactory(subdomain=unique_subdomain("busy"))
    token = mint(tenant, ["read"])
    client = Client(raise_request_exception=False)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": _host(tenant)}
    assert client.get("/api/v1/projects/", **auth).status_code == 200  # resolver cache warm
    probe_urls = override_settings(TENANT_URLCONF="tests.probe_urls")  # a page using the db
    with probe_urls:
        assert client.get("/probe/", HTTP_HOST=_host(tenant)).status_code == 200
    connections["default"].close()

    holding, done = threading.Event(), threading.Event()

    def hold_the_only_connection():
        connections["default"].ensure_connection()
        holding.set()
        done.wait(10)
        connections["default"].close()

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert holding.wait(5)
        api = client.get("/api/v1/projects/", **auth)
        with probe_urls:
            page = client.get("/probe/", HTTP_HOST=_host(tenant))
        # A session cookie: the session middleware needs the database before any view runs.
        with_session = Client(raise_request_exception=False)
        with_session.cookies["sessionid"] = "x" * 32
        in_middleware = with_session.get("/accounts/login/", HTTP_HOST=_host(tenant))
    finally:
        done.set()
        holder.join(5)
    assert api.status_code == 503, api.content
    assert api.json()["error"]["code"] == "database_busy"
    assert api["Retry-After"] == "2"
    assert page.status_code == 503 and page["Retry-After"] == "2"
    assert b"database_busy" in page.content
    assert in_middleware.status_code == 503 and b"database_busy" in in_middleware.content
    connections["default"].close()
    assert client.get("/api/v1/projects/", **auth).status_code == 200, "served again once free"
    with probe_urls:
        assert client.get("/probe/", HTTP_HOST=_host(tenant)).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("server_kind", ["gthread", "asgi"])
def test_the_server_lets_the_app_answer_long_uris(committed_db, test_database_url, server_kind):
    """The HTTP server's own request-line limit is above the app's: the client gets JSON."""
    tenant = TenantFactory(subdomain=unique_subdomain("uri"))
    uri = "/api/v1/projects/?q=" + "a" * 6000
    with LiveServer(test_database_url, server=server_kind) as server:
        status, headers, body = http("GET", server.url + uri, _host(tenant))
    assert status == 414, body[:200]
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"
