"""If-Match on every update and delete: strong comparison where there is an ETag, and false
(412, nothing done) where a resource has none. Through a live server."""

from __future__ import annotations

import json

import pytest

from accounts.models import ApiToken, Role, User
from tenants.context import tenant_scope
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live_client import tenant_host
from tests.web.test_error_bodies import _call

pytestmark = pytest.mark.slow


def _json(token, **extra):
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


def test_if_match_is_never_ignored(server, committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("cond"))
    member = UserFactory(tenant=tenant, email="m@cond.test", role=Role.MEMBER)
    host, admin = tenant_host(tenant), mint(tenant, ["admin"])
    victim = mint(tenant, ["read"])
    with tenant_scope(tenant):
        victim_id = ApiToken.objects.get(key_id=victim.split("_")[1]).pk

    def send(method, path, body, if_match) -> int:
        return _call(server, method, path, host, body, _json(admin, **{"If-Match": if_match}))[0]

    # No ETag on members and tokens: a listed tag cannot match, nothing is done.
    assert send("PATCH", f"/api/v1/members/{member.pk}/", b'{"role": "admin"}', '"zzz"') == 412
    assert send("DELETE", f"/api/v1/tokens/{victim_id}/", None, '"x"') == 412
    with tenant_scope(tenant):
        assert User.objects.get(pk=member.pk).role == Role.MEMBER
        assert ApiToken.objects.get(pk=victim_id).revoked_at is None
    # "*" and no header at all: the write happens.
    assert send("DELETE", f"/api/v1/tokens/{victim_id}/", None, "*") == 204

    # Projects carry a strong ETag: a weak tag never matches it.
    status, _, body = _call(
        server, "POST", "/api/v1/projects/", host, b'{"name": "Cond"}', _json(admin)
    )
    assert status == 201
    project = json.loads(body)["id"]
    status, headers, _ = _call(
        server, "GET", f"/api/v1/projects/{project}/", host, None, _json(admin)
    )
    tag = headers["ETag"]
    for given, expected in ((f"W/{tag}", 412), (tag, 200)):
        status, _, _ = _call(
            server,
            "PATCH",
            f"/api/v1/projects/{project}/",
            host,
            b'{"name": "Renamed"}',
            _json(admin, **{"If-Match": given}),
        )
        assert status == expected, given


def test_the_schema_lists_the_answers_the_api_gives(server, committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("cond"))
    status, _, body = _call(
        server,
        "GET",
        "/api/schema/?format=json",
        tenant_host(tenant),
        None,
        {"Accept": "application/json"},
    )
    assert status == 200
    create = json.loads(body)["paths"]["/api/v1/projects/"]["post"]["responses"]
    assert {"413", "415"} <= set(create)
