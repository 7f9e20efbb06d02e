"""The audit log page: who did what, when (owners and admins, on plans with `audit_log`)."""

from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.permissions import admin_required, forbidden
from audit.selectors import audit_event_list
from billing.limits import FeatureNotInPlan, feature_require


@admin_required
def audit_log(request):
    try:
        feature_require(tenant=request.tenant, feature="audit_log")
    except FeatureNotInPlan as exc:
        return forbidden(request, f"{exc} Change the plan on the Billing page to see it.")
    events = audit_event_list(tenant=request.tenant).order_by("-created_at")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/audit_log.html", {"page": page})
