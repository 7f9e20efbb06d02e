"""The audit log page and its CSV export (owners and admins, on plans with `audit_log`)."""

from __future__ import annotations

import csv
import io
import json

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import admin_required, forbidden
from audit.selectors import audit_actions, audit_event_list
from billing.limits import FeatureNotInPlan, feature_require

# An export is built inside the request (the tenant context lives in its transaction), so it
# is bounded; narrow the filters for more.
EXPORT_MAX_ROWS = 50_000
# Spreadsheets run cells starting with these as formulas (CSV injection): such cells get a
# leading apostrophe. Actor labels and event data come from users.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=254, label="Who")
    action = forms.ChoiceField(required=False, label="What")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, actions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "any action"), *((a, a) for a in actions)]

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v} if self.is_valid() else {}


def _filters(request) -> tuple[AuditFilterForm, dict]:
    form = AuditFilterForm(request.GET or None, actions=audit_actions(tenant=request.tenant))
    return form, form.filters()


def _refused(request):
    try:
        feature_require(tenant=request.tenant, feature="audit_log")
    except FeatureNotInPlan as exc:
        return forbidden(request, f"{exc} Change the plan on the Billing page to see it.")
    return None


@admin_required
def audit_log(request):
    if refused := _refused(request):
        return refused
    form, filters = _filters(request)
    return _log_page(request, form, filters)


def _log_page(request, form, filters):
    events = audit_event_list(tenant=request.tenant, **filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/audit_log.html",
        {"page": page, "form": form, "query": query.urlencode(), "filtered": bool(filters)},
        status=400 if form.errors else 200,
    )


@admin_required
def audit_export(request):
    if refused := _refused(request):
        return refused
    form, filters = _filters(request)
    if form.errors:  # the log page with the filter's errors beside its fields (400)
        return _log_page(request, form, {})
    events = audit_event_list(tenant=request.tenant, **filters)[:EXPORT_MAX_ROWS]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["created_at", "actor", "action", "target_type", "target_id", "data"])
    for e in events.iterator(chunk_size=2000):
        writer.writerow(
            [
                e.created_at.isoformat(),
                _cell(e.actor_label),
                _cell(e.action),
                _cell(e.target_type),
                _cell(e.target_id),
                _cell(json.dumps(e.data, sort_keys=True, default=str)),
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    filename = f"audit-{request.tenant.subdomain}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value
