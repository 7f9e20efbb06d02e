"""A real worker process (celery worker, prefork, one child) on the real Redis and the test database."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_start
from projects.models import Project
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory
from tests.jobs.probe_tasks import probe_visible

pytestmark = [pytest.mark.slow, pytest.mark.isolation]


def _tenant_with_projects(prefix: str, names: list[str]):
    tenant = TenantFactory(subdomain=unique_subdomain(prefix))
    for name in names:
        ProjectFactory(tenant=tenant, name=name)
    return tenant


def test_tenants_of_every_isolation_mode_interleaved_on_one_worker(worker):
    from tests.conftest import make_tenant

    tenants = []
    for mode in ("shared", "schema", "database", "shared", "schema", "database"):
        tenant = make_tenant(mode, f"wm-{mode[:2]}")
        ProjectFactory(tenant=tenant, name=f"{tenant.subdomain}-own")
        tenants.append(tenant)
    queued = [(t, _queue(t, t.subdomain)) for t in tenants * 2] + [(None, _queue(None, "none"))]
    for tenant, result in queued:
        seen = result.get(timeout=90)
        if tenant is None:
            assert (seen["tenant"], seen["projects"]) == (None, [])
        else:
            assert seen["projects"] == [f"{tenant.subdomain}-own"], (tenant.isolation, seen)
            assert seen["setting"] == str(tenant.pk)


def _queue(tenant, label, fail=False):
    with tenant_scope(tenant):
        return probe_visible.apply_async(args=[label], kwargs={"fail": fail})


def test_interleaved_tenants_each_see_only_their_own_rows(worker):
    a = _tenant_with_projects("wa", ["a-one", "a-two"])
    b = _tenant_with_projects("wb", ["b-one"])
    plan = [(a, "a1"), (b, "b1"), (None, "n1"), (a, "a2"), (b, "b2"), (None, "n2"), (b, "b3")]
    results = [(tenant, _queue(tenant, label)) for tenant, label in plan]
    seen = [(tenant, r.get(timeout=60)) for tenant, r in results]

    pids = {s["pid"] for _, s in seen}
    assert len(pids) == 1, "one worker child ran them all, one after another"
    for tenant, s in seen:
        if tenant is a:
            assert s["projects"] == ["a-one", "a-two"] and s["tenant"] == str(a.pk)
        elif tenant is b:
            assert s["projects"] == ["b-one"] and s["tenant"] == str(b.pk)
        else:  # queued with no tenant: runs with none and sees nothing (fail closed)
            assert s["projects"] == [] and s["tenant"] is None and s["setting"] == ""


def test_a_task_cannot_choose_its_tenant_through_headers(worker):
    a = _tenant_with_projects("wh", ["h-secret"])
    # A caller-supplied header naming tenant A is overwritten by the (empty) context.
    r = probe_visible.apply_async(args=["forged"], headers={"tenantry_tenant": str(a.pk)})
    s = r.get(timeout=60)
    assert (s["tenant"], s["projects"]) == (None, [])


def test_a_failing_task_leaves_no_context_behind(worker):
    a = _tenant_with_projects("fa", ["fa-secret"])
    b = _tenant_with_projects("fb", ["fb-own"])
    failing = _queue(a, "a-fails", fail=True)
    after_none = _queue(None, "none-after")
    after_b = _queue(b, "b-after")
    failing.get(timeout=60, propagate=False)
    assert failing.state == "FAILURE" and "ProbeFailure" in repr(failing.result)
    none_seen, b_seen = after_none.get(timeout=60), after_b.get(timeout=60)
    assert none_seen["pid"] == b_seen["pid"]  # the same child process that failed
    assert (none_seen["tenant"], none_seen["projects"], none_seen["setting"]) == (None, [], "")
    assert (b_seen["tenant"], b_seen["projects"]) == (str(b.pk), ["fb-own"])


def _wait_for(predicate, timeout=60, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def _job(tenant, job, status=None):
    """The job's row, read in its tenant's scope (job rows are under RLS)."""
    with tenant_scope(tenant):
        rows = Job.objects.filter(pk=job.pk)
        return (rows.filter(status=status) if status else rows).first()


def _effects(tenant, job):
    with tenant_scope(tenant):
        return Project.objects.filter(name=f"effect-{job.pk}").count()


def _killed_child_pid(tenant, job) -> int:
    def running_pid():
        with tenant_scope(tenant):
            j = Job.objects.get(pk=job.pk)
        if j.status == JobStatus.RUNNING and j.message.startswith("pid="):
            return int(j.message.split()[0][4:])
        return None

    return _wait_for(running_pid)


def test_worker_killed_mid_task_retries_and_the_effect_happens_once(worker):
    tenant = TenantFactory(subdomain=unique_subdomain("kill"))
    job = job_start(kind="test_slow_effect", tenant=tenant, params={"sleep_before": 30})
    pid = _killed_child_pid(tenant, job)
    os.kill(pid, signal.SIGKILL)  # the pool child dies mid-task, its message unacknowledged

    done = _wait_for(lambda: _job(tenant, job, JobStatus.SUCCEEDED))
    assert done.attempts == 2, "the redelivered message ran a second attempt"
    assert done.result["pid"] != pid
    assert _effects(tenant, job) == 1


def test_worker_killed_after_the_effect_committed_does_not_repeat_it(worker):
    tenant = TenantFactory(subdomain=unique_subdomain("kill2"))
    job = job_start(kind="test_slow_effect", tenant=tenant, params={"sleep_after": 30})

    def committed_pid():
        j = _job(tenant, job)
        return int(j.message.split()[0][4:]) if j.message.endswith("committed") else None

    pid = _wait_for(committed_pid)
    os.kill(pid, signal.SIGKILL)  # effect committed, message not yet acknowledged
    # The redelivered message finds the job finished and does nothing.
    _wait_for(lambda: "{'skipped': 'already finished'}" in worker.log.read_text())
    job = _job(tenant, job)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert _effects(tenant, job) == 1


def test_export_job_on_a_worker_writes_exactly_the_tenants_rows(worker, settings):
    a = _tenant_with_projects("xa", ["xa-1", "xa-2"])
    _tenant_with_projects("xb", ["xb-1"])
    job = job_start(kind="tenant_export", tenant=a, requested_by="test")
    done = _wait_for(lambda: _job(a, job, JobStatus.SUCCEEDED))
    assert done.progress == 100 and done.result["rows"]["projects.Project"] == 2
    from jobs.kinds import export_path

    text = export_path(done).read_text()
    assert "xa-1" in text and "xa-2" in text and "xb-1" not in text
    assert done.attempts == 1 and done.started_at <= done.finished_at
