"""How many members a tenant has, for billing (plan limits and usage roll-ups).

Members are active users plus pending invitations (neither accepted, revoked nor
expired): an invitation holds its seat, since accepting it is not checked against the
plan again (docs/billing.md).
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Invitation, User
from billing.meters import meter_register


def members_count(tenant) -> int:
    pending = Invitation.objects.filter(
        tenant_id=tenant.pk,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).count()
    return User.objects.filter(tenant_id=tenant.pk, is_active=True).count() + pending


def register() -> None:
    meter_register("members", count=members_count)
