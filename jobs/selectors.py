"""Reads of jobs. Tenant-facing reads always filter on the tenant (Job is control plane)."""

from __future__ import annotations

from jobs.models import Job


def job_list_for_tenant(*, tenant, kind: str | None = None):
    jobs = Job.objects.filter(tenant_id=tenant.pk)
    return jobs.filter(kind=kind) if kind else jobs


def job_get_for_tenant(*, tenant, job_id, kind: str | None = None) -> Job | None:
    return job_list_for_tenant(tenant=tenant, kind=kind).filter(pk=job_id).first()
