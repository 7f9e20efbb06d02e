"""Reads of plans and of a tenant's billing records."""

from django.db.models import QuerySet

from billing.models import Invoice, Plan


def plan_list(*, public_only: bool = False) -> QuerySet[Plan]:
    qs = Plan.objects.all()
    return qs.filter(is_public=True) if public_only else qs


def invoice_list(*, tenant) -> QuerySet[Invoice]:
    """Newest first."""
    return Invoice.objects.filter(tenant_id=tenant.pk)


def invoice_get(*, tenant, number: str) -> Invoice | None:
    return Invoice.objects.filter(tenant_id=tenant.pk, number=number).first()
