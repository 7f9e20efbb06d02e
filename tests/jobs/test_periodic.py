"""The beat schedule and the fleet tasks that call the billing services."""

from __future__ import annotations

import pytest

from billing import compliance, usage
from billing.tasks import plan_compliance, usage_rollup

# Importing the task modules registers their tasks (a worker does it by autodiscovery).
from idempotency.tasks import purge_expired  # noqa: F401
from observability.tasks import sla_rollup_task  # noqa: F401
from operators.tasks import sla_breaches  # noqa: F401
from saas.celery import app
from tenants.context import get_current_tenant, tenant_scope
from webhooks.tasks import purge, sweep  # noqa: F401


def test_beat_schedules_the_fleet_tasks():
    schedule = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert set(schedule) == {
        "billing.usage_rollup",
        "billing.plan_compliance",
        "observability.sla_rollup",
        "operators.sla_breaches",
        "idempotency.purge_expired",
        "tenants.outbox_drain",
        "tenants.spares_refill",
        "webhooks.sweep",
        "webhooks.purge",
    }
    for name in schedule:
        assert app.tasks[name].fleet is True, f"{name} must be declared a fleet task"


def test_fleet_tasks_run_with_no_tenant_even_when_queued_inside_one(db, tenant_a, monkeypatch):
    seen = []
    monkeypatch.setattr(
        usage,
        "usage_rollup_all",
        lambda **kw: seen.append(("rollup", get_current_tenant(), kw)) or 3,
    )
    monkeypatch.setattr(
        compliance,
        "plan_compliance_run",
        lambda **kw: seen.append(("compliance", get_current_tenant(), kw)),
    )
    with tenant_scope(tenant_a):
        rolled = usage_rollup.apply_async(kwargs={"period_start": "2026-11-01"})
        plan_compliance.apply_async()
    assert rolled.get() == 3
    assert seen == [
        ("rollup", None, {"period_start": "2026-11-01", "period_end": None}),
        ("compliance", None, {}),
    ]


@pytest.mark.django_db(databases=["default", "operator"])
def test_usage_rollup_task_runs_the_billing_service(tenant_a):
    from billing.models import UsageRecord
    from tests.factories import ProjectFactory

    ProjectFactory(tenant=tenant_a)
    ProjectFactory(tenant=tenant_a)
    result = usage_rollup.apply_async()
    assert result.successful(), result.traceback
    with tenant_scope(tenant_a):
        projects = UsageRecord.objects.filter(metric="projects").values_list("quantity", flat=True)
        assert list(projects) == [2]


def test_plan_compliance_task_runs_the_billing_service(committed_db):
    from datetime import timedelta

    from tests.conftest import make_tenant

    tenant_a = make_tenant("shared", "compliance")

    from django.utils import timezone

    from billing.models import Subscription, SubscriptionStatus
    from billing.subscriptions import subscription_start

    subscription_start(tenant=tenant_a, now=timezone.now() - timedelta(days=40))
    with tenant_scope(tenant_a):
        assert Subscription.objects.get().status == SubscriptionStatus.TRIALING
    result = plan_compliance.apply_async()
    assert result.successful(), result.traceback
    with tenant_scope(tenant_a):
        assert Subscription.objects.get().status == SubscriptionStatus.PAST_DUE


def test_for_each_tenant_enters_each_tenants_scope_and_restores(db, tenant_a, tenant_b):
    from tenants.celery import for_each_tenant

    seen = {t.pk: get_current_tenant().pk for t in for_each_tenant()}
    assert seen[tenant_a.pk] == tenant_a.pk and seen[tenant_b.pk] == tenant_b.pk
    assert get_current_tenant() is None
