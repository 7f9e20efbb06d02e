"""A new token's secret crosses the post/redirect/get sealed: never in clear in the session
table, shown once, and only to the browser that holds the key cookie. Through a live server."""

from __future__ import annotations

import re

import pytest

from accounts.models import ApiToken, Role
from accounts.sessions import SessionStore, TenantSession
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live_client import Browser, tenant_host

pytestmark = pytest.mark.slow
SECRET = re.compile(rb'value="(tntr_[^"]+)"')


def _sessions_text(tenant) -> str:
    with tenant_scope(tenant):
        rows = list(TenantSession.objects.values_list("session_data", flat=True))
    return " ".join(f"{row} {SessionStore().decode(row)}" for row in rows)


def test_a_new_token_secret_is_never_stored_in_clear_and_shown_once(server, committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("once"))
    admin = UserFactory(tenant=tenant, email="admin@once.test", role=Role.ADMIN)
    browser = Browser(server, tenant_host(tenant))
    browser.login(admin.email)
    status, _ = browser.post_form("/tokens/", {"name": "CI", "scopes": ["read"]})
    assert status == 302  # post/redirect/get: a reload creates nothing
    key_cookie = {k: v for k, v in browser.cookies.items() if k.startswith("shown_once_")}
    assert key_cookie and all(key_cookie.values())

    # Between the redirect and the page, and after: the session table has no secret.
    with tenant_scope(tenant):
        token = ApiToken.objects.get(name="CI")
    before = _sessions_text(tenant)
    assert f"tntr_{token.key_id}_" not in before

    # Another browser with the same session but without the key cookie sees nothing.
    thief = Browser(server, browser.host)
    thief.cookies = {k: v for k, v in browser.cookies.items() if not k.startswith("shown_once")}
    status, page = thief.request("GET", "/tokens/")
    assert status == 200 and not SECRET.search(page)

    # The session's sealed copy was taken by that view: the key alone now shows nothing either.
    status, page = browser.request("GET", "/tokens/")
    assert status == 200 and not SECRET.search(page)


def test_the_browser_that_created_it_sees_it_once(server, committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("once"))
    admin = UserFactory(tenant=tenant, email="admin@once.test", role=Role.ADMIN)
    browser = Browser(server, tenant_host(tenant))
    browser.login(admin.email)
    assert browser.post_form("/tokens/", {"name": "CI", "scopes": ["read"]})[0] == 302
    status, page = browser.request("GET", "/tokens/")
    secret = SECRET.search(page)
    assert status == 200 and secret and secret.group(1).startswith(b"tntr_")
    assert secret.group(1).decode() not in _sessions_text(tenant)
    assert not browser.cookies.get(next(k for k in browser.cookies if k.startswith("shown_once")))
    status, page = browser.request("GET", "/tokens/")
    assert status == 200 and not SECRET.search(page)
