"""Jobs: slow work started by an operator or a tenant admin, with status and progress.

Rows live in the main database whatever the tenant's placement, under the
tenant RLS policy (jobs/migrations/0002): a tenant sees and writes only its
own jobs, also at the SQL level. Every job started for a tenant carries its
tenant_id (operator jobs about a tenant included). A fleet job (a kind with
`tenant=False`) has none: `tenant_id = current tenant` is never true for NULL,
so only the operator role (BYPASSRLS) sees or writes it. Tenant-facing reads
still filter on `tenant_id` (jobs.selectors) for the index and the signature.

Global rows carry no personal data: the requester is a user id, parameters are
placement settings (a mode, a server name), messages are status lines with
addresses redacted and failures reduced to their first line (jobs.services).
"""

from __future__ import annotations

import uuid

from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # Not run: the organisation was suspended or being deleted when the worker took it.
    REFUSED = "refused", "Refused"


class Job(models.Model):
    # Rows stay in the main database (like billing records), whatever the placement.
    tenant_placed = False

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Who asked, without naming a person here (the table is global: docs/residency.md):
    # a member of the tenant by id (the address is read in the tenant's placement when a
    # page shows it: jobs.display.with_requesters), else a label — the operator's console
    # identity, "operator (command)", "plan change a → b".
    requester_id = models.UUIDField(null=True, blank=True)
    requested_by = models.CharField(max_length=254, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant_id", "kind", "created_at"], name="job_tenant_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.REFUSED)
