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


def test_a_plan_change_with_the_broker_down_moves_the_tenant_when_it_is_back(
    committed_db, test_database_url
):
    """The door is `change_plan`; its move is accepted work, kept in the outbox, run once."""
    from tenants.models import OutboxMessage
    from tests.jobs.test_outbox_live import _env, _manage
    from tests.live import free_port

    tenant = make_tenant("shared", "bdown")
    ProjectFactory(tenant=tenant, name="keeps")
    down = _env(test_database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    changed = _manage("change_plan", tenant.subdomain, "enterprise", env=down)
    assert changed.returncode == 0, changed.stderr[-2000:]
    with tenant_scope(tenant_get(tenant.subdomain)):
        rows = list(OutboxMessage.objects.filter(tenant_id=tenant.pk, task="billing.plan_move"))
        failed = list(Job.objects.filter(tenant_id=tenant.pk, status="failed"))
    assert [row.status for row in rows] == ["pending"], "the move was not kept for later"
    assert failed == []

    # The broker is back (without REDIS_URL the drain's process runs the tasks itself).
    for _ in range(2):  # a second drain finds nothing left: the move is queued once
        drained = _manage("drain_outbox", "--tenant", tenant.subdomain, env=_env(test_database_url))
        assert drained.returncode == 0, drained.stderr[-2000:]
    moved = tenant_get(tenant.subdomain)
    assert (moved.isolation, moved.plan.code) == ("database", "enterprise")
    with tenant_scope(moved):
        [job] = Job.objects.filter(tenant_id=tenant.pk, kind="tenant_move")
        assert list(Project.objects.values_list("name", flat=True)) == ["keeps"]
    assert (job.status, job.params) == ("succeeded", {"to": "database"}), job.message
