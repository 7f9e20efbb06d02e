"""One counting rule per resource: the plan limits and the usage roll-up read the same meters."""

from datetime import UTC, datetime

import pytest

from accounts.invitations import invitation_create, invitation_revoke
from billing.limits import limit_usages
from billing.meters import meter_get, meter_register, usage_count
from billing.models import UsageRecord
from billing.usage import usage_rollup
from tenants.context import tenant_scope
from tests.factories import ProjectFactory, TaskFactory, UserFactory
from tests.test_layers import import_graph

PERIOD = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


@pytest.mark.django_db
def test_limits_and_rollup_count_members_alike_pending_invitations_included(pro_tenant):
    owner = UserFactory(tenant=pro_tenant, role="owner")
    UserFactory(tenant=pro_tenant)
    UserFactory(tenant=pro_tenant, is_active=False)
    project = ProjectFactory(tenant=pro_tenant)
    TaskFactory(tenant=pro_tenant, project=project)
    with tenant_scope(pro_tenant):
        invitation_create(tenant=pro_tenant, email="pending@example.com", invited_by=owner)
        revoked = invitation_create(tenant=pro_tenant, email="gone@example.com", invited_by=owner)
        invitation_revoke(tenant=pro_tenant, invitation=revoked.invitation, actor=owner)
        limits = {u.name: u.usage for u in limit_usages(tenant=pro_tenant)}
    usage_rollup(tenant=pro_tenant, period_start=PERIOD[0], period_end=PERIOD[1])
    with tenant_scope(pro_tenant):
        rolled = dict(UsageRecord.objects.values_list("metric", "quantity"))
    # Two active users and one pending invitation; the revoked one and the inactive user
    # hold no seat.
    assert limits["max_members"] == rolled["members"] == 3
    assert limits["max_projects"] == rolled["projects"] == 1
    assert rolled["tasks"] == 1


@pytest.mark.django_db
def test_each_resource_has_one_rule(pro_tenant):
    meter = meter_get("projects")
    meter_register("projects", count=meter.count)  # the same rule again: harmless
    with pytest.raises(RuntimeError, match="already counted"):
        meter_register("projects", count=lambda tenant: 0)
    with pytest.raises(LookupError, match="no app counts 'seats'"):
        usage_count(tenant=pro_tenant, resource="seats")


def test_billing_counts_through_the_meters_not_the_product_models():
    graph = import_graph()
    counting = [m for m in graph if m.startswith("billing.") and not m.startswith("billing.views")]
    reaching = {
        (m, target)
        for m in counting
        for target in graph[m]
        if target.startswith(("accounts.models", "projects.models"))
    }
    assert reaching == set()
