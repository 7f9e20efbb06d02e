"""Invitations against the member limit: a re-sent invitation takes over its own seat (through a
running server), and two at once to one address leave one."""

from __future__ import annotations

import threading

import pytest

from accounts import invitations
from accounts.models import Invitation, Role
from billing.models import Plan
from tenants.context import tenant_scope
from tests.accounts.test_authority import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live_client import Browser, api, tenant_host
from tests.overlap import pause_in, run_overlapping

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


def test_invitations_to_one_address_at_once_leave_one_pending(committed_db, monkeypatch, settings):
    """The second invitation must see the first to replace it: with the revocation ahead of
    any lock, it ran while the first was uncommitted and both stayed pending (two seats)."""
    # Four transaction slots per tenant, as on an 8-core server (on 2 cores a tenant's
    # transactions take turns, which hides the race).
    settings.TENANT_DB_SERVER_CORES = 8
    tenant = TenantFactory(subdomain=unique_subdomain("dup"))
    # The first transaction stays open at its outbox row, its invitation inserted.
    first_inserted, release = pause_in(monkeypatch, invitations, "outbox_enqueue", "first")

    done = []

    def invite():
        with tenant_scope(tenant):
            invitations.invitation_create(tenant=tenant, email="same@dup.test")
        done.append(threading.current_thread().name)

    first = threading.Thread(target=invite, name="first")
    second = threading.Thread(target=invite, name="second")
    run_overlapping(first, second, first_inserted, release)
    assert sorted(done) == ["first", "second"]  # both invitations were made
    with tenant_scope(tenant):
        pending = Invitation.objects.filter(
            tenant_id=tenant.pk, email="same@dup.test", revoked_at__isnull=True
        )
        assert pending.count() == 1
