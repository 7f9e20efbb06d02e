"""Self-service plan changes reach only public plans that keep the tenant where it is;
every other plan is an operator action (console, `change_plan`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from billing.models import Plan
from billing.subscriptions import plan_self_service_refusal
from jobs.models import Job
from operators.services import operator_create
from tenants.control import control_alias
from tenants.models import Isolation, Tenant
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import ROOT
from tests.live_client import Browser, console_host, tenant_host

pytestmark = pytest.mark.slow


def hidden_plan() -> Plan:
    return Plan.objects.using(control_alias("test")).create(
        code=f"hidden-{uuid.uuid4().hex[:6]}", name="Hidden deal", is_public=False
    )


def plan_of(tenant) -> str:
    return Tenant.objects.select_related("plan").get(pk=tenant.pk).plan.code


def test_the_billing_page_refuses_enterprise_and_non_public_plans(server, committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("self"))
    owner = UserFactory(tenant=tenant, email="owner@self.test", role="owner")
    hidden = hidden_plan()
    browser = Browser(server, tenant_host(tenant))
    assert browser.login(owner.email)[0] == 302

    status, page = browser.post_form("/billing/", {"plan": "enterprise"})
    assert status == 400 and b"contact support" in page
    status, page = browser.post_form("/billing/", {"plan": hidden.code})
    assert status == 400
    assert hidden.code.encode() not in page  # nor is the unlisted plan named back
    assert plan_of(tenant) == "pro"
    assert not Job.objects.filter(tenant_id=tenant.pk).exists()  # no move queued

    # A public plan in the same placement stays self-service.
    assert browser.post_form("/billing/", {"plan": "free"})[0] == 302
    assert plan_of(tenant) == "free"
    status, page = browser.request("GET", "/billing/")
    assert status == 200 and b'value="enterprise"' not in page


def test_operators_still_change_to_any_plan(server, committed_db, test_database_url):
    tenant = TenantFactory(subdomain=unique_subdomain("ops-plan"))
    hidden = hidden_plan()
    operator = operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )
    console = Browser(server, console_host())
    assert console.login(operator.email, "operator-password-1", path="/login/")[0] == 302
    status, _ = console.post_form(
        f"/tenants/{tenant.pk}/plan/", {"plan": hidden.code}, page=f"/tenants/{tenant.pk}/"
    )
    assert status == 302 and plan_of(tenant) == hidden.code

    env = dict(os.environ, DATABASE_URL=test_database_url)
    result = subprocess.run(
        [sys.executable, "manage.py", "change_plan", tenant.subdomain, "enterprise"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert plan_of(tenant) == "enterprise"


@pytest.mark.parametrize(
    "isolation, current, target, allowed",
    [
        (Isolation.SHARED, "pro", "free", True),
        (Isolation.SHARED, "free", "pro", True),
        (Isolation.SHARED, "pro", "enterprise", False),  # needs its own database
        (Isolation.DATABASE, "enterprise", "pro", False),  # would move back out
        (Isolation.DATABASE, "enterprise", "enterprise", True),
    ],
)
def test_the_self_service_rule(db, isolation, current, target, allowed):
    tenant = Tenant(isolation=isolation, plan=Plan.objects.get(code=current))
    refusal = plan_self_service_refusal(tenant=tenant, plan=Plan.objects.get(code=target))
    assert (refusal is None) is allowed


def test_a_non_public_plan_is_never_self_service(db):
    tenant = Tenant(isolation=Isolation.SHARED, plan=Plan.objects.get(code="pro"))
    assert plan_self_service_refusal(tenant=tenant, plan=hidden_plan())


@pytest.mark.parametrize("status", ["canceled", "past_due"])
def test_a_cancelled_or_unpaid_subscription_is_not_undone_by_switching_plans(
    server, committed_db, status
):
    from billing.models import Subscription
    from billing.subscriptions import subscription_start
    from tenants.context import tenant_scope

    tenant = TenantFactory(subdomain=unique_subdomain("closed"))
    owner = UserFactory(tenant=tenant, email="owner@closed.test", role="owner")
    with tenant_scope(tenant):
        subscription_start(tenant=tenant)
        Subscription.objects.filter(tenant_id=tenant.pk).update(status=status)
    browser = Browser(server, tenant_host(tenant))
    assert browser.login(owner.email)[0] == 302
    # The way round: to free (nothing to pay, so "active"), then back to pro.
    status_code, page = browser.post_form("/billing/", {"plan": "free"})
    assert status_code == 400 and b"contact support" in page
    with tenant_scope(tenant):
        subscription = Subscription.objects.get(tenant_id=tenant.pk)
    assert (subscription.status, subscription.plan.code) == (status, "pro")
    assert plan_of(tenant) == "pro"
