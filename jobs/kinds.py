"""Built-in job kinds. Provisioning and moves register theirs the same way (jobs.registry)."""

from __future__ import annotations

import os
from pathlib import Path

from django.urls import NoReverseMatch, reverse

from jobs.registry import job_kind
from tenants.context import require_current_tenant
from tenants.export import CUSTOMER, tenant_export
from tenants.links import tenant_url


def export_path(job) -> Path:
    """The export's file, in the storage of its tenant's region (tenants.residency)."""
    from tenants.residency import export_dir

    return export_dir(_region_of(job.tenant_id)) / str(job.tenant_id) / f"{job.pk}.jsonl"


def _region_of(tenant_id) -> str:
    from tenants.context import get_current_tenant
    from tenants.models import Tenant

    current = get_current_tenant()
    if current is not None and current.pk == tenant_id:
        return current.region
    return Tenant.objects.values_list("region", flat=True).get(pk=tenant_id)


def _export_refused(tenant, params) -> None:
    """Refuse an export its region has no storage for, before a job is queued."""
    from tenants.residency import export_dir

    export_dir(tenant.region)


def export_ready_data(job, result: dict) -> dict:
    """The `export.ready` webhook's data (recorded with the job's success)."""
    data = {
        "id": job.pk,
        "rows": sum((result.get("rows") or {}).values()),
        "bytes": result.get("bytes"),
    }
    try:
        path = reverse("jobs:export_download", args=[job.pk], urlconf="saas.urls_tenant")
    except NoReverseMatch:  # the event must never fail the job that earned it
        return data
    return {**data, "download_url": tenant_url(require_current_tenant(), path)}


@job_kind(
    "tenant_export",
    tenant=True,
    precheck=_export_refused,
    event="export.ready",
    event_data=export_ready_data,
)
def tenant_export_job(job, *, report):
    """The tenant's customer export (an allow-list: no secrets) its admins download."""
    tenant = require_current_tenant()
    path = export_path(job)
    # The tenant's personal data: readable by the service's user only, like the backups.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as stream:
            counts = tenant_export(tenant=tenant, stream=stream, kind=CUSTOMER, progress=report)
        # Atomic rename: a re-run (after a crash) replaces the file, never half-writes it.
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return {"rows": counts, "bytes": path.stat().st_size, "file": path.name}


def _job_tenant(job):
    from tenants.models import Tenant

    return Tenant.objects.select_related("plan").get(pk=job.tenant_id)


@job_kind("tenant_provision", tenant=True, scoped=False)
def tenant_provision_job(job, *, report):
    """Create (or finish creating) the tenant's placement; tenant_provision is idempotent."""
    from tenants.services import tenant_provision

    report(5, "provisioning")
    tenant = tenant_provision(tenant=_job_tenant(job))
    return {"isolation": tenant.isolation, "status": tenant.status}


MOVE_PARAMS = ("to", "server", "keep_source")


def _move_refused(tenant, params) -> None:
    """Refuse, before a job is queued, a move the worker would refuse: an unknown mode or
    parameter (`start_job --param`), a server of another region."""
    from tenants.models import Isolation
    from tenants.servers import PlacementError, server_for_placement

    unknown = sorted(set(params) - set(MOVE_PARAMS))
    if unknown:
        raise PlacementError(
            f"a move takes no parameter {unknown[0]!r} (known: {', '.join(MOVE_PARAMS)})"
        )
    if params.get("to") not in Isolation.values:
        raise PlacementError(
            f"a move needs to=shared|schema|database, not {params.get('to', '')!r}"
        )
    if params.get("server"):
        server_for_placement(region=tenant.region, name=params["server"])


@job_kind("tenant_move", tenant=True, scoped=False, max_attempts=2, precheck=_move_refused)
def tenant_move_job(job, *, report):
    """Move the tenant to params["to"] (optionally params["server"]); a re-run resumes."""
    from tenants.backends.move import tenant_move, tenant_move_resume
    from tenants.models import OPEN_MOVE_PHASES, TenantMove
    from tenants.servers import server_for_placement

    tenant = _job_tenant(job)
    params = job.params
    open_move = TenantMove.objects.filter(tenant=tenant, phase__in=OPEN_MOVE_PHASES).exists()
    if open_move and job.attempts > 1:
        # An earlier attempt died mid-move: finish that move, do not start another.
        move = tenant_move_resume(tenant=tenant, progress=report)
    else:
        server = None  # none named: tenant_move applies the placement rule
        if params.get("server"):
            server = server_for_placement(region=tenant.region, name=params.get("server"))
        move = tenant_move(
            tenant=tenant,
            to=params.get("to", ""),
            server=server,
            keep_source=bool(params.get("keep_source")),
            progress=report,
        )
    return {
        "phase": move.phase,
        "from": move.source_isolation,
        "to": move.target_isolation,
        "rows": move.counts,
    }
