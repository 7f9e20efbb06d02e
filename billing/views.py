"""The billing page of a tenant: plan, usage, plan change, invoices."""

from django.contrib import messages
from django.shortcuts import redirect, render

from accounts.permissions import admin_required
from billing.errors import BillingError
from billing.limits import LIMIT_LABELS, usage_summary
from billing.models import Feature
from billing.selectors import invoice_list, plan_list
from billing.subscriptions import plan_self_service_refusal, subscription_change_plan
from observability.selectors import tenant_month_service


def usage_bars(summary: dict) -> list[dict]:
    """usage_summary() as bars for templates/_usage_bars.html (dashboard and billing page)."""
    bars = []
    for item in summary["limits"]:
        limit, usage = item["limit"], item["usage"]
        percent = 0 if not limit else min(100, round(100 * usage / limit))
        bars.append(
            {
                "label": LIMIT_LABELS.get(item["name"], item["name"]).capitalize(),
                "usage": usage,
                "limit": limit,
                "percent": percent,
                "full": limit is not None and usage >= limit,
            }
        )
    return bars


@admin_required
def billing(request):
    refused = None
    if request.method == "POST":
        try:
            subscription = subscription_change_plan(
                tenant=request.tenant,
                plan_code=request.POST.get("plan", ""),
                actor=request.user,
                self_service=True,
            )
        except BillingError as exc:  # PlanChangeRefused lists what exceeds the new plan
            refused = exc
        else:
            messages.success(
                request, f"Your organisation is now on the {subscription.plan.name} plan."
            )
            return redirect("billing")
    summary = usage_summary(tenant=request.tenant)
    plans = list(plan_list(public_only=True))
    for plan in plans:
        plan.feature_labels = [Feature(f).label for f in plan.features if f in Feature.values]
        plan.self_service = plan_self_service_refusal(tenant=request.tenant, plan=plan) is None
    context = {
        "plans": plans,
        "current": request.tenant.plan_id,
        "bars": usage_bars(summary),
        "refused": refused,
        "invoices": list(invoice_list(tenant=request.tenant)[:24]),
        "service": tenant_month_service(tenant=request.tenant),
    }
    return render(request, "billing/billing.html", context, status=400 if refused else 200)
