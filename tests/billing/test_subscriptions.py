"""Subscriptions start with the tenant; usage roll-ups are idempotent; the nightly compliance run."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.onboarding import organisation_create
from audit.models import AuditEvent
from billing.compliance import plan_compliance_run
from billing.errors import BillingError
from billing.models import PlanChange, Subscription, UsageRecord
from billing.periods import add_months, month_bounds
from billing.plans import plan_update
from billing.subscriptions import subscription_cancel
from billing.usage import usage_rollup, usage_rollup_all
from tenants.context import tenant_scope
from tenants.services import tenant_suspend
from tests.billing.conftest import private_plan
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TaskFactory, TenantFactory, UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "status", "trial"), [("free", "active", False), ("pro", "trialing", True)]
)
def test_tenant_create_starts_a_subscription(code, status, trial):
    tenant = organisation_create(name="Sub", subdomain=unique_subdomain("sub"), plan_code=code)
    with tenant_scope(tenant):
        sub = Subscription.objects.get()
        assert (sub.plan.code, sub.status) == (code, status)
        assert (sub.trial_ends_at is not None) is trial
        if trial:
            assert sub.trial_ends_at - sub.current_period_start == timedelta(days=14)
        assert sub.current_period_end == add_months(sub.current_period_start, 1)
        change = PlanChange.objects.get()
        assert (change.from_plan, change.to_plan.code) == (None, code)
        assert AuditEvent.objects.filter(action="subscription.start").count() == 1


def test_add_months_clamps_to_the_month_end():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2026, 12, 15, tzinfo=UTC), 1) == datetime(2027, 1, 15, tzinfo=UTC)
    assert month_bounds(datetime(2026, 11, 25, 3, 4, tzinfo=UTC)) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )


@pytest.mark.django_db
def test_cancel(pro_tenant):
    sub = subscription_cancel(tenant=pro_tenant)
    assert sub.status == "canceled" and sub.canceled_at is not None
    with pytest.raises(BillingError, match="already canceled"):
        subscription_cancel(tenant=pro_tenant)


@pytest.mark.django_db
def test_usage_rollup_is_an_idempotent_upsert(pro_tenant, tenant_b):
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    UserFactory(tenant=pro_tenant)
    UserFactory(tenant=pro_tenant, is_active=False)
    project = ProjectFactory(tenant=pro_tenant)
    TaskFactory(tenant=pro_tenant, project=project)
    ProjectFactory(tenant=tenant_b)  # another tenant's rows never count

    def stored():
        with tenant_scope(pro_tenant):
            return {r.metric: r.quantity for r in UsageRecord.objects.filter(period_start=start)}

    usage_rollup(tenant=pro_tenant, period_start=start, period_end=end)
    assert stored() == {"members": 1, "projects": 1, "tasks": 1}
    usage_rollup(tenant=pro_tenant, period_start=start, period_end=end)
    assert stored() == {"members": 1, "projects": 1, "tasks": 1}
    with tenant_scope(pro_tenant):
        assert UsageRecord.objects.count() == 3

    ProjectFactory(tenant=pro_tenant)
    TaskFactory(tenant=pro_tenant, project=project)
    usage_rollup(tenant=pro_tenant, period_start=start, period_end=end)
    assert stored() == {"members": 1, "projects": 2, "tasks": 2}  # overwritten, not added
    with tenant_scope(pro_tenant):
        assert UsageRecord.objects.count() == 3
    with tenant_scope(tenant_b):
        assert UsageRecord.objects.count() == 0
    with pytest.raises(BillingError, match="end after it starts"):
        usage_rollup(tenant=pro_tenant, period_start=end, period_end=start)


@pytest.mark.django_db
def test_usage_rollup_all_covers_active_tenants_in_their_own_scope():
    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC)
    active = TenantFactory()
    ProjectFactory(tenant=active)
    suspended = TenantFactory()
    tenant_suspend(tenant=suspended, reason="test")
    result = usage_rollup_all(period_start=start, period_end=end)
    assert result["failed"] == []
    assert result["tenants"] >= 1
    with tenant_scope(active):
        assert UsageRecord.objects.get(metric="projects", period_start=start).quantity == 1
    with tenant_scope(suspended):
        assert not UsageRecord.objects.exists()
    again = usage_rollup_all(period_start=start, period_end=end)
    assert again["tenants"] == result["tenants"]
    with tenant_scope(active):
        assert UsageRecord.objects.filter(period_start=start).count() == 3


@pytest.mark.slow
def test_compliance_run(committed_db):
    """Expired trial → past_due; an ended period rolls forward; usage over a lowered limit is reported."""
    now = timezone.now()
    trial = organisation_create(name="Trial", subdomain=unique_subdomain("trial"), plan_code="pro")
    with tenant_scope(trial):
        Subscription.objects.update(
            trial_ends_at=now - timedelta(hours=1),
            current_period_start=now - timedelta(days=20),
            current_period_end=now + timedelta(days=10),
        )
    lapsed = organisation_create(
        name="Lapsed", subdomain=unique_subdomain("lapsed"), plan_code="free"
    )
    period_start = now - timedelta(days=75)
    with tenant_scope(lapsed):
        Subscription.objects.update(
            current_period_start=period_start, current_period_end=add_months(period_start, 1)
        )
    fine = organisation_create(name="Fine", subdomain=unique_subdomain("fine"), plan_code="pro")
    lowered = private_plan(max_projects=5)
    over = TenantFactory(subdomain=unique_subdomain("over"), plan=lowered)
    for _ in range(3):
        ProjectFactory(tenant=over)
    plan_update(code=lowered.code, max_projects=2)  # an operator lowers the limit

    report = plan_compliance_run(now=now)

    assert trial.subdomain in report.trials_expired
    assert fine.subdomain not in report.trials_expired
    with tenant_scope(trial):
        assert Subscription.objects.get().status == "past_due"
        assert AuditEvent.objects.filter(action="subscription.past_due").count() == 1
    with tenant_scope(fine):
        assert Subscription.objects.get().status == "trialing"

    assert lapsed.subdomain in report.periods_renewed
    with tenant_scope(lapsed):
        sub = Subscription.objects.get()
    assert sub.current_period_start == add_months(period_start, 2)
    assert sub.current_period_start <= now < sub.current_period_end
    assert sub.status == "active"

    assert [(u.name, u.limit, u.usage) for u in report.over_limit[over.subdomain]] == [
        ("max_projects", 2, 3)
    ]
    assert fine.subdomain not in report.over_limit

    # Idempotent: a second run the same night changes nothing more.
    again = plan_compliance_run(now=now)
    assert trial.subdomain not in again.trials_expired
    assert lapsed.subdomain not in again.periods_renewed
    with tenant_scope(trial):
        assert AuditEvent.objects.filter(action="subscription.past_due").count() == 1
