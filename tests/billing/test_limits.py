"""The enforcement service through its service door: every creating service calls limit_check."""

import pytest

from accounts.invitations import invitation_accept, invitation_create
from accounts.models import Invitation, User
from accounts.services import user_create
from billing.limits import (
    FeatureNotInPlan,
    PlanLimitExceeded,
    feature_require,
    limit_check,
    usage_summary,
)
from projects.models import Project, Task
from projects.services import project_create, task_create
from tenants.context import tenant_scope
from tests.billing.conftest import private_plan
from tests.factories import ProjectFactory, TaskFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_fourth_project_on_free_is_refused_with_a_clear_error(free_tenant):
    with tenant_scope(free_tenant):
        for i in range(3):
            project_create(tenant=free_tenant, name=f"p{i}")
        with pytest.raises(PlanLimitExceeded) as info:
            project_create(tenant=free_tenant, name="one too many")
        assert Project.objects.filter(tenant_id=free_tenant.pk).count() == 3
    exc = info.value
    assert (exc.limit, exc.limit_value, exc.usage, exc.plan, exc.upgrade_to) == (
        "max_projects",
        3,
        3,
        "Free",
        "Pro",
    )
    assert str(exc) == "Your Free plan allows 3 projects; you have 3. Upgrade to Pro to raise it."
    assert exc.as_dict()["code"] == "plan_limit_exceeded"


def test_tasks_per_project_limit_counts_each_project_separately(db):
    tenant = TenantFactory(plan=private_plan(max_tasks_per_project=2))
    first = ProjectFactory(tenant=tenant)
    second = ProjectFactory(tenant=tenant)
    with tenant_scope(tenant):
        task_create(tenant=tenant, project=first, title="a")
        task_create(tenant=tenant, project=first, title="b")
        with pytest.raises(
            PlanLimitExceeded, match="allows 2 tasks per project; this project has 2"
        ):
            task_create(tenant=tenant, project=first, title="c")
        task_create(tenant=tenant, project=second, title="elsewhere")
        assert Task.objects.filter(project=first).count() == 2
        assert Task.objects.filter(project=second).count() == 1


def test_member_limit_counts_pending_invitations_and_accepting_does_not_overshoot(free_tenant):
    owner = UserFactory(tenant=free_tenant, role="owner")
    with tenant_scope(free_tenant):
        user_create(tenant=free_tenant, email="two@example.com", password=None)
        issued = invitation_create(tenant=free_tenant, email="three@example.com", invited_by=owner)
        # Owner + member + pending invitation = 3 = the Free limit.
        with pytest.raises(PlanLimitExceeded) as info:
            invitation_create(tenant=free_tenant, email="four@example.com", invited_by=owner)
        assert (info.value.limit, info.value.usage) == ("max_members", 3)
        with pytest.raises(PlanLimitExceeded):
            user_create(tenant=free_tenant, email="five@example.com", password=None)
        invitation_accept(tenant=free_tenant, token=issued.token, password="a-long-password-9")
        assert User.objects.filter(tenant_id=free_tenant.pk).count() == 3
        assert not Invitation.objects.filter(email="four@example.com").exists()


def test_unlimited_plan_never_refuses(db):
    tenant = TenantFactory(plan=private_plan(max_projects=None))
    with tenant_scope(tenant):
        for i in range(12):
            project_create(tenant=tenant, name=f"p{i}")
        assert Project.objects.count() == 12


def test_limit_reads_the_plan_fresh_not_the_instance(free_tenant):
    """A stale Tenant instance (e.g. from a cache) cannot keep the old plan's allowance."""
    from billing.models import Plan
    from tenants.models import Tenant

    stale = Tenant.objects.get(pk=free_tenant.pk)
    stale.plan = Plan.objects.get(code="enterprise")  # what a stale copy might claim
    with tenant_scope(stale):
        for i in range(3):
            project_create(tenant=stale, name=f"p{i}")
        with pytest.raises(PlanLimitExceeded):
            project_create(tenant=stale, name="p3")


def test_limits_of_one_tenant_ignore_another_tenants_rows(free_tenant, pro_tenant):
    for _ in range(5):
        ProjectFactory(tenant=pro_tenant)
    with tenant_scope(free_tenant):
        project_create(tenant=free_tenant, name="mine")


def test_unknown_limit_is_a_programming_error(free_tenant):
    with tenant_scope(free_tenant), pytest.raises(ValueError, match="unknown limit"):
        limit_check(tenant=free_tenant, limit="max_widgets")


def test_feature_gate(free_tenant, pro_tenant):
    with pytest.raises(FeatureNotInPlan) as info:
        feature_require(tenant=free_tenant, feature="audit_log")
    assert str(info.value) == "Your Free plan does not include audit log. It is included in Pro."
    assert info.value.as_dict()["code"] == "feature_not_in_plan"
    feature_require(tenant=pro_tenant, feature="audit_log")
    feature_require(tenant=free_tenant, feature="api_access")  # free tries the API
    with pytest.raises(FeatureNotInPlan, match="included in Enterprise"):
        feature_require(tenant=pro_tenant, feature="dedicated_database")


def test_usage_summary_names_every_limit(free_tenant):
    UserFactory(tenant=free_tenant)
    project = ProjectFactory(tenant=free_tenant)
    ProjectFactory(tenant=free_tenant)
    TaskFactory(tenant=free_tenant, project=project)
    TaskFactory(tenant=free_tenant, project=project)
    with tenant_scope(free_tenant):
        summary = usage_summary(tenant=free_tenant)
    assert summary["plan"] == "free"
    assert summary["limits"] == [
        {"name": "max_members", "limit": 3, "usage": 1},
        {"name": "max_projects", "limit": 3, "usage": 2},
        {"name": "max_tasks_per_project", "limit": 50, "usage": 2},
    ]
    assert summary["api_requests_per_minute"] == 60
    assert summary["features"] == ["api_access"]
