"""The operator console on admin.<BASE_DOMAIN>: the fleet, for platform staff only.

Operators are not tenant users: their own table, their own login, sessions in
OperatorSession (operators.middleware); both are the operator role's only. Tenant data is read per
tenant inside `tenant_scope`, so RLS stays in force and every placement works.
"""

from __future__ import annotations

import functools
import logging

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import throttle
from billing.errors import BillingError
from billing.limits import usage_summary
from billing.models import Plan
from billing.subscriptions import subscription_change_plan
from jobs.fragments import polled_fragment
from operators.models import Operator
from operators.services import operator_authenticate
from tenants.actors import operator_actor
from tenants.context import tenant_scope
from tenants.models import DatabaseServer, Tenant
from tenants.services import TenantError, tenant_reactivate, tenant_suspend

logger = logging.getLogger(__name__)

SESSION_KEY = "_operator_id"
LOGIN_FAILED = "That email and password do not match an operator account."


def operator_required(view):
    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        operator_id = request.session.get(SESSION_KEY)
        operator = (
            Operator.objects.filter(pk=operator_id, is_active=True).first() if operator_id else None
        )
        if operator is None:
            return redirect_to_login(request.get_full_path(), login_url="operator_login")
        request.operator = operator
        return view(request, *args, **kwargs)

    return inner


class OperatorLoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


def login_view(request):
    form = OperatorLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, ip = form.cleaned_data["email"], throttle.client_ip(request)
        wait = throttle.wait_seconds("operator", email, ip)
        if wait:
            form.add_error(None, throttle.wait_message(wait))
        else:
            operator = operator_authenticate(email=email, password=form.cleaned_data["password"])
            if operator is None:
                throttle.record_failure("operator", email, ip)
                form.add_error(None, LOGIN_FAILED)
            else:
                throttle.record_success("operator", email, ip)
                request.session.cycle_key()  # no session fixation across the login
                request.session[SESSION_KEY] = operator.pk
                nxt = request.POST.get("next") or request.GET.get("next") or ""
                return redirect(
                    nxt if nxt.startswith("/") and not nxt.startswith("//") else "operator_tenants"
                )
    elif request.method == "POST":
        form.add_error(None, LOGIN_FAILED)
    return render(
        request,
        "operators/login.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=400 if form.errors else 200,
    )


@require_POST
def logout_view(request):
    request.session.flush()
    return redirect("operator_login")


def _usage(tenant) -> dict | None:
    """The tenant's usage per limit; None when its placement cannot be reached now.

    One tenant at a time in its own scope: RLS applies, and whatever the tenant's
    placement the counts come from where its rows live. A tenant-database server that is
    down makes that tenant's counts unavailable, never the console: the operator must
    still find the tenant and act on it (as list_tenants reports it "unavailable").
    """
    try:
        with tenant_scope(tenant):
            return {item["name"]: item for item in usage_summary(tenant=tenant)["limits"]}
    except DatabaseError as exc:
        logger.warning("console: usage of %s unavailable: %s", tenant.subdomain, exc)
        return None


@operator_required
def tenants(request):
    qs = Tenant.objects.select_related("plan", "database_server").order_by("subdomain")
    q = request.GET.get("q", "").strip().lower()
    if q:
        qs = qs.filter(Q(subdomain__icontains=q) | Q(name__icontains=q))
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [{"tenant": t, "usage": _usage(t)} for t in page]
    return render(request, "operators/tenants.html", {"page": page, "rows": rows, "q": q})


@operator_required
def tenant_detail(request, tenant_id):
    tenant = get_object_or_404(
        Tenant.objects.select_related("plan", "database_server"), pk=tenant_id
    )
    context = {
        "t": tenant,
        "usage": _usage(tenant),
        "plans": Plan.objects.all(),
        "servers": DatabaseServer.objects.filter(is_active=True),
        **_jobs_context(tenant),
    }
    return render(request, "operators/tenant_detail.html", context)


@polled_fragment
@operator_required
@require_GET
def tenant_jobs_view(request, tenant_id):
    """The tenant's job table alone: what its page polls while a job is unfinished."""
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    return render(request, "operators/_jobs.html", {"t": tenant, **_jobs_context(tenant)})


def _jobs_context(tenant) -> dict:
    from jobs.display import POLL_SECONDS, jobs_unfinished, with_requesters
    from jobs.selectors import job_list_for_tenant

    # In the tenant's scope, like the usage counts: RLS shows this tenant's jobs only.
    with tenant_scope(tenant):
        jobs = list(job_list_for_tenant(tenant=tenant).order_by("-created_at")[:20])
    # A member who asked is named from the tenant's placement (the job row holds the id).
    with_requesters(tenant=tenant, jobs=jobs)
    return {"jobs": jobs, "polling": jobs_unfinished(jobs), "poll_seconds": POLL_SECONDS}


@operator_required
@require_http_methods(["GET", "POST"])
def tenant_suspend_view(request, tenant_id):
    tenant = get_object_or_404(Tenant.objects.select_related("plan"), pk=tenant_id)
    if request.method == "GET":
        return render(
            request,
            "operators/confirm_suspend.html",
            {
                "base": "operators/base_operator.html",
                "title": f"Suspend {tenant.subdomain}?",
                "message": "Its users and API tokens are refused at once, until you reactivate it.",
                "button": f"Suspend {tenant.subdomain}",
                "action": request.path,
                "cancel": reverse("operator_tenant", args=[tenant.pk]),
                "reason": request.GET.get("reason", "").strip()[:200],
            },
        )
    reason = request.POST.get("reason", "").strip()[:200] or f"by {request.operator.email}"
    try:
        tenant_suspend(tenant=tenant, reason=reason, actor=operator_actor(request.operator.email))
    except TenantError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{tenant.subdomain} is suspended: its users are refused now.")
    return redirect("operator_tenant", tenant_id=tenant.pk)


@operator_required
@require_POST
def tenant_reactivate_view(request, tenant_id):
    tenant = get_object_or_404(Tenant.objects.select_related("plan"), pk=tenant_id)
    try:
        tenant_reactivate(tenant=tenant, actor=operator_actor(request.operator.email))
    except TenantError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{tenant.subdomain} is active again.")
    return redirect("operator_tenant", tenant_id=tenant.pk)


@operator_required
@require_POST
def tenant_plan_view(request, tenant_id):
    tenant = get_object_or_404(Tenant.objects.select_related("plan"), pk=tenant_id)
    try:
        subscription = subscription_change_plan(
            tenant=tenant,
            plan_code=request.POST.get("plan", ""),
            actor=operator_actor(request.operator.email),
        )
    except BillingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{tenant.subdomain} is now on {subscription.plan.name}.")
    return redirect("operator_tenant", tenant_id=tenant.pk)


# What the console offers, as (form value, job kind, params): provisioning re-runs the
# tenant's placement set-up; a move copies the tenant to another placement (a dedicated
# database for "database"). Both run as background jobs of the jobs app.
JOB_CHOICES = {
    "move_database": ("tenant_move", {"to": "database"}),
    "move_schema": ("tenant_move", {"to": "schema"}),
    "move_shared": ("tenant_move", {"to": "shared"}),
    "move_server": ("tenant_move", {}),  # same mode, the server chosen below
    "provision": ("tenant_provision", {}),
}
# How the console names a job in its messages (the choice's own words, not kind + params).
JOB_LABELS = {
    "move_database": "Move to a dedicated database",
    "move_schema": "Move to its own schema",
    "move_shared": "Move back to the shared tables",
    "move_server": "Move to another server",
    "provision": "Re-run of provisioning",
}


@operator_required
@require_POST
def tenant_job_start_view(request, tenant_id):
    """Start a dedicated-database provisioning (a move to `database`) or another move."""
    from jobs.services import JobError, job_start

    tenant = get_object_or_404(Tenant.objects.select_related("plan"), pk=tenant_id)
    value = request.POST.get("job", "")
    choice = JOB_CHOICES.get(value)
    if choice is None:
        messages.error(request, "Choose one of the listed jobs.")
        return redirect("operator_tenant", tenant_id=tenant.pk)
    kind, params = choice
    params = dict(params)
    if kind == "tenant_move":
        params.setdefault("to", tenant.isolation)
        # A server of another region is refused (jobs.kinds: the move's precheck).
        if server := request.POST.get("server", "").strip():
            params["server"] = server
    try:
        job_start(kind=kind, tenant=tenant, params=params, requested_by=request.operator.email)
    except JobError as exc:
        messages.error(request, f"The job could not be queued: {exc}")
    else:
        messages.success(
            request,
            f"{JOB_LABELS[value]} of {tenant.subdomain} queued; its progress is shown below.",
        )
    return redirect("operator_tenant", tenant_id=tenant.pk)
