"""A job queued for a tenant that `delete_tenant` then removes is closed, never left queued."""

from __future__ import annotations

import time

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_start
from tenants.context import dangerously_unscoped
from tests.conftest import make_tenant
from tests.jobs.conftest import Worker
from tests.tenants.manage import manage


def _job(pk) -> Job:
    with dangerously_unscoped("test: read a job of a deleted tenant"):
        return Job.objects.get(pk=pk)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["shared", "schema"])
def test_a_job_queued_before_delete_tenant_fails_on_the_worker(
    committed_db, test_database_url, redis_broker, mode
):
    tenant = make_tenant(mode, "gonejob")
    # Queued on the real broker while no worker runs: it waits there.
    job = job_start(kind="tenant_export", tenant=tenant)
    assert _job(job.pk).status == JobStatus.QUEUED

    deleted = manage(test_database_url, "delete_tenant", tenant.subdomain, "--yes", "--no-backup")
    assert deleted.returncode == 0, deleted.stderr

    with Worker(test_database_url) as worker:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _job(job.pk).status == JobStatus.QUEUED:
            time.sleep(0.3)
        log = worker.log.read_text()
    row = _job(job.pk)
    # Before the fix the worker's bookkeeping entered the deleted tenant's fenced
    # placement, raised, and the job stayed "queued" for ever.
    assert row.status == JobStatus.FAILED, (row.status, log[-3000:])
    assert "no longer exists" in row.message
    assert "is fenced" not in log, log[-3000:]
