"""Recording a job's progress: claim, report, finish, refuse; what the worker and the kinds write.

Job rows are under RLS (jobs.models): code running in a tenant's scope reads
and writes that tenant's jobs as the app role; code running with no tenant
(the worker for operator kinds, fleet jobs, operator commands) reaches job rows
through the operator role (`dangerously_unscoped`, logged).

Below both the services that queue a job (jobs.services) and the task that runs it
(jobs.tasks): the task records through this module, so it never imports the side
that queues it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import router, transaction
from django.utils import timezone

from jobs.models import Job, JobStatus
from tenants.context import dangerously_unscoped, get_current_tenant
from tenants.residency import redact


@contextmanager
def job_rows(tenant_id=None):
    """Where job rows are reached from here; yields the alias to open transactions on.

    In a tenant's scope: through RLS. For the id of a tenant that no longer exists
    (`tenant_id`: a job queued before `delete_tenant`): the operator role, logged with
    that id — the deletion fenced the tenant's placement for good, so entering its
    scope is refused and the job would stay "queued" for ever. Otherwise (the
    worker claiming an operator job, an operator command): the operator role.
    """
    if get_current_tenant() is not None:
        yield router.db_for_write(Job)
    elif tenant_id is not None:
        with dangerously_unscoped(f"closing a job of deleted tenant {tenant_id}"):
            yield router.db_for_write(Job)
    else:
        with dangerously_unscoped("job bookkeeping with no tenant in scope"):
            yield router.db_for_write(Job)


def job_claim(*, job_id) -> Job | None:
    """Mark the job running for one more attempt; None when it already finished.

    A job found `running` was left by a worker that died mid-task (acks_late
    redelivered the message): it runs again, which is why kinds are idempotent.
    """
    with job_rows() as alias, transaction.atomic(using=alias):
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "attempts", "started_at"])
        return job


def job_fail_unstarted(*, job_id, reason: str, tenant_id=None) -> None:
    rows = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)  # past RLS: that tenant's job only
    with job_rows(tenant_id):
        rows.update(
            status=JobStatus.FAILED, message=redact(reason)[:500], finished_at=timezone.now()
        )


def job_refuse(*, job_id, reason: str) -> None:
    """Not run, and never will be: the organisation is not active (tenants.celery)."""
    Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.REFUSED, message=reason[:500], finished_at=timezone.now()
    )


def job_waiting(*, job_id, reason: str) -> None:
    """Still queued: the task comes back later (the organisation is moving)."""
    Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(message=reason[:500])


def job_report(*, job: Job, progress: int, message: str = "") -> None:
    progress = max(0, min(100, int(progress)))
    message = redact(message)  # a status line in a global row: never an address
    with job_rows():
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            progress=progress, message=message[:500]
        )
    job.progress, job.message = progress, message


def job_finish(*, job: Job, result: dict | None = None, error: str = "") -> bool:
    """Record the outcome once. False when another attempt already recorded one."""
    status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    fields = {"status": status, "finished_at": timezone.now(), "result": result or {}}
    fields["message"] = redact(error)[:500] if error else "done"
    if not error:
        fields["progress"] = 100
    with job_rows():
        done = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields)
    if done:
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(done)


@contextmanager
def job_effect_once(job: Job) -> Iterator[bool]:
    """A transaction holding the job's row lock, for a kind's final effect.

    Yields whether an earlier attempt already committed the effect (the job's
    status, re-read under the lock); commit the effect and `job_finish` together.
    Entered with `with` only: a failure while taking the lock unwinds the transaction.
    """
    with transaction.atomic(using=router.db_for_write(Job)):
        status = Job.objects.select_for_update().values_list("status", flat=True).get(pk=job.pk)
        yield status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
