"""Requesting a tenant's export: one at a time per organisation."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services import job_start

EXPORT = "tenant_export"
# An unfinished export younger than this is the one a new request waits for; an older one is
# presumed lost (a worker that never came back) and no longer blocks a new request.
UNFINISHED_WINDOW = timedelta(hours=1)


def tenant_export_request(*, tenant, requester) -> tuple[Job, bool]:
    """The tenant's export under way, or a new one: (job, whether it was started now).

    Repeated clicks (or a script in a loop) do not pile up exports of the same data.
    `requester` (the member asking) is recorded by id (jobs.models).
    """
    pending = (
        Job.objects.filter(
            tenant_id=tenant.pk,
            kind=EXPORT,
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
            created_at__gte=timezone.now() - UNFINISHED_WINDOW,
        )
        .order_by("-created_at")
        .first()
    )
    if pending is not None:
        return pending, False
    return job_start(kind=EXPORT, tenant=tenant, requester=requester), True
