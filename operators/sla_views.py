"""Operator console SLA pages: the fleet's breaches, a tenant's latency charts and slow
statements, monthly CSV."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from observability.charts import latency_chart
from observability.selectors import (
    fleet_sla,
    month_start,
    recent_window,
    sla_verdict,
    tenant_daily_report,
    tenant_series_unscoped,
    tenant_sla_figures,
    tenant_slow_statements_unscoped,
)
from operators.views import operator_required
from tenants.context import dangerously_unscoped
from tenants.models import Tenant

FLEET_ROWS = 100


@operator_required
def sla_fleet(request):
    since, now = recent_window()
    month = fleet_sla(since=month_start(now), until=now)
    recent = {v.tenant.pk: v for v in fleet_sla(since=since, until=now)}
    rows = [{"month": v, "now": recent.get(v.tenant.pk)} for v in month[:FLEET_ROWS]]
    context = {
        "rows": rows,
        "breaching_now": sum(1 for v in recent.values() if v.breached),
        "breaching_month": sum(1 for v in month if v.breached),
        "measured": len(month),
        "recent_minutes": round((now - since).total_seconds() / 60),
    }
    return render(request, "operators/sla_fleet.html", context)


@operator_required
def sla_tenant(request, tenant_id):
    tenant = get_object_or_404(Tenant.objects.select_related("plan"), pk=tenant_id)
    now = timezone.now()
    with dangerously_unscoped(f"SLA page of tenant {tenant.pk}"):
        figures = tenant_sla_figures(tenant=tenant, since=month_start(now), until=now)
    verdict = sla_verdict(tenant=tenant, figures=figures)
    hourly = tenant_series_unscoped(tenant=tenant, period="h", since=now - timedelta(hours=48))
    daily = tenant_series_unscoped(tenant=tenant, period="d", since=month_start(now))
    context = {
        "t": tenant,
        "verdict": verdict,
        "hourly_chart": latency_chart(
            hourly, objective_ms=verdict.p95_objective_ms, title="p95 latency per hour, 48 h"
        ),
        "daily_chart": latency_chart(
            daily, objective_ms=verdict.p95_objective_ms, title="p95 latency per day, this month"
        ),
        "month": month_start(now),
        "slow_statements": tenant_slow_statements_unscoped(tenant=tenant),
        "slow_statement_ms": settings.SLOW_STATEMENT_MS,
    }
    return render(request, "operators/sla_tenant.html", context)


@operator_required
def sla_tenant_csv(request, tenant_id):
    tenant = get_object_or_404(Tenant.objects.select_related("plan"), pk=tenant_id)
    try:
        month = datetime.strptime(request.GET.get("month", ""), "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        month = month_start()
    if month > timezone.now():
        raise Http404("no report for a future month")
    rows = tenant_daily_report(tenant=tenant, month=month)
    response = HttpResponse(content_type="text/csv")
    filename = f"sla-{tenant.subdomain}-{month:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    plan = tenant.plan
    writer.writerow(["# tenant", tenant.subdomain, "plan", plan.code])
    writer.writerow(
        [
            "# objectives",
            f"p95 <= {plan.sla_p95_ms} ms",
            f"availability >= {plan.sla_availability_pct}%",
        ]
    )
    fields = ["day", "requests", "errors", "availability_pct", "p50_ms", "p95_ms", "p99_ms"]
    writer.writerow(fields)
    for row in rows:
        writer.writerow([row[f] if row[f] is not None else "" for f in fields])
    return response
