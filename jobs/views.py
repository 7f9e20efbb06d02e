"""Tenant data exports on the tenant host: request, follow, download. Owners and admins only.

`/exports/` is a page for people (a browser asks for HTML) and JSON for programs (any other
Accept); both start exports through the same job. Every id is looked up in the requesting
tenant's jobs only, so another tenant's export answers exactly like one that never existed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from jobs.display import (
    POLL_SECONDS,
    job_sentence_for_tenant,
    job_title,
    jobs_unfinished,
    with_requesters,
)
from jobs.exports import EXPORT, tenant_export_request
from jobs.fragments import polled_fragment
from jobs.kinds import export_path
from jobs.models import JobStatus
from jobs.selectors import job_get_for_tenant, job_list_for_tenant
from jobs.services import JobError, QueueUnavailable

PAGE_SIZE = 20


def _as_dict(job) -> dict:
    return {
        "id": str(job.pk),
        "status": job.status,
        "progress": job.progress,
        # Said to the tenant: a failure's recorded error is for operators (jobs.display).
        "message": job_sentence_for_tenant(job),
        "title": job_title(job),
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


def _wants_page(request) -> bool:
    # Programs (no Accept, */*, application/json) get JSON; browsers ask for text/html first.
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def _exports_context(request) -> dict:
    jobs = list(job_list_for_tenant(tenant=request.tenant, kind=EXPORT)[:PAGE_SIZE])
    with_requesters(tenant=request.tenant, jobs=jobs)
    return {"jobs": jobs, "polling": jobs_unfinished(jobs), "poll_seconds": POLL_SECONDS}


@_admin_only
@require_http_methods(["GET", "POST"])
def exports(request):
    page = _wants_page(request)
    if request.method == "POST":
        return _request_export(request, page)
    if page:
        context = {"nav": "exports", **_exports_context(request)}
        response = render(request, "jobs/exports.html", context)
    else:
        jobs = job_list_for_tenant(tenant=request.tenant, kind=EXPORT)[:50]
        response = JsonResponse({"exports": [_as_dict(j) for j in jobs]})
    patch_vary_headers(response, ["Accept"])  # one URL, two representations
    return response


def _request_export(request, page: bool):
    try:
        job, started = tenant_export_request(tenant=request.tenant, requester=request.user)
    except QueueUnavailable as exc:
        if page:
            messages.error(request, str(exc))
            return redirect("jobs:exports")
        return JsonResponse(
            {"error": {"code": "queue_unavailable", "message": str(exc)}},
            status=503,
            headers={"Retry-After": "60"},
        )
    except JobError as exc:
        if page:
            messages.error(request, str(exc))
            return redirect("jobs:exports")
        return JsonResponse({"error": {"code": "job_refused", "message": str(exc)}}, status=400)
    if page:
        if started:
            messages.success(
                request,
                "Export requested. Its progress is shown below; download it when it is ready.",
            )
        else:
            messages.info(request, "An export is already being prepared: follow it below.")
        return redirect("jobs:exports")
    job.refresh_from_db()
    # Not started now: the export under way, which the caller follows like a new one.
    return JsonResponse(_as_dict(job), status=202 if started else 200)


@polled_fragment
@_admin_only
@require_GET
def export_progress(request):
    """The export table alone: what the page polls while an export is unfinished."""
    return render(request, "jobs/_export_jobs.html", _exports_context(request))


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
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type="application/x-ndjson"
    )
    response["Cache-Control"] = "private, no-store"
    return response
