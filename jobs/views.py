"""Tenant data exports on the tenant host: start, list, download. Owners and admins only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.views.decorators.http import require_http_methods

from jobs.kinds import export_path
from jobs.models import JobStatus
from jobs.selectors import job_get_for_tenant, job_list_for_tenant
from jobs.services import JobError, QueueUnavailable, job_start

EXPORT = "tenant_export"


def _as_dict(job) -> dict:
    return {
        "id": str(job.pk),
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "download": f"/exports/{job.pk}/download/" if job.status == JobStatus.SUCCEEDED else None,
    }


def _admin_only(view):
    @login_required
    def inner(request, *args, **kwargs):
        if not request.user.is_admin:
            # Same answer as a foreign id: members do not learn which exports exist.
            raise Http404
        return view(request, *args, **kwargs)

    return inner


@_admin_only
@require_http_methods(["GET", "POST"])
def exports(request):
    if request.method == "POST":
        try:
            job = job_start(kind=EXPORT, tenant=request.tenant, requested_by=request.user.email)
        except QueueUnavailable as exc:
            return JsonResponse(
                {"error": {"code": "queue_unavailable", "message": str(exc)}},
                status=503,
                headers={"Retry-After": "60"},
            )
        except JobError as exc:
            return JsonResponse({"error": {"code": "job_refused", "message": str(exc)}}, status=400)
        job.refresh_from_db()
        return JsonResponse(_as_dict(job), status=202)
    jobs = job_list_for_tenant(tenant=request.tenant, kind=EXPORT)[:50]
    return JsonResponse({"exports": [_as_dict(j) for j in jobs]})


@_admin_only
def export_detail(request, job_id):
    job = job_get_for_tenant(tenant=request.tenant, job_id=job_id, kind=EXPORT)
    if job is None:
        raise Http404
    return JsonResponse(_as_dict(job))


@_admin_only
def export_download(request, job_id):
    job = job_get_for_tenant(tenant=request.tenant, job_id=job_id, kind=EXPORT)
    if job is None or job.status != JobStatus.SUCCEEDED:
        raise Http404
    path = export_path(job)
    if not path.is_file():
        raise Http404
    filename = f"{request.tenant.subdomain}-export-{job.created_at:%Y%m%d-%H%M%S}.jsonl"
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type="application/x-ndjson"
    )
