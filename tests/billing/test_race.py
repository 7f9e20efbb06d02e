"""20 concurrent creations at the edge of a limit, each on its own database connection, never exceed it.

Django gives every thread its own connection, so these are 20 PostgreSQL
sessions committing for real (committed_db), not threads sharing one.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from accounts.invitations import invitation_create
from accounts.models import Invitation, User
from accounts.services import user_create
from billing.errors import PlanChangeRefused
from billing.limits import PlanLimitExceeded
from billing.subscriptions import subscription_change_plan
from projects.models import Project, Task
from projects.services import project_create, task_create
from tenants.context import tenant_scope
from tenants.models import Tenant
from tenants.transactions import tenant_atomic
from tests.billing.conftest import plan, private_plan
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.slow

N = 20
# Waiting on the advisory lock counts against the plan's statement timeout (Free: 2 s). The
# races use plans with Free's limits and a long timeout so a loaded machine cannot turn a
# queue of waits into cancellations.
PATIENT = 30_000


def race(tenant, jobs):
    """Run each job(i) in its own thread and connection, released together; outcomes by index."""
    barrier = threading.Barrier(len(jobs))

    def run(i, job):
        try:
            with tenant_scope(tenant):
                barrier.wait(timeout=30)
                job(i)
            return ("ok", connection.connection.info.backend_pid)
        except PlanLimitExceeded as exc:
            return ("limit", exc)
        except PlanChangeRefused as exc:
            return ("refused", exc)
        except Exception as exc:  # anything else (e.g. a database error) fails the test
            return ("error", repr(exc))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, range(len(jobs)), jobs))


def kinds(outcomes):
    return sorted({kind for kind, _ in outcomes})


def test_twenty_concurrent_projects_at_the_edge_of_the_limit(committed_db):
    tenant = TenantFactory(
        subdomain=unique_subdomain("race-p"),
        plan=private_plan(max_projects=3, statement_timeout_ms=PATIENT),
    )
    ProjectFactory(tenant=tenant)
    ProjectFactory(tenant=tenant)  # 2 of 3 used

    outcomes = race(tenant, [lambda i: project_create(tenant=tenant, name=f"p{i}")] * N)

    ok = [detail for kind, detail in outcomes if kind == "ok"]
    assert kinds(outcomes) == ["limit", "ok"], outcomes
    assert len(ok) == 1
    assert all(exc.usage == 3 for kind, exc in outcomes if kind == "limit")
    with tenant_scope(tenant):
        assert Project.objects.count() == 3


def test_twenty_concurrent_projects_from_zero(committed_db):
    tenant = TenantFactory(
        subdomain=unique_subdomain("race-z"),
        plan=private_plan(max_projects=7, statement_timeout_ms=PATIENT),
    )
    outcomes = race(tenant, [lambda i: project_create(tenant=tenant, name=f"p{i}")] * N)
    ok_pids = [pid for kind, pid in outcomes if kind == "ok"]
    assert len(ok_pids) == 7
    assert [kind for kind, _ in outcomes].count("limit") == 13
    assert len(set(ok_pids)) > 1, "the creations ran on several database sessions"
    with tenant_scope(tenant):
        assert Project.objects.count() == 7


def test_twenty_concurrent_members_and_invitations(committed_db):
    tenant = TenantFactory(
        subdomain=unique_subdomain("race-m"),
        plan=private_plan(max_members=3, statement_timeout_ms=PATIENT),
    )
    owner = UserFactory(tenant=tenant, role="owner")  # 1 of 3 seats

    def invite(i):
        invitation_create(tenant=tenant, email=f"invitee{i}@example.com", invited_by=owner)

    def add(i):
        user_create(tenant=tenant, email=f"member{i}@example.com", password=None)

    outcomes = race(tenant, [invite, add] * (N // 2))
    assert kinds(outcomes) == ["limit", "ok"], outcomes
    assert [kind for kind, _ in outcomes].count("ok") == 2
    with tenant_scope(tenant):
        members = User.objects.filter(is_active=True).count()
        pending = Invitation.objects.filter(
            accepted_at__isnull=True, revoked_at__isnull=True
        ).count()
    assert members + pending == 3


def test_twenty_concurrent_tasks_in_one_project(committed_db):
    tenant = TenantFactory(
        subdomain=unique_subdomain("race-t"),
        plan=private_plan(max_tasks_per_project=5, statement_timeout_ms=PATIENT),
    )
    project = ProjectFactory(tenant=tenant)
    outcomes = race(
        tenant, [lambda i: task_create(tenant=tenant, project=project, title=f"t{i}")] * N
    )
    assert kinds(outcomes) == ["limit", "ok"], outcomes
    with tenant_scope(tenant):
        assert Task.objects.filter(project=project).count() == 5


def test_downgrade_racing_with_creations_never_leaves_usage_over_the_plan(committed_db):
    """One thread downgrades pro → free while 19 create projects: whichever wins, usage fits."""
    small = private_plan(max_projects=3, statement_timeout_ms=PATIENT)
    tenant = TenantFactory(
        subdomain=unique_subdomain("race-d"), plan=private_plan(statement_timeout_ms=PATIENT)
    )
    ProjectFactory(tenant=tenant)
    ProjectFactory(tenant=tenant)

    def downgrade(i):
        subscription_change_plan(tenant=tenant, plan_code=small.code)

    def create(i):
        project_create(tenant=tenant, name=f"p{i}")

    outcomes = race(tenant, [downgrade] + [create] * (N - 1))
    assert "error" not in kinds(outcomes), outcomes
    row = Tenant.objects.select_related("plan").get(pk=tenant.pk)
    with tenant_scope(row):
        projects = Project.objects.count()
    if row.plan.code == small.code:
        assert projects <= 3
        assert outcomes[0][0] == "ok"
    else:
        assert outcomes[0][0] == "refused"
        assert projects == 2 + (N - 1)


@pytest.mark.parametrize("mode", ["shared", "database"])
def test_a_downgrade_waits_for_an_in_flight_creation_and_counts_it(committed_db, mode):
    """Deterministic: creation A has passed its check but not committed when B downgrades.

    B must wait on the plan lock until A commits, then count A's project and
    refuse. Without the lock B would count 3, accept Free, and A's commit would
    leave the tenant at 4 projects on a 3-project plan.
    """
    tenant = TenantFactory(subdomain=unique_subdomain("race-w"), plan=plan("pro"), isolation=mode)
    for _ in range(3):
        ProjectFactory(tenant=tenant)
    checked, timeline = threading.Event(), []

    def create():
        try:
            with tenant_scope(tenant), tenant_atomic():
                project_create(tenant=tenant, name="in flight")
                checked.set()
                time.sleep(0.5)  # B starts and must wait for this commit
                timeline.append("A commits")
        finally:
            connections.close_all()

    def downgrade():
        try:
            checked.wait(10)
            subscription_change_plan(tenant=tenant, plan_code="free")
            timeline.append("B changed")
        except PlanChangeRefused as exc:
            timeline.append(("B refused", [(u.name, u.usage) for u in exc.exceeded]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create), threading.Thread(target=downgrade)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert timeline == ["A commits", ("B refused", [("max_projects", 4)])]
    assert Tenant.objects.get(pk=tenant.pk).plan.code == "pro"
