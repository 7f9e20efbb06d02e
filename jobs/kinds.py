"""Built-in job kinds. Provisioning and moves register theirs the same way (jobs.registry)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from jobs.registry import job_kind
from tenants.context import require_current_tenant
from tenants.export import tenant_export


def export_path(job) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(job.tenant_id) / f"{job.pk}.jsonl"


@job_kind("tenant_export", tenant=True)
def tenant_export_job(job, *, report):
    """The tenant's data as a JSON-lines file its admins download (tenants.export)."""
    tenant = require_current_tenant()
    path = export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    try:
        with partial.open("w", encoding="utf-8") as stream:
            counts = tenant_export(tenant=tenant, stream=stream, progress=report)
        # Atomic rename: a re-run (after a crash) replaces the file, never half-writes it.
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return {"rows": counts, "bytes": path.stat().st_size, "file": path.name}
