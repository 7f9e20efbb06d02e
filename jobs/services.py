"""Starting jobs and recording their progress. Status writes are control-plane writes."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.registry import get_kind
from tenants.context import tenant_scope

logger = logging.getLogger("jobs")


class JobError(Exception):
    """Refused with a message meant for the person asking."""


class QueueUnavailable(JobError):
    """The broker could not take the job. The job row is marked failed with the reason."""


def job_start(*, kind: str, tenant=None, params: dict | None = None, requested_by: str = "") -> Job:
    """Create the job and queue its task once the surrounding transaction commits.

    Outside a transaction that is at once, so a broker failure raises
    QueueUnavailable from here; inside one it raises at commit. Either way the
    job row ends as `failed` with the reason, never stuck in `queued`; a
    rolled-back transaction leaves neither a row nor a message.
    """
    spec = get_kind(kind)
    if spec.tenant and tenant is None:
        raise JobError(f"A {kind} job needs a tenant.")
    if not spec.tenant and tenant is not None:
        raise JobError(f"A {kind} job runs for the operator, not for a tenant.")
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            tenant_id=tenant.pk if tenant is not None else None,
            params=params or {},
            requested_by=requested_by or "",
        )
        # The header names the tenant only for scoped kinds; operator kinds run with none.
        transaction.on_commit(lambda: _enqueue(job, tenant if spec.scoped else None))
    return job


def _enqueue(job: Job, tenant) -> None:
    from jobs.tasks import job_run

    try:
        # The tenant travels as a message header, set from this scope; never an argument.
        with tenant_scope(tenant):
            job_run.apply_async(args=[str(job.pk)], task_id=str(job.pk))
    except Exception as exc:
        reason = (
            f"Could not queue the job: the task queue is unavailable ({exc.__class__.__name__})."
        )
        logger.error("job %s not queued: %s", job.pk, exc)
        job_fail_unstarted(job_id=job.pk, reason=reason)
        job.status, job.message = JobStatus.FAILED, reason
        raise QueueUnavailable(
            "The background queue is unavailable right now; nothing was started. "
            "Please try again in a minute."
        ) from exc


def job_claim(*, job_id) -> Job | None:
    """Mark the job running for one more attempt; None when it already finished.

    A job found `running` was left by a worker that died mid-task (acks_late
    redelivered the message): it runs again, which is why kinds are idempotent.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "attempts", "started_at"])
        return job


def job_fail_unstarted(*, job_id, reason: str) -> None:
    Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED, message=reason[:500], finished_at=timezone.now()
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
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        progress=progress, message=message[:500]
    )
    job.progress, job.message = progress, message


def job_finish(*, job: Job, result: dict | None = None, error: str = "") -> bool:
    """Record the outcome once. False when another attempt already recorded one."""
    status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    fields = {"status": status, "finished_at": timezone.now(), "result": result or {}}
    fields["message"] = error[:500] if error else "done"
    if not error:
        fields["progress"] = 100
    done = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields)
    if done:
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(done)


def job_effect_once(job: Job):
    """A transaction holding the job's row lock, for a kind's final effect.

    Inside it, `job.is_finished` (re-read) tells whether an earlier attempt
    already committed the effect; commit the effect and `job_finish` together.
    """
    return _EffectOnce(job)


class _EffectOnce:
    def __init__(self, job: Job):
        self.job = job
        self._atomic = transaction.atomic()

    def __enter__(self) -> bool:
        self._atomic.__enter__()
        status = (
            Job.objects.select_for_update().values_list("status", flat=True).get(pk=self.job.pk)
        )
        return status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    def __exit__(self, *exc):
        return self._atomic.__exit__(*exc)
