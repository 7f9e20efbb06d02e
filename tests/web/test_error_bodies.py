"""Every error a person or a client can meet has a body: the styled page, or the API's error
shape. Through the real door: a gunicorn server and HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import uuid

import pytest
from django.conf import settings

from accounts.models import Role
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live_client import Browser, tenant_host

pytestmark = pytest.mark.slow


@pytest.fixture
def org(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("errs"))
    admin = UserFactory(tenant=tenant, email="admin@errs.test", role=Role.ADMIN)
    return tenant, admin


def _call(server, method, path, host, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_api_answers_oversized_input_in_its_error_shape(server, org):
    tenant, _ = org
    host, token = tenant_host(tenant), mint(tenant, ["write"])
    many = "&".join("a" for _ in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    for path in ("/api/v1/projects/", "/api/v1/plan/"):
        for auth in ({}, {"Authorization": f"Bearer {token}"}):
            status, _, body = _call(server, "GET", f"{path}?{many}", host, headers=auth)
            assert status == 400, (path, auth, body[:200])
            assert json.loads(body)["error"]["code"] == "bad_request"
    huge = json.dumps(
        {"name": "x", "description": "d" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    )
    status, _, body = _call(
        server,
        "POST",
        "/api/v1/projects/",
        host,
        huge.encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 413, body[:200]
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_post_only_pages_answer_a_get_with_the_styled_page(server, org):
    tenant, admin = org
    browser = Browser(server, tenant_host(tenant))
    browser.login(admin.email)
    some = uuid.uuid4()
    for path in (f"/members/{admin.pk}/role/", f"/members/invitations/{some}/revoke/"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        conn.request("GET", path, headers={"Host": browser.host, "Cookie": cookies})
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 405, path
        assert response.getheader("Allow") == "POST"
        assert response.getheader("Content-Type").startswith("text/html")
        assert "Not available this way" in body and tenant.name in body


def test_a_failed_csrf_check_is_the_styled_page(server, org):
    tenant, admin = org
    browser = Browser(server, tenant_host(tenant))  # no CSRF cookie, no token: refused
    status, body = browser.request("POST", "/accounts/login/", {"email": admin.email})
    assert status == 403
    assert b"could not be verified" in body and b"CSRF" not in body
    assert b"<h1>Not allowed</h1>" in body


def test_a_cursor_of_deeply_nested_json_is_an_invalid_cursor(server, org):
    tenant, _ = org
    host, token = tenant_host(tenant), mint(tenant, ["admin"])
    nested = base64.urlsafe_b64encode(b"[" * 1200).decode().rstrip("=")
    for path in ("/api/v1/projects/", "/api/v1/audit/"):
        for cursor in (nested, "e" * 2000):
            status, _, body = _call(
                server, "GET", f"{path}?cursor={cursor}", host, headers=_bearer(token)
            )
            assert status == 400, (path, body[:200])
            assert json.loads(body)["error"]["fields"] == {"cursor": ["Invalid cursor."]}


def test_an_email_longer_than_the_column_is_a_field_error_on_every_form(server, org):
    tenant, admin = org
    too_long = "a" * 250 + "@x.example"
    browser = Browser(server, tenant_host(tenant))
    browser.login(admin.email)
    status, body = browser.post_form("/members/", {"email": too_long, "role": "member"})
    assert status == 400 and b"at most 254 characters" in body
    apex = Browser(server, settings.BASE_DOMAIN)
    form = {
        "name": "Long",
        "subdomain": unique_subdomain("long"),
        "plan": "free",
        "email": too_long,
        "password": "long-password-77",
    }
    status, body = apex.post_form("/signup/", form)
    assert status == 400 and b"at most 254 characters" in body


def test_an_address_too_long_is_said_so(server, org):
    tenant, _ = org
    status, _, body = _call(
        server, "GET", "/invitations/accept/" + "x" * 5000 + "/", tenant_host(tenant)
    )
    assert status == 414 and b"Address too long" in body and b"Temporarily" not in body
