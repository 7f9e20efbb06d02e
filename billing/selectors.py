"""Reads of plans and of a tenant's billing records."""

from django.db.models import QuerySet

from billing.models import Invoice, Plan, PlanChange, Subscription, UsageRecord


def plan_list(*, public_only: bool = False) -> QuerySet[Plan]:
    qs = Plan.objects.all()
    return qs.filter(is_public=True) if public_only else qs


def subscription_get(*, tenant) -> Subscription | None:
    return Subscription.objects.select_related("plan").filter(tenant_id=tenant.pk).first()


def plan_change_list(*, tenant) -> QuerySet[PlanChange]:
    return PlanChange.objects.select_related("from_plan", "to_plan").filter(tenant_id=tenant.pk)


def usage_record_list(*, tenant, period_start=None) -> QuerySet[UsageRecord]:
    qs = UsageRecord.objects.filter(tenant_id=tenant.pk)
    return qs.filter(period_start=period_start) if period_start is not None else qs


def invoice_list(*, tenant) -> QuerySet[Invoice]:
    return Invoice.objects.prefetch_related("lines").filter(tenant_id=tenant.pk)
