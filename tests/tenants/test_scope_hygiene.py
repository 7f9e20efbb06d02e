"""A scope cannot outlive its block: a failure inside the billing path leaves nothing behind,
and a request never inherits a scope that leaked on its thread."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from billing.models import Plan
from billing.subscriptions import subscription_change_plan
from tenants import context
from tenants.backends.database import TenantDatabaseUnavailable, mark_down
from tests.conftest import make_tenant

pytestmark = pytest.mark.isolation


def test_failed_tenant_database_transaction_in_billing_leaves_no_scope(committed_db):
    tenant = make_tenant("database", "bill")
    pro = Plan.objects.get(code="pro")
    mark_down(tenant.db_alias)  # opening the tenant database's transaction fails
    # The failure's traceback stays referenced (as a server's error handling keeps
    # it): nothing but the code's own `with` blocks may restore the scope.
    with pytest.raises(TenantDatabaseUnavailable) as failure:
        subscription_change_plan(tenant=tenant, plan_code=pro.code)
    assert context.get_current_tenant() is None
    assert failure.value is not None


@pytest.mark.django_db
def test_a_leaked_scope_is_refused_on_every_host_kind(tenant_a, caplog, settings):
    token = context._current.set(tenant_a)  # what a scope entered without `with` leaves
    try:
        with caplog.at_level(logging.ERROR, logger="tenants.context"):
            for host in ("localhost", f"admin.{settings.BASE_DOMAIN}"):
                response = Client(HTTP_HOST=host).get("/")
                assert response.status_code in (200, 302, 404)
        assert sum("leaked scope refused" in r.message for r in caplog.records) == 2
    finally:
        context._current.reset(token)
