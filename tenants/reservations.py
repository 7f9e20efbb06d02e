"""Subdomains of deleted tenants, reserved for TENANT_DELETED_RETENTION_DAYS (control plane)."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.utils import timezone

from tenants.control import control_alias
from tenants.models import SubdomainReservation

# What every door says about a reserved name: nothing about who had it or when.
NOT_AVAILABLE = "The subdomain '{subdomain}' is not available."


def retention() -> datetime.timedelta:
    return datetime.timedelta(days=settings.TENANT_DELETED_RETENTION_DAYS)


def subdomain_reserve(
    *, subdomain: str, tenant_id: uuid.UUID, backup_path: str = ""
) -> SubdomainReservation:
    now = timezone.now()
    # The registry is the operator role's to write (tenants.control).
    reservation, _ = SubdomainReservation.objects.using(
        control_alias(f"reserving subdomain {subdomain}")
    ).update_or_create(
        subdomain=subdomain,
        defaults={
            "tenant_id": tenant_id,
            "reserved_at": now,
            "expires_at": now + retention(),
            "backup_path": backup_path,
        },
    )
    return reservation


def subdomain_is_reserved(subdomain: str, *, except_tenant_id=None) -> bool:
    """True while a deleted tenant's retention period holds the name (not for that tenant)."""
    held = SubdomainReservation.objects.filter(subdomain=subdomain, expires_at__gt=timezone.now())
    if except_tenant_id is not None:
        held = held.exclude(tenant_id=except_tenant_id)
    return held.exists()


def subdomain_release(subdomain: str, *, tenant_id=None) -> SubdomainReservation | None:
    """Drop the reservation (an operator's decision, or a restore of `tenant_id`)."""
    held = SubdomainReservation.objects.filter(subdomain=subdomain)
    if tenant_id is not None:
        held = held.filter(tenant_id=tenant_id)
    reservation = held.first()
    if reservation is not None:
        # A queryset delete: the instance keeps its subdomain for the caller's report.
        SubdomainReservation.objects.using(
            control_alias(f"releasing subdomain {subdomain}")
        ).filter(pk=reservation.pk).delete()
    return reservation


def reservations_expired() -> list[SubdomainReservation]:
    return list(SubdomainReservation.objects.filter(expires_at__lte=timezone.now()))
