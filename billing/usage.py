"""Usage roll-ups: a snapshot of each tenant's usage per billing period."""

from __future__ import annotations

import logging

from django.utils import timezone

from billing.errors import BillingError
from billing.meters import usage_count
from billing.models import UsageMetric, UsageRecord
from billing.periods import month_bounds
from billing.transactions import billing_atomic
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger("billing")


def _usage_counts(tenant) -> dict[str, int]:
    # The same counting rule as the plan limits (billing.meters); tasks tenant-wide.
    return {metric: usage_count(tenant=tenant, resource=metric) for metric in UsageMetric.values}


def usage_rollup(*, tenant, period_start, period_end) -> list[UsageRecord]:
    """Snapshot members, projects and tasks into the period's usage records (an upsert).

    Counted by the same rules as the plan limits (billing.meters): members include
    pending invitations.

    Running it again for the same period overwrites the quantities: the last
    run of a period holds its final figure, and retries never double-count.
    """
    if period_end <= period_start:
        raise BillingError("The period must end after it starts.")
    with billing_atomic(tenant):
        counts = _usage_counts(tenant)
        now = timezone.now()
        records = [
            UsageRecord(
                tenant_id=tenant.pk,
                metric=metric,
                quantity=quantity,
                period_start=period_start,
                period_end=period_end,
                recorded_at=now,
            )
            for metric, quantity in counts.items()
        ]
        UsageRecord.objects.bulk_create(
            records,
            update_conflicts=True,
            unique_fields=["tenant_id", "metric", "period_start", "period_end"],
            update_fields=["quantity", "recorded_at"],
        )
    return records


def usage_rollup_all(*, period_start=None, period_end=None) -> dict:
    """usage_rollup for every active tenant, each in its own scope and transaction.

    Default period: the current calendar month (UTC). One tenant's failure is
    logged and reported, never stops the others.
    """
    if period_start is None or period_end is None:
        period_start, period_end = month_bounds(timezone.now())
    done, failed = 0, []
    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).select_related("plan"):
        try:
            usage_rollup(tenant=tenant, period_start=period_start, period_end=period_end)
            done += 1
        except Exception:
            logger.exception("usage roll-up failed for %s", tenant.subdomain)
            failed.append(tenant.subdomain)
    return {
        "period_start": period_start,
        "period_end": period_end,
        "tenants": done,
        "failed": failed,
    }
