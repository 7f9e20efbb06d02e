"""The task that runs every job."""

from __future__ import annotations

import logging

from celery import shared_task

from jobs.progress import (
    job_claim,
    job_fail_unstarted,
    job_finish,
    job_refuse,
    job_report,
    job_waiting,
)
from jobs.registry import get_kind
from tenants.celery import TenantTask, inactive_reason
from tenants.context import dangerously_unscoped, get_current_tenant
from tenants.residency import error_summary

logger = logging.getLogger("jobs")


class JobTask(TenantTask):
    def on_tenant_gone(self, exc, args, kwargs):
        # Deleted before the job ran: record it, never leave the job "queued".
        job_fail_unstarted(
            job_id=args[0],
            reason=f"the organisation no longer exists ({exc})",
            tenant_id=getattr(exc, "tenant_id", None),
        )
        return super().on_tenant_gone(exc, args, kwargs)

    def on_tenant_inactive(self, tenant, args, kwargs):
        # Suspended or being deleted when the worker took it: not run, and the job says why.
        job_refuse(job_id=args[0], reason=inactive_reason(tenant))
        return super().on_tenant_inactive(tenant, args, kwargs)

    def on_tenant_busy(self, tenant, args, kwargs):
        job_waiting(job_id=args[0], reason=f"waiting: the organisation is {tenant.status}")
        return super().on_tenant_busy(tenant, args, kwargs)


@shared_task(bind=True, base=JobTask, name="jobs.run", max_retries=None)
def job_run(self, job_id: str):
    """Run one attempt of a job in the tenant the message header names."""
    job = job_claim(job_id=job_id)
    if job is None:
        return {"skipped": "already finished"}  # a redelivered message after success
    spec = get_kind(job.kind)
    tenant = get_current_tenant()
    expected = job.tenant_id if spec.scoped else None
    if (tenant.pk if tenant is not None else None) != expected:
        # Defence in depth: the header and the row must agree.
        job_finish(job=job, error="refused: the job's tenant does not match the task's context")
        return {"refused": "tenant mismatch"}
    if job.attempts > spec.max_attempts:
        # Covers workers killed mid-task again and again (a poison job).
        job_finish(job=job, error=f"gave up after {spec.max_attempts} attempts")
        return {"failed": "attempts exhausted"}

    def report(progress: int, message: str = "") -> None:
        job_report(job=job, progress=progress, message=message)

    try:
        if spec.scoped:
            result = spec.func(job, report=report)
        else:
            # Operator work about a tenant (provisioning, moves): registry and move
            # records are the operator role's to write, like the operator commands.
            with dangerously_unscoped(f"operator job {job.kind} {job.pk}"):
                result = spec.func(job, report=report)
    except Exception as exc:
        if job.attempts < spec.max_attempts:
            logger.warning("job %s attempt %s failed: %r; retrying", job.pk, job.attempts, exc)
            report(
                job.progress, f"attempt {job.attempts} failed ({exc.__class__.__name__}); retrying"
            )
            raise self.retry_with_backoff(exc) from exc
        logger.exception("job %s failed", job.pk)
        # The row keeps the error's class and first line (jobs.models: no row values).
        job_finish(job=job, error=error_summary(exc))
        return {"failed": exc.__class__.__name__}
    if spec.event and spec.scoped:
        _finish_with_event(job, spec, result or {})
    else:
        job_finish(job=job, result=result or {})
    return {"succeeded": True}


def _finish_with_event(job, spec, result: dict) -> None:
    """The success and its webhook event commit together (one transaction when the job row
    and the tenant's rows share a database; otherwise the tenant's commits last)."""
    from tenants.transactions import tenant_atomic
    from webhooks.events import event_record

    with tenant_atomic():
        if job_finish(job=job, result=result):
            data = spec.event_data(job, result) if spec.event_data else {"id": job.pk}
            event_record(tenant=get_current_tenant(), type=spec.event, data=data)
