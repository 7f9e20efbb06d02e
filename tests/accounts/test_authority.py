"""Authority is re-derived at the moment of use: a token acts with at most its creator's current
role, owner-only rules hold for every caller, a removed member's tokens and sessions die at once.

Through the real door: a gunicorn server (`tests.live.LiveServer`) and HTTP.
"""

from __future__ import annotations

import re

import pytest

from accounts.models import ApiToken, Invitation, Role, User
from accounts.services import token_create
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live_client import Browser, api, tenant_host

pytestmark = pytest.mark.slow


@pytest.fixture
def org(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("auth"))
    owner = UserFactory(tenant=tenant, email="owner@auth.test", role=Role.OWNER)
    admin = UserFactory(tenant=tenant, email="admin@auth.test", role=Role.ADMIN)
    member = UserFactory(tenant=tenant, email="member@auth.test", role=Role.MEMBER)
    return tenant, owner, admin, member


def mint(tenant, created_by, scopes=("admin",)) -> str:
    with tenant_scope(tenant):
        return token_create(
            tenant=tenant, name="t", scopes=list(scopes), created_by=created_by
        ).secret


def role_of(tenant, user) -> str:
    with tenant_scope(tenant):
        return User.objects.get(pk=user.pk).role


def test_an_admin_token_cannot_make_itself_owner_nor_touch_the_owner(server, org):
    tenant, owner, admin, member = org
    host, token = tenant_host(tenant), mint(tenant, admin)

    status, body = api(
        server, host, token, "PATCH", f"/api/v1/members/{admin.pk}/", {"role": "owner"}
    )
    assert status == 403, body
    assert body["error"]["code"] == "owner_required" and body["error"]["message"]
    status, body = api(
        server, host, token, "PATCH", f"/api/v1/members/{owner.pk}/", {"role": "member"}
    )
    assert status == 403 and body["error"]["code"] == "owner_required"
    status, body = api(server, host, token, "DELETE", f"/api/v1/members/{owner.pk}/")
    assert status == 403 and body["error"]["code"] == "owner_required"
    status, body = api(
        server,
        host,
        token,
        "POST",
        "/api/v1/invitations/",
        {"email": "x@auth.test", "role": "owner"},
    )
    assert status == 403 and body["error"]["code"] == "owner_required"
    assert (role_of(tenant, admin), role_of(tenant, owner)) == (Role.ADMIN, Role.OWNER)

    # What an admin may do, the admin's token still does.
    status, body = api(
        server, host, token, "PATCH", f"/api/v1/members/{member.pk}/", {"role": "admin"}
    )
    assert status == 200 and body["role"] == "admin"
    # The owner's token may hand over ownership.
    owner_token = mint(tenant, owner)
    status, body = api(
        server, host, owner_token, "PATCH", f"/api/v1/members/{admin.pk}/", {"role": "owner"}
    )
    assert status == 200 and body["role"] == "owner"


def test_a_token_without_a_creating_member_never_grants_or_removes_the_owner_role(server, org):
    tenant, owner, _admin, member = org
    host, token = tenant_host(tenant), mint(tenant, None)  # as create_api_token mints them
    for method, path, payload in [
        ("PATCH", f"/api/v1/members/{member.pk}/", {"role": "owner"}),
        ("PATCH", f"/api/v1/members/{owner.pk}/", {"role": "admin"}),
        ("DELETE", f"/api/v1/members/{owner.pk}/", None),
    ]:
        status, body = api(server, host, token, method, path, payload)
        assert status == 403 and body["error"]["code"] == "owner_required", (method, path, body)
    # Its scopes still work for everything else.
    status, body = api(
        server, host, token, "PATCH", f"/api/v1/members/{member.pk}/", {"role": "admin"}
    )
    assert status == 200
    assert role_of(tenant, owner) == Role.OWNER


def test_a_removed_members_token_is_dead_on_every_route(server, org):
    tenant, owner, admin, _member = org
    host, token = tenant_host(tenant), mint(tenant, admin)
    assert api(server, host, token, "GET", "/api/v1/members/")[0] == 200  # alive before
    status, _ = api(
        server,
        host,
        token,
        "POST",
        "/api/v1/invitations/",
        {"email": "alt@auth.test", "role": "admin"},
    )
    assert status == 201  # a way back in, prepared before the removal

    status, _ = api(server, host, mint(tenant, owner), "DELETE", f"/api/v1/members/{admin.pk}/")
    assert status == 204

    for method, path, payload in [
        ("GET", "/api/v1/members/", None),
        ("POST", "/api/v1/tokens/", {"name": "again", "scopes": ["admin"]}),
        ("POST", "/api/v1/invitations/", {"email": "admin@auth.test", "role": "admin"}),
        ("GET", "/api/v1/projects/", None),
        ("GET", "/api/v1/plan/", None),
    ]:
        status, body = api(server, host, token, method, path, payload)
        assert status == 401, (method, path, status, body)
        assert body["error"]["code"] == "authentication_failed"
    with tenant_scope(tenant):
        assert ApiToken.objects.filter(name="again").count() == 0
        assert not Invitation.objects.filter(email="admin@auth.test").exists()
        # The removal revoked what the member had issued: tokens and pending invitations.
        orphans = ApiToken.objects.filter(created_by__isnull=True)  # the admin's, now
        assert orphans.count() == 1 and orphans.get().revoked_at is not None
        assert Invitation.objects.get(email="alt@auth.test").revoked_at is not None


def test_a_deactivated_members_token_is_dead(server, org):
    tenant, _owner, admin, _member = org
    host, token = tenant_host(tenant), mint(tenant, admin)
    with tenant_scope(tenant):
        User.objects.filter(pk=admin.pk).update(is_active=False)
    assert api(server, host, token, "GET", "/api/v1/projects/")[0] == 401


def test_a_demoted_admins_token_loses_admin_powers_at_once(server, org):
    tenant, owner, admin, _member = org
    host, token = tenant_host(tenant), mint(tenant, admin)
    assert api(server, host, token, "GET", "/api/v1/tokens/")[0] == 200

    owner_token = mint(tenant, owner)
    status, _ = api(
        server, host, owner_token, "PATCH", f"/api/v1/members/{admin.pk}/", {"role": "member"}
    )
    assert status == 200

    for path in ["/api/v1/members/", "/api/v1/tokens/", "/api/v1/invitations/"]:
        status, body = api(server, host, token, "GET", path)
        assert status == 403 and body["error"]["code"] == "insufficient_scope", (path, body)
    status, body = api(
        server, host, token, "POST", "/api/v1/tokens/", {"name": "x", "scopes": ["admin"]}
    )
    assert status == 403
    # A member's own powers remain: read and write projects.
    assert api(server, host, token, "GET", "/api/v1/projects/")[0] == 200
    assert api(server, host, token, "POST", "/api/v1/projects/", {"name": "still mine"})[0] == 201

    # Promoted again, the same token has admin powers again: derived, not stored.
    api(server, host, owner_token, "PATCH", f"/api/v1/members/{admin.pk}/", {"role": "admin"})
    assert api(server, host, token, "GET", "/api/v1/tokens/")[0] == 200


def test_a_removed_or_demoted_members_session_follows_at_once(server, org):
    tenant, owner, admin, member = org
    host = tenant_host(tenant)
    admin_browser, member_browser = Browser(server, host), Browser(server, host)
    assert admin_browser.login(admin.email)[0] == 302
    assert member_browser.login(member.email)[0] == 302
    assert admin_browser.request("GET", "/members/")[0] == 200
    assert member_browser.request("GET", "/projects/")[0] == 200

    owner_browser = Browser(server, host)
    assert owner_browser.login(owner.email)[0] == 302
    status, _ = owner_browser.post_form(
        f"/members/{admin.pk}/role/", {"role": "member"}, page="/members/"
    )
    assert status == 302
    assert admin_browser.request("GET", "/members/")[0] == 403  # demoted: at once

    status, _ = owner_browser.post_form(f"/members/{member.pk}/remove/", {}, page="/members/")
    assert status == 302
    status, _ = member_browser.request("GET", "/projects/")
    assert status == 302 and "/accounts/login/" in member_browser.location


NEW_TOKEN = re.compile(rb'id="new-token"[^>]*value="(tntr_[^"]+)"')


def test_a_rotated_token_stays_its_members(server, org):
    """Rotation re-issues the holder's credential to the holder: it keeps its member's
    authority (narrowed by demotion) and dies with the membership."""
    tenant, _owner, admin, _member = org
    host = tenant_host(tenant)
    browser = Browser(server, host)
    assert browser.login(admin.email)[0] == 302
    status, _ = browser.post_form("/tokens/", {"name": "datok", "scopes": ["admin"]})
    assert status == 302
    datok = NEW_TOKEN.search(browser.request("GET", "/tokens/")[1]).group(1).decode()
    assert api(server, host, datok, "GET", "/api/v1/members/")[0] == 200
    operator = mint(tenant, None, ("read", "write", "admin"))  # as create_api_token mints them
    datok_id = next(
        t["id"]
        for t in api(server, host, operator, "GET", "/api/v1/tokens/")[1]["results"]
        if t["name"] == "datok"
    )
    # Another caller would get the secret: refused, and the token is untouched.
    status, body = api(server, host, operator, "POST", f"/api/v1/tokens/{datok_id}/rotate/")
    assert status == 403 and body["error"]["code"] == "not_token_holder", body
    assert api(server, host, datok, "GET", "/api/v1/members/")[0] == 200

    status, rotated = api(server, host, datok, "POST", f"/api/v1/tokens/{datok_id}/rotate/")
    assert status == 201, rotated
    new = rotated["secret"]
    with tenant_scope(tenant):
        row = ApiToken.objects.get(pk=rotated["id"])
        assert (row.created_by_id, row.issuer) == (admin.pk, "member")
    status, _ = api(
        server, host, operator, "PATCH", f"/api/v1/members/{admin.pk}/", {"role": "member"}
    )
    assert status == 200
    status, body = api(server, host, new, "GET", "/api/v1/members/")
    assert status == 403 and body["error"]["code"] == "insufficient_scope"
    assert api(server, host, new, "GET", "/api/v1/projects/")[0] == 200  # a member's powers

    assert api(server, host, operator, "DELETE", f"/api/v1/members/{admin.pk}/")[0] == 204
    status, body = api(server, host, new, "GET", "/api/v1/projects/")
    assert status == 401 and body["error"]["code"] == "authentication_failed"
    listed = api(server, host, operator, "GET", "/api/v1/tokens/")[1]["results"]
    assert next(t for t in listed if t["id"] == rotated["id"])["revoked_at"] is not None
    # A token whose member is gone is not re-issued to anyone.
    status, body = api(server, host, operator, "POST", f"/api/v1/tokens/{rotated['id']}/rotate/")
    assert status == 403, body


def test_only_the_holder_rotates_a_token(server, org):
    """The new secret goes to the caller: rotating someone else's token handed an admin the
    owner's authority, and an operator token that outlived the admin's removal (both 201
    before the fix)."""
    tenant, owner, admin, _member = org
    host = tenant_host(tenant)
    owner_token, admin_token = mint(tenant, owner), mint(tenant, admin)
    operator = mint(tenant, None, ("read", "write", "admin"))
    tokens = api(server, host, owner_token, "GET", "/api/v1/tokens/")[1]["results"]
    ids = [t["id"] for t in sorted(tokens, key=lambda t: t["created_at"])]
    assert len(ids) == 3  # owner's, admin's, operator's, in that order

    for caller, target in [(admin_token, ids[0]), (admin_token, ids[2]), (owner_token, ids[1])]:
        status, body = api(server, host, caller, "POST", f"/api/v1/tokens/{target}/rotate/")
        assert status == 403, body
        assert body["error"]["code"] == "not_token_holder" and "secret" not in body["error"]
    # Nothing was rotated: every token still works, nobody changed role.
    for token in (owner_token, admin_token, operator):
        assert api(server, host, token, "GET", "/api/v1/members/")[0] == 200
    assert (role_of(tenant, admin), role_of(tenant, owner)) == (Role.ADMIN, Role.OWNER)

    # Removing the admin leaves them no credential at all.
    assert api(server, host, owner_token, "DELETE", f"/api/v1/members/{admin.pk}/")[0] == 204
    assert api(server, host, admin_token, "GET", "/api/v1/projects/")[0] == 401
    # Each holder still rotates their own token.
    for token, target in [(owner_token, ids[0]), (operator, ids[2])]:
        status, body = api(server, host, token, "POST", f"/api/v1/tokens/{target}/rotate/")
        assert status == 201, body
        assert api(server, host, body["secret"], "GET", "/api/v1/members/")[0] == 200


def test_a_demoted_inviters_invitations_stop_holding_seats(server, org):
    """A role change revokes the sender's pending invitations the new role cannot grant: they
    could never be accepted, yet were listed as pending and held seats under the member limit
    (before the fix: still pending, usage unchanged)."""
    tenant, owner, admin, _member = org
    host = tenant_host(tenant)
    owner_token, admin_token = mint(tenant, owner), mint(tenant, admin)

    def usage():
        limits = api(server, host, owner_token, "GET", "/api/v1/usage/")[1]["limits"]
        return next(u["usage"] for u in limits if u["name"] == "max_members")

    seated = usage()
    sent = {}
    for token, email, role in [
        (admin_token, "by-admin@auth.test", "member"),
        (owner_token, "owner-by-owner@auth.test", "owner"),
        (owner_token, "admin-by-owner@auth.test", "admin"),
    ]:
        status, body = api(
            server, host, token, "POST", "/api/v1/invitations/", {"email": email, "role": role}
        )
        assert status == 201, body
        sent[email] = body
    assert usage() == seated + 3

    def pending():
        listed = api(server, host, owner_token, "GET", "/api/v1/invitations/")[1]["results"]
        return {i["email"] for i in listed if i["revoked_at"] is None and i["accepted_at"] is None}

    assert (
        api(server, host, owner_token, "PATCH", f"/api/v1/members/{admin.pk}/", {"role": "member"})[
            0
        ]
        == 200
    )
    assert pending() == {"owner-by-owner@auth.test", "admin-by-owner@auth.test"}
    assert usage() == seated + 2
    link = sent["by-admin@auth.test"]["accept_url"].split("/", 3)[3]
    assert Browser(server, host).request("GET", "/" + link)[0] == 404

    second_owner = UserFactory(tenant=tenant, email="owner2@auth.test", role=Role.OWNER)
    status, _ = api(
        server,
        host,
        mint(tenant, second_owner),
        "PATCH",
        f"/api/v1/members/{owner.pk}/",
        {"role": "admin"},
    )
    assert status == 200
    assert pending() == {"admin-by-owner@auth.test"}  # an admin still grants admin
    assert usage() == seated + 2  # the second owner took a seat, the owner invitation left one
    entries = api(
        server, host, mint(tenant, second_owner), "GET", "/api/v1/audit/?action=member.role_change"
    )[1]["results"]
    assert sorted(e["data"].get("invitations_revoked") for e in entries) == [1, 1]
