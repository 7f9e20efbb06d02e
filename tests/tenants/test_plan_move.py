"""A plan that requires a dedicated database moves the tenant there (as a background job)."""

import pytest

from billing.subscriptions import subscription_change_plan
from jobs.models import Job
from projects.models import Project
from tenants.context import tenant_scope
from tenants.services import tenant_get
from tests.conftest import make_tenant
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.slow]


def test_upgrade_to_enterprise_moves_the_tenant_to_its_own_database(committed_db, settings):
    tenant = make_tenant("shared", "upgrade")
    ProjectFactory(tenant=tenant, name="keeps")
    subscription_change_plan(tenant=tenant, plan_code="enterprise")
    # Job rows are under RLS; the old instance names the placement the tenant left.
    with tenant_scope(tenant_get(tenant.subdomain)):
        job = Job.objects.filter(tenant_id=tenant.pk, kind="tenant_move").get()
    # Without REDIS_URL (or in eager mode) the job has run by now; with a worker, wait for it.
    assert job.params == {"to": "database"}
    assert job.status == "succeeded", (job.status, job.message)
    moved = tenant_get(tenant.subdomain)
    assert (moved.isolation, moved.plan.code) == ("database", "enterprise")
    with tenant_scope(moved):
        assert list(Project.objects.values_list("name", flat=True)) == ["keeps"]

    subscription_change_plan(tenant=moved, plan_code="pro")
    back = tenant_get(tenant.subdomain)
    assert back.isolation == settings.TENANT_DEFAULT_ISOLATION
    with tenant_scope(back):
        assert list(Project.objects.values_list("name", flat=True)) == ["keeps"]


def test_plan_change_without_isolation_requirement_starts_no_job(committed_db):
    tenant = make_tenant("shared", "noop")
    subscription_change_plan(tenant=tenant, plan_code="free")
    with tenant_scope(tenant):
        assert not Job.objects.filter(tenant_id=tenant.pk).exists()
