"""The token cache of a running server: no token query in the steady state, the secret still
checked on every use, and changes made by another process reaching it long before its bound.

The server runs with a long bound (30 s) so that only the NOTIFY path can explain a change
being seen within a couple of seconds.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from accounts.models import ApiToken, Role, User
from accounts.services import token_create, token_revoke
from tenants.context import tenant_scope
from tests.conftest import make_tenant, unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import LiveServer
from tests.live_client import api, tenant_host

pytestmark = pytest.mark.slow

BOUND = 30.0
NOTIFY_WITHIN = 3.0


@pytest.fixture(scope="module")
def server(django_db_setup):
    base, _, _ = settings.DATABASE_URL.rpartition("/")
    env = {
        "TENANT_REGISTRY_MAX_AGE": str(BOUND),
        "API_TOKEN_CACHE_SECONDS": str(BOUND),
        "TENANT_REGISTRY_LISTEN": "1",
    }
    with LiveServer(f"{base}/{django_db_setup}", extra_env=env) as live:
        yield live


@pytest.fixture
def org(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("tokc"))
    admin = UserFactory(tenant=tenant, email="admin@tokc.test", role=Role.ADMIN)
    return tenant, admin


def mint(tenant, created_by, scopes=("admin",)):
    with tenant_scope(tenant):
        return token_create(tenant=tenant, name="t", scopes=list(scopes), created_by=created_by)


def until(predicate, within: float) -> float:
    """Seconds until predicate() held; fails after `within`."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not seen within {within} s")


def test_a_cached_token_still_needs_its_secret(server, org):
    tenant, admin = org
    issued = mint(tenant, admin)
    host = tenant_host(tenant)
    assert api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 200  # now cached
    forged = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")
    status, body = api(server, host, forged, "GET", "/api/v1/projects/")
    assert status == 401 and body["error"]["code"] == "authentication_failed"


def test_revocation_by_another_process_reaches_the_cache_at_once(server, org):
    tenant, admin = org
    issued = mint(tenant, admin)
    host = tenant_host(tenant)
    assert api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 200
    with tenant_scope(tenant):  # committed by this (other) process, not through the server
        ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at="2000-01-01T00:00:00Z")
    until(
        lambda: api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 401,
        NOTIFY_WITHIN,
    )


def test_a_creators_demotion_and_deactivation_reach_the_cache_at_once(server, org):
    tenant, admin = org
    issued = mint(tenant, admin)
    host = tenant_host(tenant)
    assert api(server, host, issued.secret, "GET", "/api/v1/tokens/")[0] == 200  # admin powers
    with tenant_scope(tenant):
        User.objects.filter(pk=admin.pk).update(role=Role.MEMBER)
    until(
        lambda: api(server, host, issued.secret, "GET", "/api/v1/tokens/")[0] == 403, NOTIFY_WITHIN
    )
    assert api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 200
    with tenant_scope(tenant):
        User.objects.filter(pk=admin.pk).update(is_active=False)
    until(
        lambda: api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 401,
        NOTIFY_WITHIN,
    )


def test_revocation_through_the_api_is_seen_by_the_next_request(server, org):
    tenant, admin = org
    owner = mint(tenant, admin)
    victim = mint(tenant, admin, scopes=("read",))
    host = tenant_host(tenant)
    assert api(server, host, victim.secret, "GET", "/api/v1/projects/")[0] == 200
    path = f"/api/v1/tokens/{victim.token.pk}/"
    assert api(server, host, owner.secret, "DELETE", path)[0] == 204
    assert api(server, host, victim.secret, "GET", "/api/v1/projects/")[0] == 401


def test_a_revocation_heard_while_a_fill_reads_is_not_undone(org, settings, monkeypatch):
    """The fill's answer predates the revocation: it must not be cached over the drop
    (without the rule the revoked token was served until the bound ran out)."""
    from accounts import services, token_cache
    from accounts.services import token_authenticate, token_revoke

    settings.TENANT_REGISTRY_MAX_AGE = settings.API_TOKEN_CACHE_SECONDS = 30.0
    token_cache.forget_all()
    tenant, admin = org
    issued = mint(tenant, admin)
    real_put = token_cache.put

    def revoked_meanwhile(tenant_id, key_id, token, read_at):
        # The revocation commits (and is heard) after the fill's query read the row.
        with tenant_scope(tenant):
            token_revoke(tenant=tenant, token=ApiToken.objects.get(pk=issued.token.pk))
        real_put(tenant_id, key_id, token, read_at)

    monkeypatch.setattr(services.token_cache, "put", revoked_meanwhile)
    with tenant_scope(tenant):
        assert token_authenticate(tenant=tenant, raw=issued.secret) is not None  # the old row
    monkeypatch.setattr(services.token_cache, "put", real_put)
    with tenant_scope(tenant):
        assert token_authenticate(tenant=tenant, raw=issued.secret) is None
    token_cache.forget_all()


def test_a_revocation_in_a_tenants_own_database_reaches_the_cache_at_once(server, committed_db):
    # The trigger NOTIFYs inside the tenant's database, where no listener runs: the
    # service relays the message to the main database after its commit.
    tenant = make_tenant("database", "tokdb")
    admin = UserFactory(tenant=tenant, email="admin@tokdb.test", role=Role.ADMIN)
    issued = mint(tenant, admin)
    host = tenant_host(tenant)
    assert api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 200  # now cached
    with tenant_scope(tenant):  # committed by this (other) process, not through the server
        token_revoke(tenant=tenant, token=ApiToken.objects.get(pk=issued.token.pk))
    until(
        lambda: api(server, host, issued.secret, "GET", "/api/v1/projects/")[0] == 401,
        NOTIFY_WITHIN,
    )
