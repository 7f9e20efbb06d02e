"""The custom-domains page of a tenant's admin UI."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from billing.limits import FeatureNotInPlan
from domains import services
from tenants.domains import DomainError, challenge_name


@admin_required
def domains(request):
    error = ""
    if request.method == "POST":
        try:
            row = services.domain_add(
                tenant=request.tenant, name=request.POST.get("domain", ""), actor=request.user
            )
        except (DomainError, FeatureNotInPlan) as exc:
            error = str(exc)
        else:
            messages.success(request, f"{row.domain} added: publish its TXT record, then verify.")
            return redirect("domains")
    rows = [
        {"row": d, "txt_name": challenge_name(d.domain)}
        for d in services.domain_list(tenant=request.tenant)
    ]
    return render(
        request,
        "domains/domains.html",
        {
            "rows": rows,
            "error": error,
            "allowed": request.tenant.plan.has_feature(services.FEATURE),
        },
        status=400 if error else 200,
    )


@admin_required
@require_POST
def domain_verify(request, domain_id):
    row = get_object_or_404(services.domain_list(tenant=request.tenant), pk=domain_id)
    try:
        services.domain_verify(tenant=request.tenant, domain=row, actor=request.user)
    except (DomainError, FeatureNotInPlan) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{row.domain} is verified and served.")
    return redirect("domains")


@admin_required
@require_POST
def domain_remove(request, domain_id):
    row = get_object_or_404(services.domain_list(tenant=request.tenant), pk=domain_id)
    services.domain_remove(tenant=request.tenant, domain=row, actor=request.user)
    messages.success(request, f"{row.domain} is no longer served.")
    return redirect("domains")
