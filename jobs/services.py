"""Starting jobs: the row, and its task queued once the row has committed.

Recording a job's progress is jobs.progress (re-exported here for the callers that
know these services), which the task (jobs.tasks) records through: the arrows
point services → tasks → progress, never back.
"""

from __future__ import annotations

import logging

from django.db import router, transaction

from jobs.models import Job, JobStatus
from jobs.progress import (  # noqa: F401 - re-exported: the progress side of the services
    job_claim,
    job_effect_once,
    job_fail_unstarted,
    job_finish,
    job_refuse,
    job_report,
    job_rows,
    job_waiting,
)
from jobs.registry import get_kind
from jobs.tasks import job_run
from tenants.context import dangerously_unscoped, tenant_scope

logger = logging.getLogger("jobs")


class JobError(Exception):
    """Refused with a message meant for the person asking."""


class QueueUnavailable(JobError):
    """The broker could not take the job. The job row is marked failed with the reason."""


def job_start(
    *,
    kind: str,
    tenant=None,
    params: dict | None = None,
    requested_by: str = "",
    requester=None,
) -> Job:
    """Create the job and queue its task once the surrounding transaction commits.

    `requester`: the tenant's member who asked, recorded by id only (the job table is
    global: docs/residency.md); `requested_by`: a label for anyone else (an operator).

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
    if spec.precheck is not None:
        from tenants.residency import ResidencyError
        from tenants.servers import PlacementError

        try:
            spec.precheck(tenant, params or {})
        except (ResidencyError, PlacementError) as exc:
            raise JobError(str(exc)) from None
    # A tenant's job is inserted in its scope (RLS checks it); a fleet job has no
    # tenant, and only the operator role may write a row without one.
    scope = (
        tenant_scope(tenant)
        if tenant is not None
        else dangerously_unscoped(f"starting fleet job {kind}")
    )
    with scope:
        alias = router.db_for_write(Job)
        with transaction.atomic(using=alias):
            job = Job.objects.create(
                kind=kind,
                tenant_id=tenant.pk if tenant is not None else None,
                params=params or {},
                requester_id=getattr(requester, "pk", None),
                requested_by=requested_by or "",
            )
            # The header names the tenant only for scoped kinds; operator kinds run with none.
            transaction.on_commit(
                lambda: _enqueue(job, tenant if spec.scoped else None), using=alias
            )
    return job


def _enqueue(job: Job, tenant) -> None:
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
