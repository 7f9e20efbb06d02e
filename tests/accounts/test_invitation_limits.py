"""Invitations against the member limit, through a running server: a re-sent invitation takes
over its own seat."""

from __future__ import annotations

import pytest

from accounts.models import Role
from billing.models import Plan
from tests.accounts.test_authority import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live_client import Browser, api, tenant_host

pytestmark = pytest.mark.slow


def test_re_sending_an_invitation_at_the_member_limit_replaces_it(server, committed_db):
    """At the limit, inviting the same address again was refused (403 plan_limit_exceeded),
    though the new invitation replaces the pending one and takes its seat."""
    tenant = TenantFactory(
        subdomain=unique_subdomain("seat"), plan=Plan.objects.get(code="free")
    )  # 3 members
    owner = UserFactory(tenant=tenant, email="owner@seat.test", role=Role.OWNER)
    host, token = tenant_host(tenant), mint(tenant, owner)
    links = {}
    for email in ("one@seat.test", "two@seat.test", "one@seat.test"):
        status, body = api(server, host, token, "POST", "/api/v1/invitations/", {"email": email})
        assert status == 201, body
        links.setdefault(email, []).append("/" + body["accept_url"].split("/", 3)[3])
    browser = Browser(server, host)
    assert browser.request("GET", links["one@seat.test"][0])[0] == 404  # replaced
    assert browser.request("GET", links["one@seat.test"][1])[0] == 200
    listed = api(server, host, token, "GET", "/api/v1/invitations/")[1]["results"]
    assert sorted(i["email"] for i in listed if i["revoked_at"] is None) == [
        "one@seat.test",
        "two@seat.test",
    ]
    # Still full: a new address is refused, and nothing it touched is lost.
    status, body = api(
        server, host, token, "POST", "/api/v1/invitations/", {"email": "three@seat.test"}
    )
    assert status == 403 and body["error"]["code"] == "plan_limit_exceeded", body
    assert browser.request("GET", links["one@seat.test"][1])[0] == 200
