"""Plan changes: upgrades at once, downgrades below usage refused, and every side effect."""

import time

import pytest
from django.db import connection

from audit.models import AuditEvent
from billing.errors import BillingError, PlanChangeRefused
from billing.limits import PlanLimitExceeded
from billing.models import PlanChange, Subscription, SubscriptionStatus
from billing.signals import plan_changed
from billing.subscriptions import isolation_target, subscription_change_plan, subscription_start
from projects.services import project_create
from tenants import resolvers
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.billing.conftest import plan, tenant_on
from tests.factories import ProjectFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def statement_timeout(tenant) -> str:
    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("SHOW statement_timeout")
        return cur.fetchone()[0]


def test_upgrade_takes_effect_at_once(free_tenant, django_capture_on_commit_callbacks):
    with tenant_scope(free_tenant):
        for i in range(3):
            project_create(tenant=free_tenant, name=f"p{i}")
        with pytest.raises(PlanLimitExceeded):
            project_create(tenant=free_tenant, name="p3")
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_change_plan(tenant=free_tenant, plan_code="pro")
    assert subscription.plan.code == "pro"
    assert Tenant.objects.get(pk=free_tenant.pk).plan.code == "pro"
    assert free_tenant.plan.code == "pro"  # the caller's instance follows
    with tenant_scope(free_tenant):
        project_create(tenant=free_tenant, name="p3")  # allowed now, no cache to wait for


def test_downgrade_below_usage_is_refused_listing_what_exceeds(pro_tenant):
    for _ in range(4):
        UserFactory(tenant=pro_tenant)
    for _ in range(5):
        ProjectFactory(tenant=pro_tenant)
    with pytest.raises(PlanChangeRefused) as info:
        subscription_change_plan(tenant=pro_tenant, plan_code="free")
    exc = info.value
    assert [(u.name, u.limit, u.usage) for u in exc.exceeded] == [
        ("max_members", 3, 4),
        ("max_projects", 3, 5),
    ]
    assert "members: 4 in use, Free allows 3" in str(exc)
    assert "projects: 5 in use, Free allows 3" in str(exc)
    assert exc.as_dict()["exceeded"][1] == {"name": "max_projects", "limit": 3, "usage": 5}
    # Nothing changed.
    assert Tenant.objects.get(pk=pro_tenant.pk).plan.code == "pro"
    assert pro_tenant.plan.code == "pro"
    with tenant_scope(pro_tenant):
        assert not PlanChange.objects.filter(to_plan__code="free").exists()
        assert not AuditEvent.objects.filter(action="plan.change").exists()


def test_downgrade_refused_for_a_full_project_too(pro_tenant):
    project = ProjectFactory(tenant=pro_tenant)
    for _ in range(51):
        TaskFactory(tenant=pro_tenant, project=project)
    with pytest.raises(PlanChangeRefused) as info:
        subscription_change_plan(tenant=pro_tenant, plan_code="free")
    assert [(u.name, u.limit, u.usage) for u in info.value.exceeded] == [
        ("max_tasks_per_project", 50, 51)
    ]


def test_downgrade_that_fits_is_recorded_audited_and_signalled(
    pro_tenant, django_capture_on_commit_callbacks
):
    actor = UserFactory(tenant=pro_tenant, role="owner")
    ProjectFactory(tenant=pro_tenant)
    subscription_start(tenant=pro_tenant)
    received = []

    def receiver(sender, **kwargs):
        received.append(
            (sender, kwargs["tenant"].pk, kwargs["old_plan"].code, kwargs["new_plan"].code)
        )

    plan_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            subscription_change_plan(tenant=pro_tenant, plan_code="free", actor=actor)
            assert received == [], "the signal waits for the commit"
    finally:
        plan_changed.disconnect(receiver)
    assert len(callbacks) == 2
    assert received == [(type(plan("free")), pro_tenant.pk, "pro", "free")]
    with tenant_scope(pro_tenant):
        change = PlanChange.objects.get(to_plan__code="free")
        assert (change.from_plan.code, change.actor_id, change.actor_label) == (
            "pro",
            actor.pk,
            actor.role,  # billing rows are global: an id and a role word, no address
        )
        event = AuditEvent.objects.get(action="plan.change")
        assert event.data == {"from": "pro", "to": "free", "isolation_move_to": None}
        assert event.actor_id == actor.pk
        sub = Subscription.objects.get()
        # Pro started trialing; a free plan has nothing to pay, so it is active.
        assert (sub.plan.code, sub.status, sub.trial_ends_at) == ("free", "active", None)


def test_change_to_the_same_plan_is_a_no_op(pro_tenant):
    subscription_change_plan(tenant=pro_tenant, plan_code="pro")
    with tenant_scope(pro_tenant):
        assert PlanChange.objects.filter(from_plan__isnull=False).count() == 0


def test_unknown_plan(pro_tenant):
    with pytest.raises(BillingError, match=r"^Unknown plan 'gold'\. Available plans: ") as info:
        subscription_change_plan(tenant=pro_tenant, plan_code="gold")
    assert "free, pro, enterprise" in str(info.value)


def test_cache_is_invalidated_and_the_statement_timeout_follows_the_plan(
    free_tenant, django_capture_on_commit_callbacks, registry_listening
):
    resolvers.clear_local()
    cached = resolvers.tenant_for_subdomain(free_tenant.subdomain)
    assert cached.plan.code == "free"
    assert statement_timeout(cached) == "2s"  # Free: 2000 ms
    assert resolvers.tenant_for_subdomain(free_tenant.subdomain) is cached  # served from L1

    other = Tenant.objects.select_related("plan").get(pk=free_tenant.pk)  # a command's copy
    with django_capture_on_commit_callbacks(execute=True):
        subscription_change_plan(tenant=other, plan_code="pro")

    fresh = resolvers.tenant_for_subdomain(free_tenant.subdomain)
    assert fresh is not cached
    assert fresh.plan.code == "pro"
    assert statement_timeout(fresh) == "5s"  # Pro: 5000 ms
    assert statement_timeout(other) == "5s"  # the instance passed in follows at once


def test_no_invalidation_when_the_change_rolls_back(
    free_tenant, django_capture_on_commit_callbacks
):
    resolvers.clear_local()
    from tests.billing.conftest import private_plan

    # Created (and its registry notification heard) before the tenant is cached.
    tiny = private_plan(max_projects=1)
    time.sleep(0.5)
    cached = resolvers.tenant_for_subdomain(free_tenant.subdomain)
    for _ in range(4):
        ProjectFactory(tenant=free_tenant)  # already over Free: a move to a tiny plan fails
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(PlanChangeRefused),
    ):
        subscription_change_plan(tenant=free_tenant, plan_code=tiny.code)
    assert callbacks == []
    assert resolvers.tenant_for_subdomain(free_tenant.subdomain) is cached


def test_isolation_target_for_dedicated_database_plans(db):
    shared = tenant_on("pro")
    assert (
        isolation_target(tenant=shared, old_plan=plan("pro"), new_plan=plan("enterprise"))
        == "database"
    )
    assert isolation_target(tenant=shared, old_plan=plan("free"), new_plan=plan("pro")) is None
    shared.isolation = "database"  # an enterprise tenant in its own database
    assert (
        isolation_target(tenant=shared, old_plan=plan("enterprise"), new_plan=plan("pro"))
        == "shared"
    )
    assert (
        isolation_target(tenant=shared, old_plan=plan("enterprise"), new_plan=plan("enterprise"))
        is None
    )


def test_upgrade_to_enterprise_accepts_the_move_but_does_not_move(
    pro_tenant, django_capture_on_commit_callbacks
):
    """The plan change's own contract: its move is an outbox row committed with it; the
    row's task queues the move job (tested with committed data in tests/tenants/test_plan_move.py)."""
    from tenants.models import OutboxMessage

    with django_capture_on_commit_callbacks(execute=False):
        subscription_change_plan(tenant=pro_tenant, plan_code="enterprise")
    row = Tenant.objects.get(pk=pro_tenant.pk)
    assert (row.plan.code, row.isolation) == ("enterprise", "shared")
    with tenant_scope(pro_tenant):
        event = AuditEvent.objects.get(action="plan.change")
        change = PlanChange.objects.get(tenant_id=pro_tenant.pk, to_plan__code="enterprise")
        [queued] = OutboxMessage.objects.filter(tenant_id=pro_tenant.pk)
    assert event.data["isolation_move_to"] == "database"
    assert (queued.task, queued.args) == ("billing.plan_move", [str(change.pk)])


def test_subscription_is_created_lazily_for_tenants_without_one(pro_tenant):
    with tenant_scope(pro_tenant):
        assert not Subscription.objects.exists()
    subscription = subscription_change_plan(tenant=pro_tenant, plan_code="enterprise")
    assert subscription.plan.code == "enterprise"
    with tenant_scope(pro_tenant):
        assert Subscription.objects.count() == 1


def test_subscription_status_is_kept_on_paid_to_paid_moves(pro_tenant):
    subscription_start(tenant=pro_tenant)
    subscription = subscription_change_plan(tenant=pro_tenant, plan_code="enterprise")
    assert subscription.status == SubscriptionStatus.TRIALING
